// nccl_check: the NCCL communicator (worker/comm/nccl_communicator.h) in a
// world of one on CUDA device 0: allreduce (blocking and async), allgather,
// broadcast and barrier on device buffers, float32 and bfloat16. No MPI and
// no LibTorch: the bootstrap is the local communicator. Prints
//   RESULT|nccl|<PASS|FAIL|SKIP>|<summary>
// and exits 0 on pass (or skip: no CUDA device), 1 on failure.
#include <cuda_runtime_api.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/check.h"
#include "worker/comm/communicator.h"
#include "worker/comm/nccl_communicator.h"

namespace radclear::gpu_check {
namespace {

void cuda_ok(cudaError_t rc, const char* what) {
  if (rc != cudaSuccess) throw Error(StatusCode::kInternal, fmt::format("{}: {}", what, cudaGetErrorString(rc)));
}

// A device buffer freed on scope exit.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t bytes) : bytes_(bytes) { cuda_ok(cudaMalloc(&ptr_, bytes), "cudaMalloc"); }
  ~DeviceBuffer() { cudaFree(ptr_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void* get() const { return ptr_; }
  void upload(const void* host) { cuda_ok(cudaMemcpy(ptr_, host, bytes_, cudaMemcpyHostToDevice), "upload"); }
  void download(void* host) const { cuda_ok(cudaMemcpy(host, ptr_, bytes_, cudaMemcpyDeviceToHost), "download"); }

 private:
  void* ptr_ = nullptr;
  size_t bytes_;
};

std::vector<float> pattern(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i % 1000) * 0.25f - 7.0f;
  return v;
}

// Round trip through the collective: in a world of one every result equals the input.
bool same(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Why no CUDA device can be used, or "" when device 0 can.
std::string no_device_reason() {
  int devices = 0;
  const cudaError_t rc = cudaGetDeviceCount(&devices);
  if (rc != cudaSuccess) return fmt::format("no CUDA device ({})", cudaGetErrorString(rc));
  return devices < 1 ? "no CUDA device" : "";
}

std::string run_checks() {
  auto bootstrap = worker::make_local_communicator();
  worker::NcclCommunicator comm(*bootstrap, 0);
  fmt::print("NCCL {}: rank {} of {}, backend {}\n", worker::nccl_version_string(), comm.rank(), comm.world(),
             comm.backend());
  std::vector<std::string> failures;
  const size_t n = (size_t{1} << 20) + 3;  // not a multiple of anything NCCL likes
  const auto host = pattern(n);
  std::vector<float> back(n);

  DeviceBuffer buf(n * sizeof(float));
  buf.upload(host.data());
  comm.allreduce(buf.get(), n, worker::DType::kFloat32, worker::ReduceOp::kSum);
  buf.download(back.data());
  if (!same(back, host)) failures.push_back("allreduce float32");

  auto work = comm.allreduce_async(buf.get(), n, worker::DType::kFloat32, worker::ReduceOp::kMax);
  work->wait();
  cuda_ok(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  buf.download(back.data());
  if (!same(back, host)) failures.push_back("allreduce_async float32");

  DeviceBuffer gathered(n * sizeof(float));
  comm.allgather(buf.get(), gathered.get(), n, worker::DType::kFloat32);
  gathered.download(back.data());
  if (!same(back, host)) failures.push_back("allgather float32");

  comm.broadcast(buf.get(), n, worker::DType::kFloat32, 0);
  buf.download(back.data());
  if (!same(back, host)) failures.push_back("broadcast float32");

  // bfloat16: the same bytes reinterpreted, 2n elements.
  comm.allreduce(buf.get(), 2 * n, worker::DType::kBFloat16, worker::ReduceOp::kSum);
  buf.download(back.data());
  if (!same(back, host)) failures.push_back("allreduce bfloat16");

  comm.allreduce(buf.get(), 0, worker::DType::kFloat32, worker::ReduceOp::kSum);  // empty is legal
  comm.barrier();

  // Time of a 256 MiB float32 allreduce (in a world of one: NCCL's local path).
  const size_t big = size_t{64} << 20;
  DeviceBuffer large(big * sizeof(float));
  cuda_ok(cudaMemset(large.get(), 0, big * sizeof(float)), "cudaMemset");
  comm.allreduce(large.get(), big, worker::DType::kFloat32, worker::ReduceOp::kSum);
  const auto t0 = std::chrono::steady_clock::now();
  constexpr int kReps = 10;
  for (int i = 0; i < kReps; ++i) comm.allreduce(large.get(), big, worker::DType::kFloat32, worker::ReduceOp::kSum);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / kReps;
  fmt::print("allreduce 256 MiB float32, world 1: {:.3f} ms\n", ms);

  if (!failures.empty()) {
    std::string list;
    for (const auto& f : failures) list += (list.empty() ? "" : ", ") + f;
    throw Error(StatusCode::kInternal, "wrong result after: " + list);
  }
  return fmt::format("NCCL {}, world 1: allreduce (sync, async), allgather, broadcast, barrier, bf16 ok; "
                     "256 MiB allreduce {:.2f} ms",
                     worker::nccl_version_string(), ms);
}

}  // namespace
}  // namespace radclear::gpu_check

int main(int argc, char** argv) {
  // --require-cuda (set on a GPU machine): no usable device is a failure, not a skip.
  const bool require_cuda = argc > 1 && std::string(argv[1]) == "--require-cuda";
  const std::string reason = radclear::gpu_check::no_device_reason();
  if (!reason.empty()) {
    fmt::print("RESULT|nccl|{}|{}\n", require_cuda ? "FAIL" : "SKIP", reason);
    return require_cuda ? 1 : 0;
  }
  try {
    const std::string summary = radclear::gpu_check::run_checks();
    fmt::print("RESULT|nccl|PASS|{}\n", summary);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    fmt::print("RESULT|nccl|FAIL|error: {}\n", e.what());
    return 1;
  }
}
