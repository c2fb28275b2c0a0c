#pragma once
// Weight initialisers the PyTorch backbones share.
#include <torch/types.h>

namespace radclear::models {

// timm's / torch.nn.init's trunc_normal_: N(0, std) restricted to the
// absolute bounds [-2, 2], in place, without recording gradients. Draws
// normally and redraws the (for std 0.02 astronomically rare) values outside
// the bounds; much cheaper than inverse-CDF sampling for 85M weights.
void trunc_normal_(const torch::Tensor& t, double std);

}  // namespace radclear::models
