#include "cli/command.h"

namespace radclear::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"synth", "Generate a DeepLesion-style synthetic CT data set", &setup_synth},
      {"doctor", "Check this node: library versions, BLAS, threads, GPUs, SGEMM speed", &setup_doctor},
  };
  return table;
}

}  // namespace radclear::cli
