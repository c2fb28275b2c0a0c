#pragma once
// The interface every backbone implements, so MoCo, extraction and the MIL
// heads never switch on architecture names (timm's forward_features /
// forward_head split). Submodule names match the PyTorch originals so state
// dicts load strictly in both directions.
#include <torch/nn/module.h>
#include <torch/types.h>

#include <string>

namespace radclear::models {

struct BackboneInfo {
  std::string arch;          // registry name: "vit_small", "mambaout_femto", "resnet50"
  std::string family;        // "vit", "mambaout", "resnet": selects the MoCo head recipe
  int64_t feature_dim = 0;   // width of forward_features(): what extraction stores
  int64_t image_size = 224;  // input height = width
  // Name of the classification-head submodule ("head" for ViT/MambaOut, "fc"
  // for ResNet). MoCo replaces it with its projector under the same name, so
  // checkpoint keys read `module.base_encoder.head.0.weight` as in Python.
  std::string head_name = "head";
  int64_t head_in_dim = 0;   // input width of that head
};

class BackboneImpl : public torch::nn::Module {
 public:
  // [B, 3, S, S] -> [B, feature_dim]: pooled features before the head.
  virtual torch::Tensor forward_features(const torch::Tensor& x) = 0;
  // forward_features followed by the head (whatever module is registered
  // under info().head_name).
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  virtual const BackboneInfo& info() const = 0;
};

}  // namespace radclear::models
