// The NCCL communicator. Without a GPU (CI) it must fail clearly, naming the
// CUDA call and rank; with one it runs a world-of-one allreduce, allgather
// and broadcast on device memory (multi-rank NCCL runs under mpirun on GPU
// nodes through the same code).
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <vector>

#include "common/check.h"
#include "worker/comm/nccl_communicator.h"

namespace radclear::worker {
namespace {

int gpu_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
  return n;
}

TEST(NcclCommunicator, VersionIsKnown) { EXPECT_EQ(nccl_version_string().substr(0, 2), "2."); }

TEST(NcclCommunicator, WithoutGpuFailsClearly) {
  if (gpu_count() > 0) GTEST_SKIP() << "a GPU is present; see WorldOfOneOnGpu";
  auto bootstrap = make_local_communicator();
  try {
    NcclCommunicator comm(*bootstrap, 0);
    FAIL() << "constructed an NCCL communicator without a GPU";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rank 0"), std::string::npos) << e.what();
  }
}

TEST(NcclCommunicator, WorldOfOneOnGpu) {
  if (gpu_count() == 0) GTEST_SKIP() << "no GPU on this machine";
  auto bootstrap = make_local_communicator();
  NcclCommunicator comm(*bootstrap, 0);
  std::vector<float> host = {1, 2, 3, 4};
  float* dev = nullptr;
  float* gathered = nullptr;
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&dev), 4 * sizeof(float)), cudaSuccess);
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&gathered), 4 * sizeof(float)), cudaSuccess);
  cudaMemcpy(dev, host.data(), 4 * sizeof(float), cudaMemcpyHostToDevice);
  comm.allreduce(dev, 4, DType::kFloat32, ReduceOp::kSum);
  auto work = comm.allreduce_async(dev, 4, DType::kFloat32, ReduceOp::kMax);
  work->wait();
  comm.allgather(dev, gathered, 4, DType::kFloat32);
  comm.broadcast(gathered, 4, DType::kFloat32, 0);
  comm.barrier();
  cudaDeviceSynchronize();
  std::vector<float> back(4);
  cudaMemcpy(back.data(), gathered, 4 * sizeof(float), cudaMemcpyDeviceToHost);
  EXPECT_EQ(back, host);
  cudaFree(dev);
  cudaFree(gathered);
}

}  // namespace
}  // namespace radclear::worker
