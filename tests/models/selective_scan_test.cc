// models/backbones/selective_scan: the sequential reference against the
// recurrence written out by hand, and the chunked scan against the reference
// (values and gradients) for chunk sizes that do and do not divide the
// length, lengths down to 1, and decays strong enough to overflow a naive
// exp(-cumsum) formulation.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "common/check.h"
#include "models/backbones/selective_scan.h"

namespace radclear::models {
namespace {

// batch 2, K groups of c channels, N states, length L; dt_bias shifts the
// step sizes (large: strong decay).
SelectiveScanInputs random_inputs(int64_t k, int64_t c, int64_t n, int64_t length, double dt_bias = 0.0,
                                  double a_log_scale = 1.0) {
  SelectiveScanInputs in;
  const int64_t b = 2;
  in.u = torch::randn({b, k * c, length}, torch::kDouble);
  in.delta = torch::randn({b, k * c, length}, torch::kDouble);
  in.A = -torch::exp(a_log_scale * torch::randn({k * c, n}, torch::kDouble));
  in.B = torch::randn({b, k, n, length}, torch::kDouble);
  in.C = torch::randn({b, k, n, length}, torch::kDouble);
  in.D = torch::randn({k * c}, torch::kDouble);
  in.delta_bias = torch::randn({k * c}, torch::kDouble) + dt_bias;
  return in;
}

double max_rel_error(const torch::Tensor& got, const torch::Tensor& want) {
  return (got - want).abs().max().item<double>() / std::max(want.abs().max().item<double>(), 1e-30);
}

TEST(SelectiveScan, SequentialIsTheRecurrence) {
  torch::manual_seed(1);
  const int64_t k = 2, c = 3, n = 4, length = 6;
  const auto in = random_inputs(k, c, n, length);
  const auto y = selective_scan_sequential(in);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{2, k * c, length}));
  EXPECT_EQ(y.scalar_type(), torch::kDouble);  // float64 in, float64 out
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t d = 0; d < k * c; ++d) {
      const int64_t g = d / c;
      std::vector<double> h(static_cast<size_t>(n), 0.0);
      for (int64_t t = 0; t < length; ++t) {
        const double x = in.delta[b][d][t].item<double>() + in.delta_bias[d].item<double>();
        const double dt = std::log1p(std::exp(x));
        const double u = in.u[b][d][t].item<double>();
        double want = in.D[d].item<double>() * u;
        for (int64_t i = 0; i < n; ++i) {
          h[i] = std::exp(dt * in.A[d][i].item<double>()) * h[i] + dt * in.B[b][g][i][t].item<double>() * u;
          want += in.C[b][g][i][t].item<double>() * h[i];
        }
        EXPECT_NEAR(y[b][d][t].item<double>(), want, 1e-10 * (1 + std::abs(want))) << b << " " << d << " " << t;
      }
    }
  }
}

TEST(SelectiveScan, ChunkedEqualsSequentialForEveryChunkSize) {
  torch::manual_seed(2);
  for (int64_t length : {1, 2, 5, 37, 64}) {
    const auto in = random_inputs(4, 3, 16, length);
    const auto want = selective_scan_sequential(in);
    for (int64_t chunk : {1, 2, 3, 7, 16, 64, 100}) {
      const auto got = selective_scan_chunked(in, chunk);
      ASSERT_EQ(got.sizes(), want.sizes());
      EXPECT_LT(max_rel_error(got, want), 1e-12) << "length " << length << ", chunk " << chunk;
    }
  }
}

TEST(SelectiveScan, ChunkedIsStableUnderStrongDecay) {
  torch::manual_seed(3);
  // dt ~ 30 and |A| up to e^3: per-step log-decays of several hundred, a
  // chunk's cumulative decay far below the float range of exp(-S).
  const auto in = random_inputs(2, 4, 8, 50, /*dt_bias=*/30.0, /*a_log_scale=*/1.5);
  const auto want = selective_scan_sequential(in);
  ASSERT_TRUE(torch::isfinite(want).all().item<bool>());
  for (int64_t chunk : {8, 50}) {
    auto in32 = in;  // float32, where exp(-S) would overflow at S < -88
    for (auto* t : {&in32.u, &in32.delta, &in32.A, &in32.B, &in32.C, &in32.D, &in32.delta_bias}) *t = t->to(torch::kFloat);
    const auto got = selective_scan_chunked(in32, chunk);
    EXPECT_TRUE(torch::isfinite(got).all().item<bool>()) << chunk;
    EXPECT_LT(max_rel_error(got.to(torch::kDouble), want), 2e-5) << chunk;
  }
}

TEST(SelectiveScan, ChunkedGradientsEqualSequential) {
  torch::manual_seed(4);
  auto in = random_inputs(2, 3, 5, 23);
  std::vector<torch::Tensor*> leaves = {&in.u, &in.delta, &in.A, &in.B, &in.C, &in.D, &in.delta_bias};
  for (auto* t : leaves) *t = t->to(torch::kFloat).requires_grad_(true);
  const auto weights = torch::randn({2, 6, 23});
  auto grads = [&](bool chunked) {
    for (auto* t : leaves) t->mutable_grad() = torch::Tensor();
    const auto y = chunked ? selective_scan_chunked(in, 6) : selective_scan_sequential(in);
    (y * weights).sum().backward();
    std::vector<torch::Tensor> out;
    for (auto* t : leaves) out.push_back(t->grad().clone());
    return out;
  };
  const auto want = grads(false), got = grads(true);
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_TRUE(torch::isfinite(got[i]).all().item<bool>()) << i;
    EXPECT_LT(max_rel_error(got[i], want[i]), 1e-4) << "input " << i;
  }
}

TEST(SelectiveScan, RejectsMismatchedShapesAndBadChunks) {
  auto in = random_inputs(2, 3, 4, 5);
  EXPECT_THROW(selective_scan_chunked(in, 0), InvalidArgument);
  auto bad = in;
  bad.A = torch::zeros({6, 5});  // N differs from B's
  EXPECT_THROW(selective_scan_sequential(bad), InvalidArgument);
  bad = in;
  bad.u = torch::zeros({2, 6, 0});
  bad.delta = bad.u;
  bad.B = torch::zeros({2, 2, 4, 0});
  bad.C = bad.B;
  EXPECT_THROW(selective_scan_chunked(bad, 4), InvalidArgument);
  try {
    bad = in;
    bad.D = torch::zeros({7});
    selective_scan_chunked(bad, 4);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("D [7]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace radclear::models
