#pragma once
// What one rank of a pretraining run runs with, derived once from the
// spec (stages/pretrain_spec.h) and the rank context instead of mutating the
// spec as main_moco.py mutates args.
#include <cstdint>

#include "stages/pretrain_spec.h"
#include "stages/rank_context.h"

namespace radclear::worker {

using stages::OptimizerKind;
using stages::Precision;
using stages::PretrainSpec;
using stages::Sampling;
using stages::ViewRecipe;

struct PretrainPlan {
  PretrainSpec spec;
  int world = 1;
  int rank = 0;
  int64_t batch_per_rank = 0;   // spec.batch_size / world
  double lr = 0;                // models::scaled_learning_rate(spec.lr, spec.batch_size)
  int threads_per_rank = 1;     // the context's threads
  int loader_threads = 1;       // spec.workers, or threads_per_rank
};

// Validates the spec; throws InvalidArgument when the global batch does not
// divide by the world.
PretrainPlan resolve_pretrain(const PretrainSpec& spec, const stages::RankContext& ctx);

}  // namespace radclear::worker
