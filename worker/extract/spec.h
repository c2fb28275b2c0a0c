#pragma once
// The extraction stage's spec is declared in stages/extract_spec.h.
#include "stages/extract_spec.h"

namespace radclear::worker {
using stages::ExtractSpec;
}  // namespace radclear::worker
