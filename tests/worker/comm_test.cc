// The MPI communicator, run by CTest under `mpirun -np 2` and `-np 3`
// (gloo's habit: sweep element counts, including 0 and sizes that do not
// divide evenly). Every rank runs every test; any rank failing fails the run.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdint>
#include <numeric>
#include <vector>

#include "common/check.h"
#include "worker/comm/mpi_communicator.h"

namespace radclear::worker {
namespace {

const std::vector<size_t> kCounts = {0, 1, 7, 1000, 65537};

TEST(MpiCommunicator, AllreduceSumMaxMin) {
  MpiCommunicator comm;
  const int r = comm.rank(), w = comm.world();
  for (size_t n : kCounts) {
    std::vector<float> sum(n), mx(n);
    std::vector<int64_t> mn(n);
    for (size_t i = 0; i < n; ++i) {
      sum[i] = static_cast<float>(r + 1) * static_cast<float>(i % 13);
      mx[i] = static_cast<float>((r * 7 + i) % 5);
      mn[i] = static_cast<int64_t>(r) - static_cast<int64_t>(i);
    }
    comm.allreduce(sum.data(), n, DType::kFloat32, ReduceOp::kSum);
    comm.allreduce(mx.data(), n, DType::kFloat32, ReduceOp::kMax);
    comm.allreduce(mn.data(), n, DType::kInt64, ReduceOp::kMin);
    const float ranks_sum = static_cast<float>(w * (w + 1) / 2);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_FLOAT_EQ(sum[i], ranks_sum * static_cast<float>(i % 13)) << "n=" << n << " i=" << i;
      float expect_max = 0;
      for (int q = 0; q < w; ++q) expect_max = std::max(expect_max, static_cast<float>((q * 7 + i) % 5));
      ASSERT_EQ(mx[i], expect_max);
      ASSERT_EQ(mn[i], -static_cast<int64_t>(i));
    }
  }
}

TEST(MpiCommunicator, AsyncAllreduceOverlapsAndCompletes) {
  MpiCommunicator comm;
  // Several buckets in flight at once, waited in reverse order.
  std::vector<std::vector<double>> buckets(4);
  std::vector<std::unique_ptr<Work>> work;
  for (size_t b = 0; b < buckets.size(); ++b) {
    buckets[b].assign(1000 + 333 * b, static_cast<double>(comm.rank() + b));
    work.push_back(comm.allreduce_async(buckets[b].data(), buckets[b].size(), DType::kFloat64, ReduceOp::kSum));
  }
  for (size_t b = buckets.size(); b-- > 0;) work[b]->wait();
  const int w = comm.world();
  for (size_t b = 0; b < buckets.size(); ++b) {
    const double expect = w * (w - 1) / 2.0 + static_cast<double>(w * b);
    for (double v : buckets[b]) ASSERT_DOUBLE_EQ(v, expect);
  }
  auto empty = comm.allreduce_async(nullptr, 0, DType::kFloat32, ReduceOp::kSum);
  EXPECT_TRUE(empty->test());
}

TEST(MpiCommunicator, AllgatherPlacesRankBlocksInOrder) {
  MpiCommunicator comm;
  for (size_t n : kCounts) {
    std::vector<int32_t> send(n), recv(n * comm.world(), -1);
    for (size_t i = 0; i < n; ++i) send[i] = comm.rank() * 100000 + static_cast<int32_t>(i);
    comm.allgather(send.data(), recv.data(), n, DType::kInt32);
    for (int q = 0; q < comm.world(); ++q) {
      for (size_t i = 0; i < n; ++i) ASSERT_EQ(recv[q * n + i], q * 100000 + static_cast<int32_t>(i));
    }
  }
}

TEST(MpiCommunicator, BroadcastFromEveryRoot) {
  MpiCommunicator comm;
  for (int root = 0; root < comm.world(); ++root) {
    std::vector<uint8_t> buf(129, static_cast<uint8_t>(comm.rank()));
    comm.broadcast(buf.data(), buf.size(), DType::kUInt8, root);
    for (uint8_t v : buf) ASSERT_EQ(v, root);
  }
  EXPECT_THROW(comm.broadcast(nullptr, 0, DType::kUInt8, comm.world()), Error);
  comm.barrier();
}

TEST(MpiCommunicator, HalfTypesAreRefusedClearly) {
  MpiCommunicator comm;
  uint16_t x = 0;
  EXPECT_THROW(comm.allreduce(&x, 1, DType::kFloat16, ReduceOp::kSum), InvalidArgument);
}

TEST(LocalCommunicator, IsTheWorldOfOne) {
  auto comm = make_local_communicator();
  EXPECT_EQ(comm->world(), 1);
  std::vector<float> v = {1, 2, 3}, out(3);
  comm->allreduce(v.data(), 3, DType::kFloat32, ReduceOp::kSum);
  EXPECT_EQ(v, (std::vector<float>{1, 2, 3}));
  comm->allgather(v.data(), out.data(), 3, DType::kFloat32);
  EXPECT_EQ(out, v);
}

}  // namespace
}  // namespace radclear::worker
