#pragma once
// The exit codes of `radclear`, decided here and nowhere else (README,
// "Exit codes"):
//   0  the work is done
//   1  the work failed (I/O, a diverged loss, unreadable studies skipped)
//   2  bad input: a flag, config field, CSV row or file that cannot be used
//   3  cancelled (SIGINT/SIGTERM): outputs are resumable, rerun to finish
#include "common/status.h"
#include "worker/runner/stage_report.h"

namespace radclear::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitCancelled = 3;

int exit_code(const Status& status);
int exit_code(const runner::StageReport& report);

}  // namespace radclear::cli
