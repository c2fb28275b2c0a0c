#include "worker/comm/nccl_communicator.h"

#include <cuda_runtime_api.h>
#include <nccl.h>

#include "common/check.h"

namespace radclear::worker {
namespace {

void check_cuda(cudaError_t rc, const char* what, int rank) {
  if (rc != cudaSuccess) {
    throw Error(StatusCode::kInternal, fmt::format("rank {}: {} failed: {}", rank, what, cudaGetErrorString(rc)));
  }
}

void check_nccl(ncclResult_t rc, const char* what, int rank) {
  if (rc != ncclSuccess) {
    throw Error(StatusCode::kInternal, fmt::format("rank {}: {} failed: {}", rank, what, ncclGetErrorString(rc)));
  }
}

ncclDataType_t nccl_type(DType d) {
  switch (d) {
    case DType::kFloat32: return ncclFloat32;
    case DType::kFloat64: return ncclFloat64;
    case DType::kFloat16: return ncclFloat16;
    case DType::kBFloat16: return ncclBfloat16;
    case DType::kInt32: return ncclInt32;
    case DType::kInt64: return ncclInt64;
    case DType::kUInt8: return ncclUint8;
  }
  return ncclFloat32;
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return ncclSum;
    case ReduceOp::kMax: return ncclMax;
    case ReduceOp::kMin: return ncclMin;
  }
  return ncclSum;
}

class NcclWork : public Work {
 public:
  NcclWork(cudaEvent_t done, cudaStream_t compute, int rank) : done_(done), compute_(compute), rank_(rank) {}
  ~NcclWork() override {
    if (!waited_) cudaStreamWaitEvent(compute_, done_, 0);
    cudaEventDestroy(done_);
  }
  void wait() override {
    check_cuda(cudaStreamWaitEvent(compute_, done_, 0), "cudaStreamWaitEvent", rank_);
    waited_ = true;
  }
  bool test() override { return cudaEventQuery(done_) == cudaSuccess; }

 private:
  cudaEvent_t done_;
  cudaStream_t compute_;
  int rank_;
  bool waited_ = false;
};

}  // namespace

struct NcclCommunicator::Impl {
  ncclComm_t comm = nullptr;
  cudaStream_t comm_stream = nullptr;
  cudaStream_t compute_stream = nullptr;
  cudaEvent_t ready = nullptr;
  void* scratch = nullptr;  // one int for barrier()
  int rank = 0;
  int world = 1;
  int device = 0;

  // The communication stream waits until the compute stream has produced
  // the buffer.
  void order_after_compute() {
    check_cuda(cudaEventRecord(ready, compute_stream), "cudaEventRecord", rank);
    check_cuda(cudaStreamWaitEvent(comm_stream, ready, 0), "cudaStreamWaitEvent", rank);
  }
  void sync() { check_cuda(cudaStreamSynchronize(comm_stream), "cudaStreamSynchronize", rank); }
};

NcclCommunicator::NcclCommunicator(Communicator& bootstrap, int device, void* compute_stream)
    : impl_(std::make_unique<Impl>()) {
  impl_->rank = bootstrap.rank();
  impl_->world = bootstrap.world();
  impl_->device = device;
  impl_->compute_stream = static_cast<cudaStream_t>(compute_stream);
  check_cuda(cudaSetDevice(device), "cudaSetDevice", impl_->rank);
  ncclUniqueId id;
  if (impl_->rank == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId", 0);
  bootstrap.broadcast(&id, sizeof(id), DType::kUInt8, 0);
  check_nccl(ncclCommInitRank(&impl_->comm, impl_->world, id, impl_->rank), "ncclCommInitRank", impl_->rank);
  check_cuda(cudaStreamCreateWithFlags(&impl_->comm_stream, cudaStreamNonBlocking), "cudaStreamCreate", impl_->rank);
  check_cuda(cudaEventCreateWithFlags(&impl_->ready, cudaEventDisableTiming), "cudaEventCreate", impl_->rank);
  check_cuda(cudaMalloc(&impl_->scratch, sizeof(int)), "cudaMalloc", impl_->rank);
}

NcclCommunicator::~NcclCommunicator() {
  if (!impl_) return;
  if (impl_->comm_stream) cudaStreamSynchronize(impl_->comm_stream);
  if (impl_->comm) ncclCommDestroy(impl_->comm);
  if (impl_->scratch) cudaFree(impl_->scratch);
  if (impl_->ready) cudaEventDestroy(impl_->ready);
  if (impl_->comm_stream) cudaStreamDestroy(impl_->comm_stream);
}

int NcclCommunicator::rank() const { return impl_->rank; }
int NcclCommunicator::world() const { return impl_->world; }

void NcclCommunicator::allreduce(void* buffer, size_t count, DType dtype, ReduceOp op) {
  allreduce_async(buffer, count, dtype, op)->wait();
  impl_->sync();
}

std::unique_ptr<Work> NcclCommunicator::allreduce_async(void* buffer, size_t count, DType dtype, ReduceOp op) {
  impl_->order_after_compute();
  if (count > 0) {
    check_nccl(ncclAllReduce(buffer, buffer, count, nccl_type(dtype), nccl_op(op), impl_->comm, impl_->comm_stream),
               "ncclAllReduce", impl_->rank);
  }
  cudaEvent_t done;
  check_cuda(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), "cudaEventCreate", impl_->rank);
  check_cuda(cudaEventRecord(done, impl_->comm_stream), "cudaEventRecord", impl_->rank);
  return std::make_unique<NcclWork>(done, impl_->compute_stream, impl_->rank);
}

void NcclCommunicator::allgather(const void* send, void* recv, size_t count, DType dtype) {
  impl_->order_after_compute();
  if (count > 0) {
    check_nccl(ncclAllGather(send, recv, count, nccl_type(dtype), impl_->comm, impl_->comm_stream), "ncclAllGather",
               impl_->rank);
  }
  impl_->sync();
}

void NcclCommunicator::broadcast(void* buffer, size_t count, DType dtype, int root) {
  RADCLEAR_CHECK(root >= 0 && root < impl_->world, "broadcast root {} outside 0..{}", root, impl_->world - 1);
  impl_->order_after_compute();
  if (count > 0) {
    check_nccl(ncclBroadcast(buffer, buffer, count, nccl_type(dtype), root, impl_->comm, impl_->comm_stream),
               "ncclBroadcast", impl_->rank);
  }
  impl_->sync();
}

void NcclCommunicator::barrier() {
  // NCCL has no barrier: a one-element allreduce that every rank must join.
  check_nccl(ncclAllReduce(impl_->scratch, impl_->scratch, 1, ncclInt32, ncclSum, impl_->comm, impl_->comm_stream),
             "ncclAllReduce (barrier)", impl_->rank);
  impl_->sync();
}

std::string nccl_version_string() {
  int v = 0;
  ncclGetVersion(&v);
  return fmt::format("{}.{}.{}", v / 10000, (v / 100) % 100, v % 100);
}

}  // namespace radclear::worker
