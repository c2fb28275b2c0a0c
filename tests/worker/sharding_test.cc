#include "worker/extract/sharding.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

namespace radclear::worker {
namespace {

int64_t load(const std::vector<StudyLoad>& v) {
  return std::accumulate(v.begin(), v.end(), int64_t{0}, [](int64_t a, const StudyLoad& s) { return a + s.slices; });
}

TEST(Sharding, BalancesBySlicesNotByCount) {
  // One huge study and many small ones: round-robin would give rank 0 far more.
  std::vector<StudyLoad> studies = {{"big", 600}};
  for (int i = 0; i < 20; ++i) studies.push_back({"s" + std::to_string(i), 60});
  const auto shards = shard_studies(studies, 2);
  ASSERT_EQ(shards.size(), 2u);
  EXPECT_EQ(load(shards[0]), 900);
  EXPECT_EQ(load(shards[1]), 900);
  EXPECT_EQ(shards[0].size() + shards[1].size(), 21u);
}

TEST(Sharding, EveryStudyExactlyOnceAndDeterministic) {
  std::vector<StudyLoad> studies;
  for (int i = 0; i < 97; ++i) studies.push_back({"st" + std::to_string(i), (i * 37) % 301 + 1});
  for (int world : {1, 2, 3, 8, 200}) {
    auto a = shard_studies(studies, world);
    auto shuffled = studies;
    std::reverse(shuffled.begin(), shuffled.end());
    auto b = shard_studies(shuffled, world);  // input order must not matter
    ASSERT_EQ(a.size(), static_cast<size_t>(world));
    std::multiset<std::string> seen;
    int64_t max_load = 0, min_load = INT64_MAX;
    for (int r = 0; r < world; ++r) {
      ASSERT_EQ(a[r].size(), b[r].size());
      for (size_t i = 0; i < a[r].size(); ++i) EXPECT_EQ(a[r][i].study, b[r][i].study);
      for (const auto& s : a[r]) seen.insert(s.study);
      max_load = std::max(max_load, load(a[r]));
      min_load = std::min(min_load, load(a[r]));
    }
    EXPECT_EQ(seen.size(), studies.size());
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), studies.size());
    if (world <= 8) EXPECT_LE(max_load - min_load, 301) << "world " << world;  // within one study
  }
  EXPECT_TRUE(shard_studies({}, 3)[2].empty());
}

}  // namespace
}  // namespace radclear::worker
