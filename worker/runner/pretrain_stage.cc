// run_pretrain: LeCL pretraining on every slice of the index.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "storage/index.h"
#include "worker/pretrain/trainer.h"
#include "worker/runner/stages.h"
#include "worker/slice_samples.h"

namespace radclear::runner {

Result<StageReport> run_pretrain(const stages::PretrainSpec& spec, stages::RankContext& ctx) {
  return guarded([&]() -> Result<StageReport> {
    const auto plan = worker::resolve_pretrain(spec, ctx);
    storage::IndexOptions opts;
    opts.read_only = true;
    auto index = storage::SliceIndex::Open(spec.db, opts);
    if (!index.ok()) return index.status();
    auto samples = worker::slice_samples_from_index(*index.value());
    if (!samples.ok()) return samples.status();
    if (ctx.is_root()) {
      spdlog::info("pretrain {} on {} slices: {} rank(s) x batch {}, lr {:.3g}, {} threads/rank", spec.arch,
                   samples.value().size(), plan.world, plan.batch_per_rank, plan.lr, plan.threads_per_rank);
    }
    worker::PretrainOptions options;
    options.show_progress = ctx.show_progress;
    options.local_rank = ctx.local_rank;
    options.cancel = ctx.cancel;
    options.on_step = [&ctx](int64_t done, int64_t total) { ctx.report("pretrain", "steps", done, total); };
    const auto r = worker::run_pretrain(plan, std::move(samples.value()), *ctx.comm, options);
    StageReport report;
    report.stage = stages::PretrainSpec::kStage;
    if (r.cancelled) report.outcome = stages::Outcome::kCancelled;
    report.summary = fmt::format(
        "{}: {} epochs, {:.1f} images/s, gradient wait {:.1f}% of step time, last checkpoint {}",
        r.cancelled ? "cancelled" : "done", r.epochs_completed, r.images_per_second, 100 * r.comm_wait_fraction,
        r.last_checkpoint.empty() ? "none" : r.last_checkpoint.string());
    return report;
  });
}

}  // namespace radclear::runner
