#pragma once
// Averages gradients across ranks while backward is still running, as
// PyTorch DDP and Horovod do: each parameter's gradient hook copies the
// gradient into its bucket; a full bucket's allreduce starts at once (in
// bucket order, so every rank issues the same collectives in the same
// order); finish() waits only for what is still in flight and writes the
// averages into `.grad`. It sees the transport only through Communicator.
//
// Use: GradSyncer sync(params, names, comm);  per step: loss.backward();
// sync.finish(); optimizer.step().  One backward per finish().
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "worker/comm/communicator.h"
#include "worker/grad_sync/bucketer.h"

namespace radclear::worker {

struct GradSyncStats {
  double wait_seconds = 0;   // time finish() waited for outstanding buckets
  int buckets = 0;
  int launched_in_backward = 0;  // buckets whose allreduce started before finish()
};

class GradSyncer {
 public:
  // `params`: the trainable parameters (same order on every rank), `names`
  // their names for error messages. Registers the gradient hooks.
  GradSyncer(std::vector<torch::Tensor> params, std::vector<std::string> names, Communicator& comm,
             BucketOptions options = {});
  ~GradSyncer();
  GradSyncer(const GradSyncer&) = delete;
  GradSyncer& operator=(const GradSyncer&) = delete;

  // Waits for every bucket (launching those with parameters that got no
  // gradient this step, as zeros), then sets each .grad to the average.
  GradSyncStats finish();

  int bucket_count() const;

 private:
  struct State;
  std::shared_ptr<State> state_;  // shared with the hooks
};

// Copies rank 0's values of `tensors` (parameters and buffers) to all ranks.
void broadcast_from_rank0(const std::vector<torch::Tensor>& tensors, Communicator& comm);

// The Communicator element type of a tensor; throws for others.
DType comm_dtype(const torch::Tensor& t);

}  // namespace radclear::worker
