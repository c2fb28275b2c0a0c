#pragma once
// Learning-rate and momentum schedules of MoCo v3 / CLEAR (reference.md §2),
// as pure functions of the (fractional) epoch: epoch = e + i / iters_per_epoch
// for iteration i of epoch e.
#include <cstdint>

namespace radclear::models {

struct LrScheduleSpec {
  // Peak learning rate, already scaled (see scaled_learning_rate). Required.
  double peak_lr = 0.0;
  // Linear warmup length in epochs. Default: 10 (CLEAR); MoCo v3 ViT uses 40.
  double warmup_epochs = 10.0;
  // Total training length in epochs. Default: 100.
  double epochs = 100.0;
};

// base_lr * global_batch / 256 (MoCo v3's linear scaling rule).
double scaled_learning_rate(double base_lr, int64_t global_batch);

// peak * epoch / warmup during warmup, then
// peak * 0.5 * (1 + cos(pi * (epoch - warmup) / (epochs - warmup))).
double learning_rate_at(double epoch, const LrScheduleSpec& spec);

// Momentum cosine schedule (--moco-m-cos):
// m = 1 - 0.5 * (1 + cos(pi * epoch / epochs)) * (1 - m0).
double momentum_at(double epoch, double epochs, double m0);

}  // namespace radclear::models
