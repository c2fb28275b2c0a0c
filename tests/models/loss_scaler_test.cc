// fp16 dynamic loss scaling (models/layers/loss_scaler.h) on the CPU, with
// inf and NaN gradients injected by hand.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "common/check.h"
#include "models/layers/loss_scaler.h"

namespace radclear::models {
namespace {

// One parameter p = [1, 2, 3] with loss = sum(2 p): its gradient is 2 everywhere.
struct Toy {
  torch::Tensor p = torch::tensor({1.0f, 2.0f, 3.0f}).requires_grad_(true);
  torch::optim::SGD sgd{std::vector<torch::Tensor>{p}, torch::optim::SGDOptions(1.0)};
  torch::Tensor loss() const { return (p * 2).sum(); }
  void backward(const LossScaler& scaler) {
    sgd.zero_grad();
    scaler.scale(loss()).backward();
  }
};

LossScalerOptions options(double init_scale, int64_t growth_interval = 2000) {
  LossScalerOptions o;
  o.init_scale = init_scale;
  o.growth_interval = growth_interval;
  return o;
}

TEST(LossScaler, ScalesTheLossAndUnscalesTheGradientsBeforeTheStep) {
  Toy toy;
  LossScaler scaler(options(1024));
  EXPECT_FLOAT_EQ(scaler.scale(toy.loss()).item<float>(), 12.0f * 1024);
  toy.backward(scaler);
  EXPECT_TRUE(torch::allclose(toy.p.grad(), torch::full({3}, 2048.0f)));
  scaler.unscale(toy.sgd);
  // What clipping sees: the true gradient.
  EXPECT_TRUE(torch::allclose(toy.p.grad(), torch::full({3}, 2.0f)));
  EXPECT_TRUE(scaler.step(toy.sgd));
  EXPECT_TRUE(torch::allclose(toy.p.detach(), torch::tensor({-1.0f, 0.0f, 1.0f})));
  EXPECT_EQ(scaler.skipped_steps(), 0);
  EXPECT_DOUBLE_EQ(scaler.scale_value(), 1024);
}

TEST(LossScaler, StepUnscalesWhenNotDoneBefore) {
  Toy toy;
  LossScaler scaler(options(8));
  toy.backward(scaler);
  EXPECT_TRUE(scaler.step(toy.sgd));
  EXPECT_TRUE(torch::allclose(toy.p.detach(), torch::tensor({-1.0f, 0.0f, 1.0f})));
}

TEST(LossScaler, SkipsTheStepAndBacksOffOnInfOrNan) {
  for (const float bad : {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::quiet_NaN()}) {
    SCOPED_TRACE(bad);
    Toy toy;
    LossScaler scaler(options(65536));
    toy.backward(scaler);
    toy.p.grad()[1] = bad;  // an overflowed fp16 gradient
    EXPECT_FALSE(scaler.step(toy.sgd));
    EXPECT_TRUE(torch::equal(toy.p.detach(), torch::tensor({1.0f, 2.0f, 3.0f}))) << "the step must not run";
    EXPECT_DOUBLE_EQ(scaler.scale_value(), 32768);
    EXPECT_EQ(scaler.skipped_steps(), 1);
    // The next clean step runs at the backed-off scale.
    toy.backward(scaler);
    EXPECT_TRUE(torch::allclose(toy.p.grad(), torch::full({3}, 2.0f * 32768)));
    EXPECT_TRUE(scaler.step(toy.sgd));
    EXPECT_TRUE(torch::allclose(toy.p.detach(), torch::tensor({-1.0f, 0.0f, 1.0f})));
  }
}

TEST(LossScaler, GrowsAfterGrowthIntervalCleanStepsInARow) {
  Toy toy;
  LossScaler scaler(options(4, 3));
  for (int i = 0; i < 2; ++i) {
    toy.backward(scaler);
    ASSERT_TRUE(scaler.step(toy.sgd));
  }
  EXPECT_DOUBLE_EQ(scaler.scale_value(), 4);
  // A skipped step resets the run of clean steps.
  toy.backward(scaler);
  toy.p.grad()[0] = std::numeric_limits<float>::infinity();
  EXPECT_FALSE(scaler.step(toy.sgd));
  EXPECT_DOUBLE_EQ(scaler.scale_value(), 2);
  for (int i = 0; i < 2; ++i) {
    toy.backward(scaler);
    ASSERT_TRUE(scaler.step(toy.sgd));
  }
  EXPECT_DOUBLE_EQ(scaler.scale_value(), 2);
  toy.backward(scaler);
  ASSERT_TRUE(scaler.step(toy.sgd));
  EXPECT_DOUBLE_EQ(scaler.scale_value(), 4);
}

TEST(LossScaler, DisabledIsAPassThrough) {
  Toy toy;
  LossScalerOptions o;
  o.enabled = false;
  LossScaler scaler(o);
  EXPECT_FLOAT_EQ(scaler.scale(toy.loss()).item<float>(), 12.0f);
  toy.backward(scaler);
  toy.p.grad()[0] = std::numeric_limits<float>::infinity();
  scaler.unscale(toy.sgd);
  EXPECT_TRUE(scaler.step(toy.sgd)) << "disabled: no finite check, as fp32 and bf16 training";
  EXPECT_EQ(scaler.skipped_steps(), 0);
}

TEST(LossScaler, ParametersWithoutGradientsAreIgnored) {
  Toy toy;
  auto unused = torch::ones({2}).requires_grad_(true);
  toy.sgd.param_groups()[0].params().push_back(unused);
  LossScaler scaler(options(16));
  toy.backward(scaler);
  EXPECT_TRUE(scaler.step(toy.sgd));
  EXPECT_FALSE(unused.grad().defined());
}

TEST(LossScaler, RejectsBadOptionsAndADoubleUnscale) {
  auto make = [](LossScalerOptions o) { return LossScaler(o); };
  LossScalerOptions o;
  o.init_scale = 0;
  EXPECT_THROW(make(o), InvalidArgument);
  o = {};
  o.growth_factor = 1;
  EXPECT_THROW(make(o), InvalidArgument);
  o = {};
  o.backoff_factor = 1;
  EXPECT_THROW(make(o), InvalidArgument);
  o = {};
  o.growth_interval = 0;
  EXPECT_THROW(make(o), InvalidArgument);

  Toy toy;
  LossScaler scaler(options(2));
  toy.backward(scaler);
  scaler.unscale(toy.sgd);
  EXPECT_THROW(scaler.unscale(toy.sgd), Error);
}

}  // namespace
}  // namespace radclear::models
