#pragma once
// torch.nn.LayerNorm that always normalises in float32. Under bf16 or fp16
// autocast (pretraining with --precision bf16) the linears and convolutions
// hand it reduced-precision activations; LibTorch 1.13's CPU layer_norm refuses a
// bf16 input with fp32 weights, and statistics in fp32 are what CUDA autocast
// computes anyway. Same parameter names (weight, bias) as nn::LayerNorm.
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace radclear::models {

class LayerNormImpl : public torch::nn::LayerNormImpl {
 public:
  using torch::nn::LayerNormImpl::LayerNormImpl;
  torch::Tensor forward(const torch::Tensor& x) {
    const bool reduced = x.scalar_type() == torch::kBFloat16 || x.scalar_type() == torch::kHalf;
    return torch::nn::LayerNormImpl::forward(reduced ? x.to(torch::kFloat) : x);
  }
};
TORCH_MODULE(LayerNorm);

}  // namespace radclear::models
