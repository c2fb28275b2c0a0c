#pragma once
// MoCo v3 (reference.md §2 "Model"): base encoder + projector, momentum
// encoder + projector (EMA of the base, no grad) and a predictor on the base
// side. The projector replaces the backbone's classification head (the
// submodule BackboneInfo::head_name), so parameter names read
// `base_encoder.head.0.weight`, `momentum_encoder.head.1.running_mean`,
// `predictor.0.weight` exactly as in the PyTorch original and checkpoints load
// strictly in both directions. Submodules are registered in Python's order
// (base_encoder, momentum_encoder, predictor), so parameters() indexes match
// a Python optimizer state.
//
// The head recipe is chosen by the backbone family (one table, no arch
// names): ViT-like (vit, mambaout, swin, vmamba) 3-layer projector + 2-layer
// predictor; resnet 2-layer projector + 2-layer predictor without last BN.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "models/backbones/backbone.h"
#include "models/layers/autocast.h"

namespace radclear::models {

// Static shape only; T, m and the schedules are per-step inputs.
struct MocoOptions {
  // Output width of projector and predictor (--moco-dim). Default: 256.
  int64_t dim = 256;
  // Hidden width of the MLPs (--moco-mlp-dim). Default: 4096.
  int64_t mlp_dim = 4096;
};

struct MocoHeadRecipe {
  int64_t projector_layers = 3;
  int64_t predictor_layers = 2;
  bool predictor_last_bn = true;
};

// The recipe for BackboneInfo::family; throws InvalidArgument listing the
// known families otherwise.
MocoHeadRecipe moco_head_recipe(const std::string& family);
std::vector<std::string> moco_head_families();

struct MocoOutput {
  torch::Tensor q1, q2;  // predictor outputs [B, dim] (with grad)
  torch::Tensor k1, k2;  // momentum projector outputs [B, dim] (no grad)
};

// Builds one fresh backbone; MoCo calls it twice (base and momentum).
using EncoderFactory = std::function<std::shared_ptr<BackboneImpl>()>;

class MocoImpl : public torch::nn::Module {
 public:
  MocoImpl(const EncoderFactory& make_backbone, const MocoOptions& options);

  // Updates the momentum encoder with m, then q = predictor(base(x)) for both
  // views and k = momentum(x) under no_grad (MoCo v3's forward, without the
  // loss, so keys can be all-gathered first).
  MocoOutput forward(const torch::Tensor& x1, const torch::Tensor& x2, double m);

  torch::Tensor query(const torch::Tensor& x);  // predictor(projector(base features))
  torch::Tensor key(const torch::Tensor& x);    // momentum projector output, no grad

  // param_m <- m * param_m + (1 - m) * param_b for every parameter (buffers
  // keep their own running statistics). Requires 0 <= m <= 1.
  void update_momentum_encoder(double m);

  // Runs both backbones under autocast to `precision` on the device of the
  // input (models/layers/autocast.h): bf16 on CPU or CUDA, fp16 on CUDA
  // only (train it with a LossScaler). Projector, predictor and the loss
  // stay float32, as do all parameters. Default: fp32.
  void set_backbone_precision(Precision precision) { backbone_precision_ = precision; }
  Precision backbone_precision() const { return backbone_precision_; }
  // set_backbone_precision(on ? bf16 : fp32).
  void set_bf16_backbones(bool on) { backbone_precision_ = on ? Precision::kBFloat16 : Precision::kFloat32; }
  bool bf16_backbones() const { return backbone_precision_ == Precision::kBFloat16; }

  BackboneImpl& base_encoder() { return *base_; }
  BackboneImpl& momentum_encoder() { return *momentum_; }
  torch::nn::Sequential& base_projector() { return base_head_; }
  torch::nn::Sequential& predictor() { return predictor_; }
  const MocoOptions& options() const { return options_; }
  const MocoHeadRecipe& recipe() const { return recipe_; }

 private:
  MocoOptions options_;
  MocoHeadRecipe recipe_;
  std::shared_ptr<BackboneImpl> base_;
  std::shared_ptr<BackboneImpl> momentum_;
  torch::nn::Sequential base_head_{nullptr};
  torch::nn::Sequential momentum_head_{nullptr};
  torch::nn::Sequential predictor_{nullptr};
  Precision backbone_precision_ = Precision::kFloat32;

  // forward_features under the precision above, returned as float32.
  torch::Tensor encode(BackboneImpl& encoder, const torch::Tensor& x);
};
TORCH_MODULE(Moco);

}  // namespace radclear::models
