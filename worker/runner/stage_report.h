#pragma once
// What every stage entry point (worker/runner/stages.h) returns when it did
// not fail: how it ended and a summary for people.
#include <cstdint>
#include <string>

#include "stages/rank_context.h"

namespace radclear::runner {

struct StageReport {
  std::string stage;                                  // "pretrain"
  stages::Outcome outcome = stages::Outcome::kDone;
  std::string summary;                                // rank 0: what the launcher prints
  // Items the stage gave up on and went past (unreadable studies with
  // strict off): the outputs are usable but the run did not fully succeed.
  int64_t failed_items = 0;
};

}  // namespace radclear::runner
