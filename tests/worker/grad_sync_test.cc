// Distributed training semantics, run by CTest under `mpirun -np 2` and
// `-np 3`: W ranks with b samples each must match one process with W * b.
#include <gtest/gtest.h>
#include <mpi.h>
#include <torch/torch.h>

#include "worker/comm/mpi_communicator.h"
#include "worker/grad_sync/bucketer.h"
#include "worker/grad_sync/grad_syncer.h"
#include "models/layers/batch_norm.h"
#include "worker/grad_sync/comm_reducer.h"

namespace radclear::worker {
namespace {

TEST(Bucketer, ReverseOrderWithCapsAndOversizedTensors) {
  BucketOptions o;
  o.first_cap_bytes = 10;
  o.cap_bytes = 100;
  // params 0..5 sized: 40, 40, 200, 30, 8, 4 bytes
  const auto b = assign_buckets({40, 40, 200, 30, 8, 4}, o);
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b[0], (std::vector<size_t>{5}));         // first bucket closes early: 4 + 8 > 10
  EXPECT_EQ(b[1], (std::vector<size_t>{4, 3}));      // 8 + 30 + 200 > 100
  EXPECT_EQ(b[2], (std::vector<size_t>{2}));         // oversized tensor alone
  EXPECT_EQ(b[3], (std::vector<size_t>{1, 0}));
  EXPECT_TRUE(assign_buckets({}, o).empty());
  // Every parameter exactly once.
  const auto big = assign_buckets(std::vector<size_t>(1000, 4096), {});
  size_t total = 0;
  for (const auto& x : big) total += x.size();
  EXPECT_EQ(total, 1000u);
}

class Distributed : public ::testing::Test {
 protected:
  MpiCommunicator comm;
};

TEST_F(Distributed, SyncBatchNormMatchesOneProcessOnTheGlobalBatch) {
  const int W = comm.world(), r = comm.rank();
  for (auto shape : std::vector<std::vector<int64_t>>{{4, 6}, {3, 5, 4, 4}}) {
    torch::manual_seed(42);
    std::vector<int64_t> global_shape = shape;
    global_shape[0] *= W;
    auto x_all = torch::randn(global_shape) * 3 + 1;
    auto g_all = torch::randn(global_shape);
    const int64_t C = shape[1];
    // One process, whole batch.
    torch::nn::BatchNorm2d dummy(nullptr);
    auto w_ref = (torch::rand({C}) + 0.5).requires_grad_();
    auto b_ref = torch::randn({C}).requires_grad_();
    auto rm_ref = torch::zeros({C}), rv_ref = torch::ones({C});
    auto x_ref = x_all.clone().requires_grad_();
    auto y_ref = torch::batch_norm(x_ref, w_ref, b_ref, rm_ref, rv_ref, true, 0.1, 1e-5, false);
    (y_ref * g_all).sum().backward();
    // This rank's share, synchronised.
    CommBatchStatsReducer reducer(comm);
    models::BatchNorm bn(models::BatchNormOptions{C});
    bn->set_reducer(&reducer);
    {
      torch::NoGradGuard ng;
      bn->weight.copy_(w_ref);
      bn->bias.copy_(b_ref);
    }
    auto x = x_all.narrow(0, r * shape[0], shape[0]).clone().requires_grad_();
    auto y = bn->forward(x);
    (y * g_all.narrow(0, r * shape[0], shape[0])).sum().backward();
    EXPECT_TRUE(torch::allclose(y, y_ref.narrow(0, r * shape[0], shape[0]), 1e-4, 1e-5));
    EXPECT_TRUE(torch::allclose(x.grad(), x_ref.grad().narrow(0, r * shape[0], shape[0]), 1e-4, 1e-5));
    EXPECT_TRUE(torch::allclose(bn->running_mean, rm_ref, 1e-5, 1e-6));
    EXPECT_TRUE(torch::allclose(bn->running_var, rv_ref, 1e-5, 1e-6));
    // Weight/bias gradients are local; their sum over ranks is the whole-batch gradient.
    auto gw = bn->weight.grad().clone(), gb = bn->bias.grad().clone();
    comm.allreduce(gw.data_ptr(), C, DType::kFloat32, ReduceOp::kSum);
    comm.allreduce(gb.data_ptr(), C, DType::kFloat32, ReduceOp::kSum);
    EXPECT_TRUE(torch::allclose(gw, w_ref.grad(), 1e-4, 1e-5));
    EXPECT_TRUE(torch::allclose(gb, b_ref.grad(), 1e-4, 1e-5));
  }
}

struct Net : torch::nn::Module {
  Net() {
    // Registered first, so its bucket is launched last (by finish()).
    unused = register_module("unused", torch::nn::Linear(2, 2));
    a = register_module("a", torch::nn::Linear(5, 64));
    b = register_module("b", torch::nn::Linear(64, 3));
  }
  torch::Tensor forward(torch::Tensor x) { return b->forward(torch::relu(a->forward(x))); }
  torch::nn::Linear a{nullptr}, b{nullptr}, unused{nullptr};
};

TEST_F(Distributed, GradSyncerAveragesGradientsInOverlappedBuckets) {
  const int W = comm.world(), r = comm.rank();
  torch::manual_seed(100 + r);  // different init per rank: the broadcast must fix it
  auto net = std::make_shared<Net>();
  std::vector<torch::Tensor> state;
  for (auto& p : net->parameters()) state.push_back(p);
  broadcast_from_rank0(state, comm);
  // Rank 0's initial weights, for the reference computed locally below.
  auto ref = std::make_shared<Net>();
  {
    torch::NoGradGuard ng;
    auto src = net->parameters(), dst = ref->parameters();
    for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
  }
  std::vector<std::string> names;
  for (auto& kv : net->named_parameters()) names.push_back(kv.key());
  BucketOptions small;
  small.first_cap_bytes = 64;
  small.cap_bytes = 512;
  GradSyncer sync(net->parameters(), names, comm, small);
  ASSERT_GT(sync.bucket_count(), 2);

  torch::manual_seed(7);
  const int64_t b = 4;
  for (int step = 0; step < 3; ++step) {
    auto x_all = torch::randn({W * b, 5}), t_all = torch::randn({W * b, 3});
    net->zero_grad();
    auto loss = torch::mse_loss(net->forward(x_all.narrow(0, r * b, b)), t_all.narrow(0, r * b, b));
    loss.backward();
    const auto stats = sync.finish();
    EXPECT_EQ(stats.buckets, sync.bucket_count());
    EXPECT_GT(stats.launched_in_backward, 0);  // communication started during backward
    // Reference: the gradient of the mean loss over all ranks' shards.
    ref->zero_grad();
    torch::Tensor total;
    for (int q = 0; q < W; ++q) {
      auto lq = torch::mse_loss(ref->forward(x_all.narrow(0, q * b, b)), t_all.narrow(0, q * b, b)) / W;
      total = total.defined() ? total + lq : lq;
    }
    total.backward();
    auto got = net->named_parameters(), want = ref->named_parameters();
    for (const auto& kv : got) {
      if (kv.key().rfind("unused", 0) == 0) {
        EXPECT_TRUE(torch::equal(kv.value().grad(), torch::zeros_like(kv.value()))) << kv.key();
        continue;
      }
      EXPECT_TRUE(torch::allclose(kv.value().grad(), want[kv.key()].grad(), 1e-5, 1e-6)) << kv.key();
    }
    // Same update everywhere keeps the replicas identical.
    torch::NoGradGuard ng;
    for (auto& p : net->parameters()) p.sub_(p.grad() * 0.1);
    for (auto& p : ref->parameters()) {
      if (p.grad().defined()) p.sub_(p.grad() * 0.1);
    }
  }
}

}  // namespace
}  // namespace radclear::worker
