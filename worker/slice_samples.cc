#include "worker/slice_samples.h"

namespace radclear::worker {

data::SliceSample to_slice_sample(const storage::SliceRecord& r, int64_t id) {
  data::SliceSample s;
  s.path = r.rel_path;
  s.source = r.source;
  s.frame = static_cast<int>(r.frame);
  s.study = r.id.study_id;
  s.slice = static_cast<int>(r.id.slice_number);
  s.lesion = r.lesion;
  s.boxes.reserve(r.lesion_boxes.size());
  for (const storage::Box& b : r.lesion_boxes) s.boxes.push_back({b.x1, b.y1, b.x2, b.y2});
  s.id = id;
  return s;
}

Result<std::vector<data::SliceSample>> slice_samples_from_index(const storage::SliceIndex& index,
                                                                 std::optional<storage::Split> split) {
  std::vector<data::SliceSample> out;
  if (!split) {
    Status s = index.ForEachSlice([&](const storage::SliceRecord& r) {
      out.push_back(to_slice_sample(r, static_cast<int64_t>(out.size())));
      return true;
    });
    if (!s.ok()) return s;
    return out;
  }
  auto studies = index.ListStudyIds(split);
  if (!studies.ok()) return studies.status();
  for (const std::string& study : studies.value()) {
    auto slices = index.SlicesOfStudy(study);
    if (!slices.ok()) return slices.status();
    for (const auto& r : slices.value()) out.push_back(to_slice_sample(r, static_cast<int64_t>(out.size())));
  }
  return out;
}

}  // namespace radclear::worker
