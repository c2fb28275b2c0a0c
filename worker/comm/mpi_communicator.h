#pragma once
// Collectives over MPI for CPU buffers. MPI must be initialised (with at
// least MPI_THREAD_SERIALIZED when Work is waited on from another thread)
// before construction; the communicator duplicates the given communicator so
// its traffic never mixes with other users of MPI_COMM_WORLD.
#include <mpi.h>

#include "worker/comm/communicator.h"

namespace radclear::worker {

class MpiCommunicator : public Communicator {
 public:
  explicit MpiCommunicator(MPI_Comm comm = MPI_COMM_WORLD);
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int world() const override { return world_; }
  std::string backend() const override { return "mpi"; }
  void allreduce(void* buffer, size_t count, DType dtype, ReduceOp op) override;
  std::unique_ptr<Work> allreduce_async(void* buffer, size_t count, DType dtype, ReduceOp op) override;
  void allgather(const void* send, void* recv, size_t count, DType dtype) override;
  void broadcast(void* buffer, size_t count, DType dtype, int root) override;
  void barrier() override;

  MPI_Comm comm() const { return comm_; }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int world_ = 1;
};

}  // namespace radclear::worker
