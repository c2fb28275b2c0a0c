#include "worker/comm/communicator.h"

#include <cstring>

#include "common/check.h"

namespace radclear::worker {

size_t dtype_size(DType d) {
  switch (d) {
    case DType::kFloat32: return 4;
    case DType::kFloat64: return 8;
    case DType::kFloat16: return 2;
    case DType::kBFloat16: return 2;
    case DType::kInt32: return 4;
    case DType::kInt64: return 8;
    case DType::kUInt8: return 1;
  }
  return 0;
}

const char* dtype_name(DType d) {
  switch (d) {
    case DType::kFloat32: return "float32";
    case DType::kFloat64: return "float64";
    case DType::kFloat16: return "float16";
    case DType::kBFloat16: return "bfloat16";
    case DType::kInt32: return "int32";
    case DType::kInt64: return "int64";
    case DType::kUInt8: return "uint8";
  }
  return "?";
}

namespace {

class DoneWork : public Work {
 public:
  void wait() override {}
  bool test() override { return true; }
};

class LocalCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int world() const override { return 1; }
  std::string backend() const override { return "local"; }
  void allreduce(void*, size_t, DType, ReduceOp) override {}
  std::unique_ptr<Work> allreduce_async(void*, size_t, DType, ReduceOp) override {
    return std::make_unique<DoneWork>();
  }
  void allgather(const void* send, void* recv, size_t count, DType dtype) override {
    if (count > 0 && send != recv) std::memmove(recv, send, count * dtype_size(dtype));
  }
  void broadcast(void*, size_t, DType, int root) override {
    RADCLEAR_CHECK(root == 0, "broadcast root {} in a world of 1", root);
  }
  void barrier() override {}
};

}  // namespace

std::unique_ptr<Communicator> make_local_communicator() { return std::make_unique<LocalCommunicator>(); }

}  // namespace radclear::worker
