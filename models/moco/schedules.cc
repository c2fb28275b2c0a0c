#include "models/moco/schedules.h"

#include <cmath>

#include "common/check.h"

namespace radclear::models {

double scaled_learning_rate(double base_lr, int64_t global_batch) {
  if (global_batch < 1) {
    throw InvalidArgument(fmt::format("learning rate scaling: global batch must be >= 1, got {}", global_batch));
  }
  return base_lr * static_cast<double>(global_batch) / 256.0;
}

double learning_rate_at(double epoch, const LrScheduleSpec& spec) {
  if (!(spec.epochs > 0) || spec.warmup_epochs < 0 || spec.warmup_epochs > spec.epochs) {
    throw InvalidArgument(fmt::format("lr schedule: need 0 <= warmup_epochs ({}) <= epochs ({}) and epochs > 0",
                                      spec.warmup_epochs, spec.epochs));
  }
  if (epoch < spec.warmup_epochs) {
    return spec.peak_lr * epoch / spec.warmup_epochs;
  }
  if (spec.epochs == spec.warmup_epochs) return spec.peak_lr;
  const double progress = (epoch - spec.warmup_epochs) / (spec.epochs - spec.warmup_epochs);
  return spec.peak_lr * 0.5 * (1.0 + std::cos(M_PI * progress));
}

double momentum_at(double epoch, double epochs, double m0) {
  if (!(epochs > 0)) {
    throw InvalidArgument(fmt::format("momentum schedule: epochs must be > 0, got {}", epochs));
  }
  return 1.0 - 0.5 * (1.0 + std::cos(M_PI * epoch / epochs)) * (1.0 - m0);
}

}  // namespace radclear::models
