#include <algorithm>
#include <numeric>
#include <set>

#include <gtest/gtest.h>

#include "common/check.h"
#include "data/sampler.h"

namespace radclear::data {
namespace {

ShardSpec spec(int rank, int world, int64_t batch, bool drop_last = true, uint64_t seed = 5) {
  ShardSpec s;
  s.rank = rank;
  s.world = world;
  s.global_batch = batch;
  s.drop_last = drop_last;
  s.seed = seed;
  return s;
}

TEST(Sampler, PermutationIsSeededPerEpoch) {
  const ShardedSampler s(1000, spec(0, 1, 10));
  auto p0 = s.permutation(0), p1 = s.permutation(1);
  EXPECT_EQ(p0, s.permutation(0));
  EXPECT_NE(p0, p1);
  EXPECT_NE(p0, ShardedSampler(1000, spec(0, 1, 10, true, 6)).permutation(0));
  std::sort(p1.begin(), p1.end());
  std::vector<int64_t> id(1000);
  std::iota(id.begin(), id.end(), 0);
  EXPECT_EQ(p1, id);
}

// Concatenating the ranks' batches gives the single-process global batch,
// for world sizes that divide the batch, with and without drop_last, and
// sample counts that do not divide evenly.
TEST(Sampler, RanksConcatenateToGlobalBatch) {
  for (int64_t n : {96, 100, 131}) {
    for (int world : {1, 2, 3, 4, 6}) {
      for (bool drop_last : {true, false}) {
        const int64_t batch = 12;
        const ShardedSampler single(n, spec(0, 1, batch, drop_last));
        for (int64_t epoch : {0, 3}) {
          std::set<int64_t> seen;
          for (int64_t step = 0; step < single.steps_per_epoch(); ++step) {
            std::vector<int64_t> cat;
            for (int r = 0; r < world; ++r) {
              const ShardedSampler rank(n, spec(r, world, batch, drop_last));
              ASSERT_EQ(rank.steps_per_epoch(), single.steps_per_epoch());
              const auto b = rank.batch(epoch, step);
              if (drop_last) ASSERT_EQ(static_cast<int64_t>(b.size()), batch / world);
              cat.insert(cat.end(), b.begin(), b.end());
            }
            ASSERT_EQ(cat, single.batch(epoch, step)) << "n " << n << " world " << world << " step " << step;
            seen.insert(cat.begin(), cat.end());
          }
          const int64_t expect = drop_last ? (n / batch) * batch : n;
          EXPECT_EQ(static_cast<int64_t>(seen.size()), expect) << "no sample twice, none lost";
        }
      }
    }
  }
}

TEST(Sampler, ResumeIsRandomAccess) {
  const ShardedSampler s(200, spec(1, 4, 20));
  const auto perm = s.permutation(7);
  for (int64_t step = 0; step < s.steps_per_epoch(); ++step) EXPECT_EQ(s.batch(7, step), s.batch(perm, step));
  EXPECT_EQ(s.steps_per_epoch(), 10);
  EXPECT_THROW(s.batch(7, 10), InvalidArgument);
  EXPECT_EQ(ShardedSampler(205, spec(0, 4, 20, false)).steps_per_epoch(), 11);
}

TEST(Sampler, RejectsBadSpecs) {
  EXPECT_THROW(ShardedSampler(100, spec(2, 2, 10)), InvalidArgument);
  EXPECT_THROW(ShardedSampler(100, spec(0, 3, 10)), InvalidArgument);
  EXPECT_THROW(ShardedSampler(5, spec(0, 1, 10)), InvalidArgument);
  EXPECT_NO_THROW(ShardedSampler(5, spec(0, 1, 10, false)));
}

TEST(Sampler, NoShuffleKeepsOrder) {
  ShardSpec sp = spec(0, 1, 4);
  sp.shuffle = false;
  const ShardedSampler s(10, sp);
  EXPECT_EQ(s.batch(3, 1), (std::vector<int64_t>{4, 5, 6, 7}));
}

}  // namespace
}  // namespace radclear::data
