#pragma once
// The transformer block's MLP in timm's names: fc1 -> GELU -> fc2 (dropout 0
// omitted). ViT and VMamba blocks share it; their checkpoints use these keys.
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace radclear::models {

class TokenMlpImpl : public torch::nn::Module {
 public:
  TokenMlpImpl(int64_t dim, int64_t hidden) {
    fc1 = register_module("fc1", torch::nn::Linear(dim, hidden));
    fc2 = register_module("fc2", torch::nn::Linear(hidden, dim));
  }
  torch::Tensor forward(const torch::Tensor& x) { return fc2->forward(torch::gelu(fc1->forward(x))); }
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(TokenMlp);

}  // namespace radclear::models
