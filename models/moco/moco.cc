#include "models/moco/moco.h"

#include <torch/autograd.h>

#include <map>

#include <fmt/ranges.h>

#include "common/check.h"
#include "models/layers/autocast.h"
#include "models/moco/mlp.h"

namespace radclear::models {
namespace {

const std::map<std::string, MocoHeadRecipe>& recipes() {
  static const std::map<std::string, MocoHeadRecipe> table = {
      {"vit", {3, 2, true}},
      {"mambaout", {3, 2, true}},
      {"swin", {3, 2, true}},
      {"vmamba", {3, 2, true}},
      {"resnet", {2, 2, false}},
  };
  return table;
}

// Replaces the backbone's head submodule by `projector`, keeping its name.
torch::nn::Sequential install_projector(BackboneImpl& encoder, torch::nn::Sequential projector,
                                        const char* which) {
  const auto& info = encoder.info();
  if (!encoder.head_module()) {
    throw InvalidArgument(fmt::format("MoCo: {} '{}' has no head submodule named '{}'", which, info.arch,
                                      info.head_name));
  }
  encoder.replace_head(projector.ptr());
  return projector;
}

}  // namespace

MocoHeadRecipe moco_head_recipe(const std::string& family) {
  const auto it = recipes().find(family);
  if (it == recipes().end()) {
    throw InvalidArgument(fmt::format("MoCo: no head recipe for backbone family '{}' (known: {})", family,
                                      fmt::join(moco_head_families(), ", ")));
  }
  return it->second;
}

std::vector<std::string> moco_head_families() {
  std::vector<std::string> names;
  for (const auto& [name, recipe] : recipes()) names.push_back(name);
  return names;
}

MocoImpl::MocoImpl(const EncoderFactory& make_backbone, const MocoOptions& options)
    : options_(options) {
  if (options.dim < 1 || options.mlp_dim < 1) {
    throw InvalidArgument(
        fmt::format("MoCo: dim ({}) and mlp_dim ({}) must be positive", options.dim, options.mlp_dim));
  }
  auto base = make_backbone();
  auto momentum = make_backbone();
  RADCLEAR_CHECK(base && momentum, "backbone factory returned null");
  const BackboneInfo info = base->info();
  if (momentum->info().arch != info.arch) {
    throw InvalidArgument(fmt::format("MoCo: backbone factory built '{}' then '{}'", info.arch,
                                      momentum->info().arch));
  }
  if (info.head_in_dim < 1) {
    throw InvalidArgument(fmt::format("MoCo: backbone '{}' reports head_in_dim {}", info.arch, info.head_in_dim));
  }
  recipe_ = moco_head_recipe(info.family);

  const MlpOptions projector{recipe_.projector_layers, info.head_in_dim, options.mlp_dim, options.dim, true};
  const MlpOptions predictor{recipe_.predictor_layers, options.dim, options.mlp_dim, options.dim,
                             recipe_.predictor_last_bn};
  base_head_ = install_projector(*base, build_mlp(projector), "base encoder");
  momentum_head_ = install_projector(*momentum, build_mlp(projector), "momentum encoder");
  base_ = register_module("base_encoder", base);
  momentum_ = register_module("momentum_encoder", momentum);
  predictor_ = register_module("predictor", build_mlp(predictor));

  // The momentum encoder starts as a copy of the base and is never trained.
  torch::NoGradGuard no_grad;
  const auto base_params = base_->parameters();
  auto momentum_params = momentum_->parameters();
  RADCLEAR_CHECK_EQ(base_params.size(), momentum_params.size(), "base vs momentum parameter count");
  for (size_t i = 0; i < base_params.size(); ++i) {
    momentum_params[i].copy_(base_params[i]);
    momentum_params[i].set_requires_grad(false);
  }
}

torch::Tensor MocoImpl::encode(BackboneImpl& encoder, const torch::Tensor& x) {
  AutocastScope autocast(x.device().type(), backbone_precision_);
  return encoder.forward_features(x).to(torch::kFloat);
}

torch::Tensor MocoImpl::query(const torch::Tensor& x) {
  return predictor_->forward(base_head_->forward(encode(*base_, x)));
}

torch::Tensor MocoImpl::key(const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  return momentum_head_->forward(encode(*momentum_, x));
}

void MocoImpl::update_momentum_encoder(double m) {
  if (!(m >= 0.0 && m <= 1.0)) {
    throw InvalidArgument(fmt::format("MoCo: momentum must be in [0, 1], got {}", m));
  }
  torch::NoGradGuard no_grad;
  const auto base_params = base_->parameters();
  auto momentum_params = momentum_->parameters();
  for (size_t i = 0; i < base_params.size(); ++i) {
    momentum_params[i].mul_(m).add_(base_params[i], 1.0 - m);
  }
}

MocoOutput MocoImpl::forward(const torch::Tensor& x1, const torch::Tensor& x2, double m) {
  MocoOutput out;
  out.q1 = query(x1);
  out.q2 = query(x2);
  update_momentum_encoder(m);
  out.k1 = key(x1);
  out.k2 = key(x2);
  return out;
}

}  // namespace radclear::models
