#pragma once
// Dynamic loss scaling for fp16 training (torch.cuda.amp.GradScaler's
// algorithm): the loss is multiplied by a scale S before backward so small
// fp16 gradients do not flush to zero; gradients are divided by S before
// clipping and the optimiser step; a step whose gradients hold inf or NaN is
// skipped and S backs off, and after `growth_interval` clean steps in a row
// S grows. bf16 and fp32 need none of this (construct with enabled = false:
// every call is then a pass-through). Works on any device; one host sync
// per step (the finite check).
//
//   auto loss = ...;
//   scaler.scale(loss).backward();
//   scaler.unscale(optimizer);             // before clipping
//   torch::nn::utils::clip_grad_norm_(params, max_norm);
//   bool stepped = scaler.step(optimizer); // skips on inf/NaN, updates S
//
// Not thread-safe; one scaler per optimiser.
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <cstdint>

namespace radclear::models {

struct LossScalerOptions {
  // Off: scale() returns the loss, step() always steps. Default: true.
  bool enabled = true;
  // Starting scale. Default: 65536 (2^16, as GradScaler).
  double init_scale = 65536.0;
  // S *= growth_factor after growth_interval clean steps. Default: 2.
  double growth_factor = 2.0;
  // S *= backoff_factor after a step with inf/NaN gradients. Default: 0.5.
  double backoff_factor = 0.5;
  // Clean steps in a row before S grows. Default: 2000.
  int64_t growth_interval = 2000;
};

class LossScaler {
 public:
  // Throws InvalidArgument naming the field when an option is out of range.
  explicit LossScaler(const LossScalerOptions& options = {});

  // loss * S.
  torch::Tensor scale(const torch::Tensor& loss) const;
  // Divides every defined gradient of `optimizer`'s parameters by S in
  // place and records whether any is inf or NaN. At most once per step
  // (again before step() throws); step() calls it when it was not called.
  void unscale(torch::optim::Optimizer& optimizer);
  // Runs optimizer.step() when the unscaled gradients were all finite, then
  // updates S. Returns whether the optimiser stepped.
  bool step(torch::optim::Optimizer& optimizer);

  double scale_value() const { return options_.enabled ? scale_ : 1.0; }
  // Steps skipped for inf/NaN gradients since construction.
  int64_t skipped_steps() const { return skipped_; }
  bool enabled() const { return options_.enabled; }

 private:
  void update(bool found_inf);

  LossScalerOptions options_;
  double scale_;
  int64_t clean_steps_ = 0;
  int64_t skipped_ = 0;
  bool unscaled_ = false;
  bool found_inf_ = false;
};

}  // namespace radclear::models
