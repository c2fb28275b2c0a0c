#include "worker/runner/job_runner.h"

#include "worker/runner/stages.h"

namespace radclear::runner {

namespace {

// One overload per alternative of stages::AnySpec: adding a stage there
// without its entry point here does not compile.
Result<StageReport> dispatch(const stages::SynthSpec& s, stages::RankContext& c) { return run_synth(s, c); }
Result<StageReport> dispatch(const stages::IndexSpec& s, stages::RankContext& c) { return run_index(s, c); }
Result<StageReport> dispatch(const stages::PretrainSpec& s, stages::RankContext& c) { return run_pretrain(s, c); }
Result<StageReport> dispatch(const stages::ExtractSpec& s, stages::RankContext& c) { return run_extract(s, c); }
Result<StageReport> dispatch(const stages::CrossvalSpec& s, stages::RankContext& c) { return run_crossval(s, c); }
Result<StageReport> dispatch(const stages::DeploySpec& s, stages::RankContext& c) { return run_deploy(s, c); }

}  // namespace

Result<StageReport> run_stage(const stages::AnySpec& spec, stages::RankContext& ctx) {
  if (ctx.comm == nullptr) return Status::Internal("run_stage: the rank context has no communicator");
  return std::visit([&](const auto& s) { return dispatch(s, ctx); }, spec);
}

Result<StageReport> run_job(const std::string& payload, stages::RankContext& ctx) {
  return guarded([&] { return run_stage(stages::any_from_payload(payload), ctx); });
}

}  // namespace radclear::runner
