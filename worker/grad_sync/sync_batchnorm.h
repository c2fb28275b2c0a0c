#pragma once
// BatchNorm with statistics over the global batch (PyTorch's SyncBatchNorm):
// forward allreduces per-channel sum, sum of squares and count; backward
// allreduces the sums of dy and dy * x_hat, so `mpirun -np W` with batch b
// per rank normalises exactly like one process with batch W * b. Parameter
// and buffer names match torch.nn.BatchNorm (weight, bias, running_mean,
// running_var, num_batches_tracked) so checkpoints are interchangeable.
// Without a communicator (or in a world of one, or in eval mode) it is plain
// batch norm.
#include <torch/nn/cloneable.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "worker/comm/communicator.h"

namespace radclear::worker {

struct SyncBatchNormOptions {
  int64_t num_features = 0;
  double eps = 1e-5;           // Default: 1e-5 (torch.nn.BatchNorm)
  double momentum = 0.1;       // running-stat update rate. Default: 0.1
  bool affine = true;          // learnable weight and bias. Default: true
  bool track_running_stats = true;
};

class SyncBatchNormImpl : public torch::nn::Cloneable<SyncBatchNormImpl> {
 public:
  explicit SyncBatchNormImpl(SyncBatchNormOptions options);
  void reset() override;
  // [N, C] or [N, C, *].
  torch::Tensor forward(const torch::Tensor& input);
  // Not owned; must outlive the module's forward calls. nullptr: local BN.
  void set_communicator(Communicator* comm) { comm_ = comm; }

  SyncBatchNormOptions options;
  torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  Communicator* comm_ = nullptr;
};
TORCH_MODULE(SyncBatchNorm);

// The functional core: batch norm in training mode with global statistics.
// Updates running stats in place when they are defined.
torch::Tensor sync_batch_norm(const torch::Tensor& input, const torch::Tensor& weight, const torch::Tensor& bias,
                              torch::Tensor running_mean, torch::Tensor running_var, double momentum, double eps,
                              Communicator& comm);

}  // namespace radclear::worker
