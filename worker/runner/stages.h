#pragma once
// The six stages behind one signature. Each validates its spec, runs on the
// rank described by the context (collectives through ctx.comm), checks
// ctx.cancel between steps, studies or folds, and leaves outputs a rerun
// resumes from. Errors come back as a Status naming the file, field or rank
// (InvalidArgument: bad settings or input; others: the work failed); they
// never throw. The CLI, the quickstart pipeline and the coordinator's worker
// loop call these through the job runner (job_runner.h).
#include "common/status.h"
#include "stages/crossval_spec.h"
#include "stages/extract_spec.h"
#include "stages/index_spec.h"
#include "stages/pretrain_spec.h"
#include "stages/rank_context.h"
#include "stages/synth_spec.h"
#include "worker/runner/stage_report.h"

namespace radclear::runner {

Result<StageReport> run_synth(const stages::SynthSpec& spec, stages::RankContext& ctx);
Result<StageReport> run_index(const stages::IndexSpec& spec, stages::RankContext& ctx);
// Opens the index itself (read-only) and trains on every slice in it.
Result<StageReport> run_pretrain(const stages::PretrainSpec& spec, stages::RankContext& ctx);
Result<StageReport> run_extract(const stages::ExtractSpec& spec, stages::RankContext& ctx);
Result<StageReport> run_crossval(const stages::CrossvalSpec& spec, stages::RankContext& ctx);
Result<StageReport> run_deploy(const stages::DeploySpec& spec, stages::RankContext& ctx);

// The boundary of every entry point: runs body(), turning the exceptions
// used inside modules into a Status.
template <typename Body>
Result<StageReport> guarded(Body&& body);

}  // namespace radclear::runner

#include "worker/runner/guarded.h"
