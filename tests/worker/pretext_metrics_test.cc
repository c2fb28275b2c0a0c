#include "worker/pretrain/pretext_metrics.h"

#include <torch/torch.h>

#include <cmath>

#include <gtest/gtest.h>

#include "models/moco/loss.h"

namespace radclear::worker {
namespace {

TEST(PretextMetrics, Top1CountsQueriesWhoseOwnKeyIsNearest) {
  // Keys: the unit vectors e0..e3 (two ranks of 2). Rank 1's queries are
  // e2 (right) and e0 (wrong: its positive is e3).
  const auto k = torch::eye(4);
  const auto q = torch::stack({torch::eye(4)[2] * 3, torch::eye(4)[0]});
  EXPECT_DOUBLE_EQ(positive_top1(q, k, 1), 0.5);
  EXPECT_DOUBLE_EQ(positive_top1(k.slice(0, 0, 2), k, 0), 1.0);
  // Key norms do not matter, only directions.
  EXPECT_DOUBLE_EQ(positive_top1(k.slice(0, 0, 2), k * torch::tensor({1.0f, 1.0f, 9.0f, 9.0f}).unsqueeze(1), 0),
                   1.0);
}

TEST(PretextMetrics, ChanceLossIsTheLossAtEqualSimilarities) {
  const double t = 0.2;
  const int64_t n = 8;
  // Zero vectors normalise to zero: every similarity is 0.
  const auto zeros = torch::zeros({n, 4});
  auto none = torch::zeros({n});
  auto some = torch::tensor({1.0f, 0.0f, 0.0f, 1.0f, 1.0f, 0.0f, 0.0f, 0.0f});
  for (const auto& lesion : {none, some}) {
    for (double w : {0.0, 1.0}) {
      const auto loss = models::moco_total_loss(zeros, zeros, zeros, zeros, lesion, 0, {t, w});
      EXPECT_NEAR(loss.item<double>(), chance_loss(lesion, t, w > 0), 1e-6) << "w " << w;
    }
  }
  EXPECT_NEAR(chance_loss(none, t, true), 4 * t * std::log(8.0), 1e-12);
  // 3 lesions among 8: positives that are lesions see 2 extra keys, others 3.
  EXPECT_NEAR(chance_loss(some, t, true), 4 * t * (3 * std::log(10.0) + 5 * std::log(11.0)) / 8, 1e-12);
  EXPECT_NEAR(chance_loss(some, t, false), 4 * t * std::log(8.0), 1e-12);
}

}  // namespace
}  // namespace radclear::worker
