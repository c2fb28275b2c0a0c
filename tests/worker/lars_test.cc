#include "worker/pretrain/lars.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace radclear::worker {
namespace {

TEST(Lars, MatchesTheClosedFormOverSteps) {
  torch::manual_seed(0);
  auto w = torch::randn({3, 4}).requires_grad_();  // scaled and decayed
  auto b = torch::randn({4}).requires_grad_();     // neither
  auto w_ref = w.detach().clone(), b_ref = b.detach().clone();
  auto mu_w = torch::zeros_like(w_ref), mu_b = torch::zeros_like(b_ref);
  const double lr = 0.5, wd = 0.1, m = 0.9, trust = 0.01;
  Lars opt({w, b}, LarsOptions(lr).weight_decay(wd).momentum(m).trust_coefficient(trust));
  for (int step = 0; step < 3; ++step) {
    auto gw = torch::randn({3, 4}), gb = torch::randn({4});
    opt.zero_grad();
    w.mutable_grad() = gw.clone();
    b.mutable_grad() = gb.clone();
    opt.step();
    auto u = gw + wd * w_ref;
    u = u * (trust * w_ref.norm() / u.norm());
    mu_w = m * mu_w + u;
    w_ref = w_ref - lr * mu_w;
    mu_b = m * mu_b + gb;
    b_ref = b_ref - lr * mu_b;
    EXPECT_TRUE(torch::allclose(w.detach(), w_ref, 1e-5, 1e-6)) << "step " << step;
    EXPECT_TRUE(torch::allclose(b.detach(), b_ref, 1e-5, 1e-6)) << "step " << step;
  }
}

TEST(Lars, ZeroNormsFallBackToUnitTrust) {
  auto w = torch::zeros({2, 2}).requires_grad_();
  Lars opt({w}, LarsOptions(1.0).momentum(0.0));
  w.mutable_grad() = torch::ones({2, 2});
  opt.step();  // |p| = 0: the update is the raw gradient
  EXPECT_TRUE(torch::allclose(w.detach(), -torch::ones({2, 2})));
}

TEST(Lars, LearningRateIsAdjustable) {
  auto w = torch::ones({2}).requires_grad_();
  Lars opt({w}, LarsOptions(0.1).momentum(0.0));
  for (auto& g : opt.param_groups()) g.options().set_lr(1.0);
  w.mutable_grad() = torch::ones({2});
  opt.step();
  EXPECT_TRUE(torch::allclose(w.detach(), torch::zeros({2})));
}

}  // namespace
}  // namespace radclear::worker
