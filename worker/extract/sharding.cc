#include "worker/extract/sharding.h"

#include <algorithm>
#include <queue>
#include <tuple>

#include "common/check.h"

namespace radclear::worker {

std::vector<std::vector<StudyLoad>> shard_studies(std::vector<StudyLoad> studies, int world) {
  RADCLEAR_CHECK(world >= 1, "world size {} must be >= 1", world);
  std::sort(studies.begin(), studies.end(), [](const StudyLoad& a, const StudyLoad& b) {
    return std::tie(b.slices, a.study) < std::tie(a.slices, b.study);  // slices desc, then id asc
  });
  using Entry = std::pair<int64_t, int>;  // (load, rank): the smallest pops first
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> ranks;
  for (int r = 0; r < world; ++r) ranks.push({0, r});
  std::vector<std::vector<StudyLoad>> out(world);
  for (auto& s : studies) {
    auto [load, r] = ranks.top();
    ranks.pop();
    out[r].push_back(std::move(s));
    ranks.push({load + std::max<int64_t>(out[r].back().slices, 1), r});
  }
  return out;
}

}  // namespace radclear::worker
