#pragma once
// Collectives over NCCL for CUDA buffers (compiled only when CMake finds the
// CUDA toolkit and NCCL: RADCLEAR_HAVE_NCCL). Rank 0 creates the NCCL unique
// id and broadcasts it over the bootstrap communicator (MPI), as PyTorch's
// ProcessGroupNCCL does over its store.
//
// Collectives run on the communicator's own CUDA stream, which first waits
// for the caller's compute stream, so gradients are complete before they are
// reduced while the compute stream goes on (overlap). Work::wait() makes the
// compute stream wait for the result; blocking calls synchronise the host.
#include <memory>

#include "worker/comm/communicator.h"

namespace radclear::worker {

class NcclCommunicator : public Communicator {
 public:
  // `device`: the CUDA device of this rank (usually the local rank).
  // `compute_stream`: the cudaStream_t the model runs on (nullptr: default
  // stream), passed as void* so this header does not need CUDA's.
  NcclCommunicator(Communicator& bootstrap, int device, void* compute_stream = nullptr);
  ~NcclCommunicator() override;
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const override;
  int world() const override;
  std::string backend() const override { return "nccl"; }
  void allreduce(void* buffer, size_t count, DType dtype, ReduceOp op) override;
  std::unique_ptr<Work> allreduce_async(void* buffer, size_t count, DType dtype, ReduceOp op) override;
  void allgather(const void* send, void* recv, size_t count, DType dtype) override;
  void broadcast(void* buffer, size_t count, DType dtype, int root) override;
  void barrier() override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// NCCL's version as "2.28.9".
std::string nccl_version_string();

}  // namespace radclear::worker
