#pragma once
// Process-wide settings a launcher makes once, before the first stage:
// stages read RankContext::threads and set nothing themselves.
#include "stages/any_spec.h"
#include "stages/rank_context.h"

namespace radclear::runner {

// torch's intra-op threads (OpenMP) for this rank.
void set_process_threads(int threads);

// The compute threads a stage gets on the rank `ctx` describes: crossval's
// and deploy's own `threads` setting when > 0, else the rank's share of the
// node's cores (RankContext::compute_threads).
int stage_threads(const stages::AnySpec& spec, const stages::RankContext& ctx);

}  // namespace radclear::runner
