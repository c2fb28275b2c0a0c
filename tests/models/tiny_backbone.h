#pragma once
// A tiny backbone for MoCo tests (Conv2d(3, 8, 4, stride 4) stem, spatial
// mean, Linear(8, 10) head), mirrored by TinyBackbone in
// scripts/golden/checkpoint.py so state dicts move between the two.
#include <torch/torch.h>

#include <memory>
#include <string>

#include "models/backbones/backbone.h"
#include "models/moco/moco.h"

namespace radclear::models::testing {

class TinyBackboneImpl : public BackboneImpl {
 public:
  TinyBackboneImpl(std::string family, std::string head_name) {
    info_.arch = "tiny_" + family;
    info_.family = std::move(family);
    info_.feature_dim = 8;
    info_.image_size = 16;
    info_.head_name = std::move(head_name);
    info_.head_in_dim = 8;
    info_.num_classes = 10;
    stem = register_module("stem", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 8, 4).stride(4)));
    register_module(info_.head_name, torch::nn::Linear(8, 10));
  }
  torch::Tensor forward_features(const torch::Tensor& x) override { return stem->forward(x).mean({2, 3}); }
  torch::Tensor forward(const torch::Tensor& x) override { return forward_head(forward_features(x)); }
  const BackboneInfo& info() const override { return info_; }
  BackboneInfo& mutable_info() { return info_; }

  torch::nn::Conv2d stem{nullptr};

 private:
  BackboneInfo info_;
};

inline EncoderFactory tiny(const std::string& family, const std::string& head = "head") {
  return [=] { return std::make_shared<TinyBackboneImpl>(family, head); };
}

}  // namespace radclear::models::testing
