#pragma once
// One interface for the collectives radclear needs, hiding whether MPI (CPU
// buffers) or NCCL (CUDA buffers, ids exchanged over MPI) moves the bytes.
// Buffers are raw pointers + element counts so this header needs neither
// MPI, CUDA nor LibTorch; the training loop adapts tensors at its edge.
//
// Thread safety: a Communicator is used by one thread at a time, except that
// Work handles may be waited on from the thread that created them.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace radclear::worker {

enum class DType { kFloat32, kFloat64, kFloat16, kBFloat16, kInt32, kInt64, kUInt8 };
enum class ReduceOp { kSum, kMax, kMin };

size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);

// An outstanding asynchronous collective. wait() returns when the result is
// in the buffer (for NCCL: when it is ordered before later work on the
// caller's stream). Destroying an unfinished Work waits for it.
class Work {
 public:
  virtual ~Work() = default;
  virtual void wait() = 0;
  // True when finished; never blocks.
  virtual bool test() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world() const = 0;
  virtual std::string backend() const = 0;  // "local", "mpi", "nccl"

  // In-place allreduce of `count` elements. Blocking.
  virtual void allreduce(void* buffer, size_t count, DType dtype, ReduceOp op) = 0;
  // Starts an in-place allreduce; the buffer must stay alive and untouched
  // until the Work is waited on.
  virtual std::unique_ptr<Work> allreduce_async(void* buffer, size_t count, DType dtype, ReduceOp op) = 0;
  // recv holds world() * count elements, rank r's block at r * count.
  virtual void allgather(const void* send, void* recv, size_t count, DType dtype) = 0;
  virtual void broadcast(void* buffer, size_t count, DType dtype, int root) = 0;
  virtual void barrier() = 0;
};

// The world of one process: every collective is the identity (a copy for
// allgather). What a single-process run uses; no MPI needed.
std::unique_ptr<Communicator> make_local_communicator();

}  // namespace radclear::worker
