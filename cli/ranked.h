#pragma once
// Runs a stage on every rank of an mpirun/srun job (or alone): MPI is
// initialised for the call, and a failure on one rank ends all ranks with
// MPI_Abort instead of leaving the others blocked in a collective.
#include <functional>

#include "worker/mpi_scope.h"

namespace radclear::cli {

// Calls fn under an MpiScope. Exceptions propagate as usual in a world of
// one; with more ranks they are logged and end the job (exit code 2 for
// InvalidArgument, else 1).
int run_ranked(const std::function<int(const MpiScope&)>& fn);

}  // namespace radclear::cli
