#pragma once
// LARS (You et al., 2017) as MoCo v3 uses it for ViT/ResNet pretraining:
// for weight matrices and kernels (ndim > 1) the update g + wd * p is scaled
// by trust * |p| / |g + wd * p| (1 when either norm is 0); biases and norm
// parameters are not decayed or scaled. Then heavy-ball momentum:
//   mu = momentum * mu + update;   p -= lr * mu
#include <torch/optim/optimizer.h>
#include <torch/types.h>

namespace radclear::worker {

struct LarsOptions : public torch::optim::OptimizerCloneableOptions<LarsOptions> {
  explicit LarsOptions(double lr = 0.0) : lr_(lr) {}
  TORCH_ARG(double, lr);
  TORCH_ARG(double, weight_decay) = 0.0;       // Default: 0
  TORCH_ARG(double, momentum) = 0.9;           // Default: 0.9
  TORCH_ARG(double, trust_coefficient) = 0.001;  // Default: 0.001

 public:
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

struct LarsParamState : public torch::optim::OptimizerCloneableParamState<LarsParamState> {
  TORCH_ARG(torch::Tensor, mu);
};

class Lars : public torch::optim::Optimizer {
 public:
  Lars(std::vector<torch::optim::OptimizerParamGroup> groups, LarsOptions defaults);
  Lars(std::vector<torch::Tensor> params, LarsOptions defaults);
  torch::Tensor step(LossClosure closure = nullptr) override;
};

}  // namespace radclear::worker
