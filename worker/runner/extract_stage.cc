// run_extract: per-study feature files from a trained encoder.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "worker/extract/extractor.h"
#include "worker/runner/stages.h"

namespace radclear::runner {

Result<StageReport> run_extract(const stages::ExtractSpec& spec, stages::RankContext& ctx) {
  return guarded([&] {
    worker::ExtractOptions options;
    options.show_progress = ctx.show_progress;
    options.threads_per_rank = ctx.compute_threads();
    options.local_rank = ctx.local_rank;
    options.cancel = ctx.cancel;
    options.on_study = [&ctx](int64_t done, int64_t total) { ctx.report("extract", "studies", done, total); };
    const auto r = worker::run_extract(spec, *ctx.comm, options);
    for (const auto& study : r.failed_studies) spdlog::error("study {} was not extracted", study);
    StageReport report;
    report.stage = stages::ExtractSpec::kStage;
    if (r.cancelled) report.outcome = stages::Outcome::kCancelled;
    report.failed_items = r.studies_failed;
    report.summary = fmt::format(
        "{}: feature set {}: {} studies extracted ({} slices, {} rows of {} floats) in {:.1f} s, {:.1f} slices/s; "
        "{} already done, {} failed; {} of {} studies finished",
        r.cancelled ? "cancelled" : "done", r.set_id, r.studies_done, r.slices, r.rows, r.feature_dim, r.seconds,
        r.slices_per_second, r.studies_skipped, r.studies_failed, r.studies_skipped + r.studies_done,
        r.studies_total);
    return report;
  });
}

}  // namespace radclear::runner
