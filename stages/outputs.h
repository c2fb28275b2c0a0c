#pragma once
// What a finished stage leaves behind, from its spec alone: the paths a
// coordinator records as a job's outputs and a later stage reads.
#include <string>
#include <vector>

#include "stages/any_spec.h"

namespace radclear::stages {

// synth: the data root; index: the index; pretrain: the final checkpoint,
// then the run directory; extract: the feature directory; crossval: the
// output directory (and its stats.csv for a run over every fold); deploy:
// the output directory.
std::vector<std::string> output_paths(const AnySpec& spec);

}  // namespace radclear::stages
