// run_crossval and run_deploy: attention-MIL folds and their deployment.
#include <fmt/format.h>

#include "worker/crossval/crossval.h"
#include "worker/runner/stages.h"

namespace radclear::runner {

Result<StageReport> run_crossval(const stages::CrossvalSpec& spec, stages::RankContext& ctx) {
  return guarded([&] {
    // The launcher's --quiet (a worker group's, the quickstart's) silences the bars too.
    stages::CrossvalSpec quiet = spec;
    quiet.progress = spec.progress && ctx.show_progress;
    const auto s = crossval::run_crossval(quiet, ctx);
    StageReport report;
    report.stage = stages::CrossvalSpec::kStage;
    if (s.cancelled) report.outcome = stages::Outcome::kCancelled;
    report.summary = s.cancelled ? fmt::format("cancelled: finished folds are in {}; rerun to do the rest",
                                               spec.out_dir.string())
                                 : fmt::format("done; {} studies used, {} skipped; results in {}", s.studies_used,
                                               s.studies_skipped, (spec.out_dir / "stats.csv").string());
    return report;
  });
}

Result<StageReport> run_deploy(const stages::DeploySpec& spec, stages::RankContext& ctx) {
  return guarded([&] {
    StageReport report;
    report.stage = stages::DeploySpec::kStage;
    if (!ctx.is_root()) return report;  // one process evaluates every fold model
    stages::DeploySpec quiet = spec;
    quiet.progress = spec.progress && ctx.show_progress;
    const auto s = crossval::run_deploy(quiet, ctx);
    report.summary = fmt::format("deploy: {} models on {} studies; results in {}", s.models, s.studies,
                                 spec.out_dir.string());
    return report;
  });
}

}  // namespace radclear::runner
