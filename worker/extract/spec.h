#pragma once
// The extraction stage's spec is declared in stages/extract_spec.h.
#include "stages/extract_spec.h"

namespace radclear::worker {
using stages::ExtractSpec;
using stages::kDefaultExtractWindows;
}  // namespace radclear::worker
