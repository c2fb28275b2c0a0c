#include "cli/command.h"

namespace radclear::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {

      {"doctor", "Check this node: library versions, BLAS, threads, GPUs, SGEMM speed", &setup_doctor},
  };
  return table;
}

}  // namespace radclear::cli
