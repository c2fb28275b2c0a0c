#include "models/layers/loss_scaler.h"

#include <torch/torch.h>

#include <cmath>

#include "common/check.h"

namespace radclear::models {

LossScaler::LossScaler(const LossScalerOptions& options) : options_(options), scale_(options.init_scale) {
  if (!(options.init_scale > 0) || !std::isfinite(options.init_scale)) {
    throw InvalidArgument(fmt::format("loss scaler: init_scale must be positive and finite, got {}", options.init_scale));
  }
  if (!(options.growth_factor > 1)) {
    throw InvalidArgument(fmt::format("loss scaler: growth_factor must be > 1, got {}", options.growth_factor));
  }
  if (!(options.backoff_factor > 0 && options.backoff_factor < 1)) {
    throw InvalidArgument(fmt::format("loss scaler: backoff_factor must be in (0, 1), got {}", options.backoff_factor));
  }
  if (options.growth_interval < 1) {
    throw InvalidArgument(fmt::format("loss scaler: growth_interval must be >= 1, got {}", options.growth_interval));
  }
}

torch::Tensor LossScaler::scale(const torch::Tensor& loss) const {
  return options_.enabled ? loss * scale_ : loss;
}

void LossScaler::unscale(torch::optim::Optimizer& optimizer) {
  if (!options_.enabled) return;
  RADCLEAR_CHECK(!unscaled_, "loss scaler: unscale() called twice before step()");
  torch::NoGradGuard no_grad;
  const double inv = 1.0 / scale_;
  // Accumulated on the gradients' device: one host sync for the whole model.
  torch::Tensor non_finite;
  for (auto& group : optimizer.param_groups()) {
    for (auto& p : group.params()) {
      auto g = p.grad();
      if (!g.defined()) continue;
      g.mul_(inv);
      const auto bad = torch::isfinite(g).logical_not().any();
      non_finite = non_finite.defined() ? non_finite.logical_or(bad) : bad;
    }
  }
  found_inf_ = non_finite.defined() && non_finite.item<bool>();
  unscaled_ = true;
}

bool LossScaler::step(torch::optim::Optimizer& optimizer) {
  if (!options_.enabled) {
    optimizer.step();
    return true;
  }
  if (!unscaled_) unscale(optimizer);
  const bool found_inf = found_inf_;
  if (!found_inf) optimizer.step();
  update(found_inf);
  unscaled_ = false;
  found_inf_ = false;
  return !found_inf;
}

void LossScaler::update(bool found_inf) {
  if (found_inf) {
    scale_ *= options_.backoff_factor;
    clean_steps_ = 0;
    ++skipped_;
    return;
  }
  if (++clean_steps_ >= options_.growth_interval) {
    const double grown = scale_ * options_.growth_factor;
    if (std::isfinite(grown)) scale_ = grown;  // GradScaler also never lets S overflow
    clean_steps_ = 0;
  }
}

}  // namespace radclear::models
