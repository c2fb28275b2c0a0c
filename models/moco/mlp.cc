#include "models/moco/mlp.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/linear.h>

#include "common/check.h"
#include "models/layers/batch_norm.h"

namespace radclear::models {

torch::nn::Sequential build_mlp(const MlpOptions& o) {
  if (o.num_layers < 1 || o.input_dim < 1 || o.output_dim < 1 || (o.num_layers > 1 && o.mlp_dim < 1)) {
    throw InvalidArgument(fmt::format(
        "MLP: num_layers ({}), input_dim ({}), mlp_dim ({}) and output_dim ({}) must be positive",
        o.num_layers, o.input_dim, o.mlp_dim, o.output_dim));
  }
  torch::nn::Sequential mlp;
  for (int64_t l = 0; l < o.num_layers; ++l) {
    const int64_t dim1 = l == 0 ? o.input_dim : o.mlp_dim;
    const bool last = l == o.num_layers - 1;
    const int64_t dim2 = last ? o.output_dim : o.mlp_dim;
    mlp->push_back(torch::nn::Linear(torch::nn::LinearOptions(dim1, dim2).bias(false)));
    if (!last) {
      mlp->push_back(BatchNorm(BatchNormOptions{dim2}));
      mlp->push_back(torch::nn::ReLU(torch::nn::ReLUOptions(true)));
    } else if (o.last_bn) {
      BatchNormOptions last{dim2};
      last.affine = false;
      mlp->push_back(BatchNorm(last));
    }
  }
  return mlp;
}

}  // namespace radclear::models
