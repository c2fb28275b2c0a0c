#pragma once
// MPI lifetime as RAII (gloo's mpi/context habit). MPI is initialised only
// when the process was launched by mpirun / srun (detected from the
// launcher's environment: OMPI_COMM_WORLD_SIZE, PMI_SIZE, SLURM_NTASKS), so
// a plain `radclear crossval` never touches MPI; then rank 0 of world 1.
//
// One MpiScope per process, created on the main thread before any other
// MPI use and destroyed last. Not copyable.
namespace radclear {

class MpiScope {
 public:
  MpiScope();
  ~MpiScope();  // MPI_Finalize when this scope initialised MPI
  MpiScope(const MpiScope&) = delete;
  MpiScope& operator=(const MpiScope&) = delete;

  // True when the launcher's environment says we run under mpirun / srun.
  static bool launched_under_mpi();
  // Ranks of this job on this node (launcher env; 1 when unknown), to
  // divide the cores between them.
  static int local_world();
  // This rank's index among them (launcher env; 0 when unknown): its GPU.
  static int local_rank();

  bool active() const { return active_; }
  int rank() const { return rank_; }
  int world() const { return world_; }
  // MPI_Barrier on MPI_COMM_WORLD; a no-op when not active.
  void barrier() const;
  // MPI_Abort(MPI_COMM_WORLD, code) when active (ends every rank), else
  // std::exit(code).
  [[noreturn]] void abort(int code) const;

 private:
  bool active_ = false;
  bool initialised_here_ = false;
  int rank_ = 0;
  int world_ = 1;
};

}  // namespace radclear
