#pragma once
// Ctrl-C for long stages: while a CancelOnSignal lives, the first SIGINT or
// SIGTERM asks the stage to stop at its next step, study or fold (it then
// saves what it has and the command exits with code 3); a second one ends
// the process at once (exit 130), as a user pressing Ctrl-C twice expects.
#include <csignal>

#include "common/cancel.h"

namespace radclear::cli {

class CancelOnSignal {
 public:
  explicit CancelOnSignal(const CancelToken& token);
  ~CancelOnSignal();
  CancelOnSignal(const CancelOnSignal&) = delete;
  CancelOnSignal& operator=(const CancelOnSignal&) = delete;

 private:
  struct sigaction old_int_{}, old_term_{};
};

}  // namespace radclear::cli
