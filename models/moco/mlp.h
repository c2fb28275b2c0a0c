#pragma once
// MoCo v3's MLP builder (reference.md §2 "Model"): for each hidden layer
// Linear(no bias) -> BatchNorm1d -> ReLU; the last layer is Linear(no bias)
// followed by BatchNorm1d(affine=false) when last_bn. Children are named
// "0", "1", ... as in nn.Sequential, so keys read `head.0.weight`,
// `head.1.running_mean`, ... exactly as the PyTorch original.
#include <torch/nn/modules/container/sequential.h>

#include <cstdint>

namespace radclear::models {

struct MlpOptions {
  // Number of Linear layers (>= 1).
  int64_t num_layers = 2;
  int64_t input_dim = 0;
  // Width of the hidden layers.
  int64_t mlp_dim = 4096;
  int64_t output_dim = 256;
  // Append BatchNorm1d(output_dim, affine=false) after the last Linear.
  bool last_bn = true;
};

// Throws InvalidArgument naming the field when a width or layer count is not positive.
torch::nn::Sequential build_mlp(const MlpOptions& options);

}  // namespace radclear::models
