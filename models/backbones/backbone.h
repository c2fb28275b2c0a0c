#pragma once
// The interface every backbone implements, so MoCo, extraction and the MIL
// heads never switch on architecture names (timm's forward_features /
// forward_head split). Submodule names match the PyTorch originals so state
// dicts load strictly in both directions.
#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>
#include <string>

namespace radclear::models {

// Construction-time options shared by every backbone factory.
struct BackboneOptions {
  // Input height = width in pixels. ViT: a multiple of the patch size (16);
  // MambaOut and ResNet: at least 32. Default: 224.
  int64_t image_size = 224;
  // Output width of the classification head. 0 registers an Identity under
  // the head name (timm's num_classes=0). Default: 1000 (ImageNet, so
  // parameter counts and state dicts match the published models).
  int64_t num_classes = 1000;
  // MoCo v3's stop-grad on the patch projection: the ViT linear patch
  // projection (patch_embed.proj) gets requires_grad = false. No effect on
  // conv-stem ViTs, MambaOut or ResNet (as in MoCo v3). Default: false.
  bool stop_grad_conv1 = false;
};

struct BackboneInfo {
  std::string arch;          // registry name: "vit_small", "mambaout_femto", "resnet50"
  std::string family;        // "vit", "mambaout", "resnet", "swin", "vmamba": the MoCo head recipe
  int64_t feature_dim = 0;   // width of forward_features(): what extraction stores
  int64_t image_size = 224;  // input height = width
  // Path of the classification-head submodule ("head" for ViT/MambaOut, "fc"
  // for ResNet, "classifier.head" for VMamba: dots name nested submodules).
  // MoCo replaces it with its projector under the same path, so checkpoint
  // keys read `module.base_encoder.head.0.weight` as in Python.
  std::string head_name = "head";
  int64_t head_in_dim = 0;   // input width of that head
  int64_t num_classes = 0;   // output width of the head as built (0: Identity)
};

class BackboneImpl : public torch::nn::Module {
 public:
  // [B, 3, S, S] -> [B, feature_dim]: pooled features before the head.
  virtual torch::Tensor forward_features(const torch::Tensor& x) = 0;
  // forward_features followed by the head (whatever module is registered
  // under info().head_name).
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  virtual const BackboneInfo& info() const = 0;

  // Runs the submodule currently registered under info().head_name, so a
  // head swapped in with replace_head (MoCo's projector) is the one used.
  // Supported head types: Sequential, Linear, Identity and UnaryModuleImpl;
  // anything else throws InvalidArgument naming the type.
  torch::Tensor forward_head(const torch::Tensor& features);

  // The submodule at the path info().head_name, or nullptr when there is none.
  std::shared_ptr<torch::nn::Module> head_module() const;
  // Registers `head` in place of that submodule, under the same path. Throws
  // InvalidArgument naming the path when it does not exist.
  void replace_head(std::shared_ptr<torch::nn::Module> head);
};

// A module with one tensor in and one out that a backbone can call as its
// head without knowing its concrete type (e.g. MambaOut's MLP head).
class UnaryModuleImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
};

}  // namespace radclear::models
