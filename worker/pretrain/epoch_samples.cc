#include "worker/pretrain/epoch_samples.h"

#include <algorithm>

namespace radclear::worker {

std::vector<data::SliceSample> epoch_samples(const PretrainSpec& spec, std::vector<data::SliceSample> samples) {
  if (spec.sampling == Sampling::kNone) {
    for (auto& s : samples) {
      s.lesion = false;
      s.boxes.clear();
    }
    return samples;
  }
  if (spec.lesion_repeat <= 1) return samples;
  const size_t n = samples.size();
  const auto lesions = std::count_if(samples.begin(), samples.end(), [](const auto& s) { return s.lesion; });
  samples.reserve(n + static_cast<size_t>(lesions * (spec.lesion_repeat - 1)));
  for (int64_t r = 1; r < spec.lesion_repeat; ++r) {
    for (size_t i = 0; i < n; ++i) {
      if (samples[i].lesion) samples.push_back(samples[i]);  // no reallocation: reserved above
    }
  }
  return samples;
}

}  // namespace radclear::worker
