#include "models/layers/init.h"

#include <torch/torch.h>

namespace radclear::models {

void trunc_normal_(const torch::Tensor& t, double std) {
  torch::NoGradGuard no_grad;
  t.normal_(0.0, std);
  for (auto out = t.abs() > 2.0; out.any().item<bool>(); out = t.abs() > 2.0) {
    t.masked_scatter_(out, torch::empty({out.sum().item<int64_t>()}, t.options()).normal_(0.0, std));
  }
}

}  // namespace radclear::models
