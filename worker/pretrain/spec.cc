#include "worker/pretrain/spec.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/check.h"
#include "models/moco/schedules.h"

namespace radclear::worker {

PretrainPlan resolve_pretrain(const PretrainSpec& spec, const stages::RankContext& ctx) {
  spec.validate();
  RADCLEAR_CHECK(ctx.world >= 1 && ctx.rank >= 0 && ctx.rank < ctx.world, "rank {} of world {}", ctx.rank, ctx.world);
  if (spec.batch_size % ctx.world != 0) {
    throw InvalidArgument(fmt::format("pretrain: the global batch_size {} does not divide by {} ranks; use a multiple of {}",
                                      spec.batch_size, ctx.world, ctx.world));
  }
  PretrainPlan plan;
  plan.spec = spec;
  // A run shorter than the warmup would never reach its peak nor decay:
  // warm up over the first half instead, so `--epochs 1` works as a trial.
  if (spec.warmup_epochs > static_cast<double>(spec.epochs)) {
    plan.spec.warmup_epochs = static_cast<double>(spec.epochs) / 2;
    if (ctx.is_root()) {
      spdlog::warn("pretrain: warmup_epochs {} exceeds the run's {} epoch(s); warming up over {} instead",
                   spec.warmup_epochs, spec.epochs, plan.spec.warmup_epochs);
    }
  }
  plan.rank = ctx.rank;
  plan.world = ctx.world;
  plan.batch_per_rank = spec.batch_size / ctx.world;
  plan.lr = models::scaled_learning_rate(spec.lr, spec.batch_size);
  plan.threads_per_rank = std::max(1, ctx.threads);
  plan.loader_threads = spec.workers > 0 ? spec.workers : plan.threads_per_rank;
  return plan;
}

}  // namespace radclear::worker
