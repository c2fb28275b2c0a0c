#include "cli/exit_code.h"

namespace radclear::cli {

int exit_code(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk: return kExitOk;
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kCorruption: return kExitBadInput;
    default: return kExitFailed;
  }
}

int exit_code(const runner::StageReport& report) {
  if (report.outcome == stages::Outcome::kCancelled) return kExitCancelled;
  return report.failed_items > 0 ? kExitFailed : kExitOk;
}

}  // namespace radclear::cli
