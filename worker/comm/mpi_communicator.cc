#include "worker/comm/mpi_communicator.h"

#include <climits>

#include "common/check.h"

namespace radclear::worker {
namespace {

MPI_Datatype mpi_type(DType d) {
  switch (d) {
    case DType::kFloat32: return MPI_FLOAT;
    case DType::kFloat64: return MPI_DOUBLE;
    case DType::kInt32: return MPI_INT32_T;
    case DType::kInt64: return MPI_INT64_T;
    case DType::kUInt8: return MPI_UINT8_T;
    default:
      // MPI has no half types; gradients are reduced in float32 on CPU.
      throw InvalidArgument(fmt::format("MPI collectives do not support {}", dtype_name(d)));
  }
}

MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return MPI_SUM;
    case ReduceOp::kMax: return MPI_MAX;
    case ReduceOp::kMin: return MPI_MIN;
  }
  return MPI_SUM;
}

int checked_count(size_t count) {
  RADCLEAR_CHECK(count <= static_cast<size_t>(INT_MAX), "{} elements exceed MPI's int count; split the buffer", count);
  return static_cast<int>(count);
}

void check_mpi(int rc, const char* what, int rank) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw Error(StatusCode::kInternal, fmt::format("rank {}: {} failed: {}", rank, what, std::string(msg, len)));
}

class MpiWork : public Work {
 public:
  MpiWork(MPI_Request req, int rank) : req_(req), rank_(rank) {}
  ~MpiWork() override {
    if (req_ != MPI_REQUEST_NULL) MPI_Wait(&req_, MPI_STATUS_IGNORE);
  }
  void wait() override { check_mpi(MPI_Wait(&req_, MPI_STATUS_IGNORE), "MPI_Wait", rank_); }
  bool test() override {
    int done = 0;
    check_mpi(MPI_Test(&req_, &done, MPI_STATUS_IGNORE), "MPI_Test", rank_);
    return done != 0;
  }

 private:
  MPI_Request req_;
  int rank_;
};

}  // namespace

MpiCommunicator::MpiCommunicator(MPI_Comm comm) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  RADCLEAR_CHECK(initialized, "MPI is not initialised; create an MpiScope first");
  check_mpi(MPI_Comm_dup(comm, &comm_), "MPI_Comm_dup", 0);
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &world_);
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

void MpiCommunicator::allreduce(void* buffer, size_t count, DType dtype, ReduceOp op) {
  if (count == 0) return;
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, buffer, checked_count(count), mpi_type(dtype), mpi_op(op), comm_),
            "MPI_Allreduce", rank_);
}

std::unique_ptr<Work> MpiCommunicator::allreduce_async(void* buffer, size_t count, DType dtype, ReduceOp op) {
  MPI_Request req = MPI_REQUEST_NULL;
  if (count > 0) {
    check_mpi(MPI_Iallreduce(MPI_IN_PLACE, buffer, checked_count(count), mpi_type(dtype), mpi_op(op), comm_, &req),
              "MPI_Iallreduce", rank_);
  }
  return std::make_unique<MpiWork>(req, rank_);
}

void MpiCommunicator::allgather(const void* send, void* recv, size_t count, DType dtype) {
  if (count == 0) return;
  check_mpi(MPI_Allgather(send, checked_count(count), mpi_type(dtype), recv, checked_count(count), mpi_type(dtype),
                          comm_),
            "MPI_Allgather", rank_);
}

void MpiCommunicator::broadcast(void* buffer, size_t count, DType dtype, int root) {
  RADCLEAR_CHECK(root >= 0 && root < world_, "broadcast root {} outside 0..{}", root, world_ - 1);
  if (count == 0) return;
  check_mpi(MPI_Bcast(buffer, checked_count(count), mpi_type(dtype), root, comm_), "MPI_Bcast", rank_);
}

void MpiCommunicator::barrier() { check_mpi(MPI_Barrier(comm_), "MPI_Barrier", rank_); }

}  // namespace radclear::worker
