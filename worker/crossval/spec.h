#pragma once
// The crossval and deploy specs are declared in stages/crossval_spec.h.
#include "stages/crossval_spec.h"

namespace radclear::crossval {
using stages::CrossvalSpec;
using stages::DeploySpec;
}  // namespace radclear::crossval
