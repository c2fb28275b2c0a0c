#pragma once
// The batch norm every radclear model uses (1d and 2d alike). Alone it is
// torch.nn.BatchNorm; given a BatchStatsReducer it becomes PyTorch's
// SyncBatchNorm: forward sums per-channel sum, sum of squares and count over
// the ranks, backward sums dy and dy * x_hat, so `mpirun -np W` with batch b
// per rank normalises exactly like one process with batch W * b. Parameter
// and buffer names match torch.nn.BatchNorm (weight, bias, running_mean,
// running_var, num_batches_tracked) so checkpoints are interchangeable.
// models/ knows no transport: the worker passes an adapter over its
// Communicator.
#include <torch/nn/cloneable.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>


namespace radclear::models {

// Sums float64 values over all ranks, in place (a Communicator adapter).
class BatchStatsReducer {
 public:
  virtual ~BatchStatsReducer() = default;
  virtual int world() const = 0;
  virtual int rank() const = 0;
  virtual void allreduce_sum(double* data, size_t count) = 0;
};

struct BatchNormOptions {
  int64_t num_features = 0;
  double eps = 1e-5;           // Default: 1e-5 (torch.nn.BatchNorm)
  double momentum = 0.1;       // running-stat update rate. Default: 0.1
  bool affine = true;          // learnable weight and bias. Default: true
  bool track_running_stats = true;
};

class BatchNormImpl : public torch::nn::Cloneable<BatchNormImpl> {
 public:
  explicit BatchNormImpl(BatchNormOptions options);
  void reset() override;
  // [N, C] or [N, C, *].
  torch::Tensor forward(const torch::Tensor& input);
  // Not owned; must outlive the module's forward calls. nullptr: local BN.
  void set_reducer(BatchStatsReducer* reducer) { reducer_ = reducer; }

  BatchNormOptions options;
  torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  BatchStatsReducer* reducer_ = nullptr;
};
TORCH_MODULE(BatchNorm);

// The functional core: batch norm in training mode with global statistics.
// Updates running stats in place when they are defined.
torch::Tensor sync_batch_norm(const torch::Tensor& input, const torch::Tensor& weight, const torch::Tensor& bias,
                              torch::Tensor running_mean, torch::Tensor running_var, double momentum, double eps,
                              BatchStatsReducer& reducer);

// Makes every BatchNorm in `module` synchronise through `reducer` (nullptr:
// back to local statistics). Returns how many were set.
int set_batch_stats_reducer(torch::nn::Module& module, BatchStatsReducer* reducer);

}  // namespace radclear::models
