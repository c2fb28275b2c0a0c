#pragma once
// The job runner: any stage spec (or its serialised payload, as the
// coordinator sends it) -> its stage call on this rank. The CLI commands,
// the quickstart pipeline and the coordinator's worker loop all run stages
// through here, so they run exactly the same code.
#include <string>

#include "common/status.h"
#include "stages/any_spec.h"
#include "stages/rank_context.h"
#include "worker/runner/stage_report.h"

namespace radclear::runner {

Result<StageReport> run_stage(const stages::AnySpec& spec, stages::RankContext& ctx);

// Decodes and validates a payload (stages/payload.h), then runs it.
// InvalidArgument: the payload is of another format, stage or version, or a
// field is bad.
Result<StageReport> run_job(const std::string& payload, stages::RankContext& ctx);

}  // namespace radclear::runner
