#pragma once
// Runs one stage on this process's rank: alone, or as one rank of an
// mpirun/srun world. It owns what a process sets once: MPI, the
// communicator, the rank context (rank, local rank, threads = the node's
// cores / ranks on the node), torch's thread count, and Ctrl-C. One failure
// policy for every command: in a world of several ranks, a rank whose stage
// fails logs its error and ends the whole world (MPI_Abort) instead of
// leaving the others blocked in a collective.
#include "stages/any_spec.h"

namespace radclear::cli {

struct LaunchOptions {
  bool quiet = false;  // no progress bars
};

// The process exit code (cli/exit_code.h). Rank 0 prints the stage's summary.
int launch(const stages::AnySpec& spec, const LaunchOptions& options = {});

}  // namespace radclear::cli
