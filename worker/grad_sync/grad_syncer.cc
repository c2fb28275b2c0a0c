#include "worker/grad_sync/grad_syncer.h"

#include <torch/torch.h>

#include <chrono>
#include <mutex>

#include "common/check.h"

namespace radclear::worker {

DType comm_dtype(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat32: return DType::kFloat32;
    case torch::kFloat64: return DType::kFloat64;
    case torch::kFloat16: return DType::kFloat16;
    case torch::kBFloat16: return DType::kBFloat16;
    case torch::kInt32: return DType::kInt32;
    case torch::kInt64: return DType::kInt64;
    case torch::kUInt8: return DType::kUInt8;
    default: throw InvalidArgument(fmt::format("cannot communicate tensors of type {}", c10::toString(t.scalar_type())));
  }
}

struct GradSyncer::State {
  struct Bucket {
    std::vector<size_t> params;        // indices into State::params
    std::vector<int64_t> offsets;      // element offset of each param in `flat`
    torch::Tensor flat;                // the bucket's contiguous buffer
    int pending = 0;                   // params still without a gradient this step
    bool launched = false;
    std::unique_ptr<Work> work;
  };
  std::vector<torch::Tensor> params;
  std::vector<std::string> names;
  Communicator* comm = nullptr;
  std::vector<Bucket> buckets;
  std::vector<size_t> bucket_of;   // param -> bucket
  std::vector<size_t> slot_of;     // param -> position inside its bucket
  std::vector<bool> got_grad;      // this step
  size_t next_launch = 0;
  int launched_in_backward = 0;
  std::mutex mu;

  void reset_step() {
    for (auto& b : buckets) {
      b.pending = static_cast<int>(b.params.size());
      b.launched = false;
      b.work.reset();
    }
    std::fill(got_grad.begin(), got_grad.end(), false);
    next_launch = 0;
    launched_in_backward = 0;
  }

  // Launches ready buckets in order; a bucket waits for its predecessors so
  // all ranks issue collectives in the same sequence.
  void launch_ready() {
    while (next_launch < buckets.size() && buckets[next_launch].pending == 0) {
      Bucket& b = buckets[next_launch];
      b.work = comm->allreduce_async(b.flat.data_ptr(), static_cast<size_t>(b.flat.numel()), comm_dtype(b.flat),
                                     ReduceOp::kSum);
      b.launched = true;
      ++next_launch;
    }
  }

  void on_grad(size_t p, const torch::Tensor& grad) {
    std::lock_guard<std::mutex> lock(mu);
    RADCLEAR_CHECK(!got_grad[p], "rank {}: parameter '{}' got two gradients in one step; call finish() after each "
                   "backward", comm->rank(), names[p]);
    got_grad[p] = true;
    Bucket& b = buckets[bucket_of[p]];
    const size_t slot = slot_of[p];
    b.flat.narrow(0, b.offsets[slot], params[p].numel()).copy_(grad.reshape({-1}));
    --b.pending;
    const size_t before = next_launch;
    launch_ready();
    launched_in_backward += static_cast<int>(next_launch - before);
  }
};

GradSyncer::GradSyncer(std::vector<torch::Tensor> params, std::vector<std::string> names, Communicator& comm,
                       BucketOptions options)
    : state_(std::make_shared<State>()) {
  RADCLEAR_CHECK_EQ(params.size(), names.size(), "one name per parameter");
  State& s = *state_;
  s.params = std::move(params);
  s.names = std::move(names);
  s.comm = &comm;
  std::vector<size_t> sizes;
  for (size_t i = 0; i < s.params.size(); ++i) {
    const auto& p = s.params[i];
    RADCLEAR_CHECK(p.requires_grad(), "parameter '{}' does not require grad", s.names[i]);
    RADCLEAR_CHECK(p.scalar_type() == s.params[0].scalar_type(), "parameter '{}' is {} but '{}' is {}", s.names[i],
                   c10::toString(p.scalar_type()), s.names[0], c10::toString(s.params[0].scalar_type()));
    sizes.push_back(static_cast<size_t>(p.numel()) * p.element_size());
  }
  s.bucket_of.resize(s.params.size());
  s.slot_of.resize(s.params.size());
  s.got_grad.resize(s.params.size());
  for (auto& ids : assign_buckets(sizes, options)) {
    State::Bucket b;
    int64_t numel = 0;
    for (size_t slot = 0; slot < ids.size(); ++slot) {
      s.bucket_of[ids[slot]] = s.buckets.size();
      s.slot_of[ids[slot]] = slot;
      b.offsets.push_back(numel);
      numel += s.params[ids[slot]].numel();
    }
    b.params = std::move(ids);
    b.flat = torch::zeros({numel}, s.params[b.params[0]].options().requires_grad(false));
    s.buckets.push_back(std::move(b));
  }
  s.reset_step();
  std::weak_ptr<State> weak = state_;
  for (size_t i = 0; i < s.params.size(); ++i) {
    s.params[i].register_hook([weak, i](torch::Tensor grad) {
      if (auto st = weak.lock()) st->on_grad(i, grad);
      return grad;
    });
  }
}

GradSyncer::~GradSyncer() {
  // Outstanding collectives must finish before their buffers go away.
  for (auto& b : state_->buckets) {
    if (b.work) b.work->wait();
  }
}

int GradSyncer::bucket_count() const { return static_cast<int>(state_->buckets.size()); }

GradSyncStats GradSyncer::finish() {
  State& s = *state_;
  std::lock_guard<std::mutex> lock(s.mu);
  GradSyncStats stats;
  stats.buckets = static_cast<int>(s.buckets.size());
  stats.launched_in_backward = s.launched_in_backward;
  // Parameters unused this step contribute zeros (every rank must still
  // join every bucket's collective).
  for (size_t p = 0; p < s.params.size(); ++p) {
    if (s.got_grad[p]) continue;
    auto& b = s.buckets[s.bucket_of[p]];
    b.flat.narrow(0, b.offsets[s.slot_of[p]], s.params[p].numel()).zero_();
    --b.pending;
    s.got_grad[p] = true;
  }
  s.launch_ready();
  const auto start = std::chrono::steady_clock::now();
  for (auto& b : s.buckets) b.work->wait();
  stats.wait_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double scale = 1.0 / s.comm->world();
  torch::NoGradGuard no_grad;
  for (auto& b : s.buckets) {
    b.flat.mul_(scale);
    for (size_t slot = 0; slot < b.params.size(); ++slot) {
      auto& p = s.params[b.params[slot]];
      auto avg = b.flat.narrow(0, b.offsets[slot], p.numel()).view(p.sizes());
      if (p.grad().defined()) {
        p.mutable_grad().copy_(avg);
      } else {
        p.mutable_grad() = avg.clone();
      }
    }
  }
  s.reset_step();
  return stats;
}

void broadcast_from_rank0(const std::vector<torch::Tensor>& tensors, Communicator& comm) {
  if (comm.world() == 1) return;
  torch::NoGradGuard no_grad;
  for (const auto& t : tensors) {
    RADCLEAR_CHECK(t.is_contiguous(), "broadcast needs contiguous tensors");
    comm.broadcast(t.data_ptr(), static_cast<size_t>(t.numel()), comm_dtype(t), 0);
  }
}

}  // namespace radclear::worker
