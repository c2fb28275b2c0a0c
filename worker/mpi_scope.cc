#include "worker/mpi_scope.h"

#include <mpi.h>

#include <cstdlib>
#include <string>

#include "common/check.h"

namespace radclear {

namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  try {
    return std::stoi(v);
  } catch (const std::exception&) {
    return fallback;
  }
}

}  // namespace

bool MpiScope::launched_under_mpi() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMI_SIZE") != nullptr ||
         std::getenv("SLURM_NTASKS") != nullptr;
}

int MpiScope::local_world() {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"}) {
    const int v = env_int(name, 0);
    if (v > 0) return v;
  }
  return 1;
}

int MpiScope::local_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"}) {
    const int v = env_int(name, -1);
    if (v >= 0) return v;
  }
  return 0;
}

MpiScope::MpiScope() {
  if (!launched_under_mpi()) return;
  int already = 0;
  MPI_Initialized(&already);
  if (!already) {
    if (MPI_Init(nullptr, nullptr) != MPI_SUCCESS) {
      throw Error(StatusCode::kInternal, "MPI_Init failed (launched under mpirun/srun but MPI cannot start)");
    }
    initialised_here_ = true;
  }
  active_ = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &world_);
}

MpiScope::~MpiScope() {
  if (initialised_here_) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
}

void MpiScope::barrier() const {
  if (active_) MPI_Barrier(MPI_COMM_WORLD);
}

void MpiScope::abort(int code) const {
  if (active_) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

}  // namespace radclear
