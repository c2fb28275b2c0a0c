#include "models/backbones/resnet.h"

#include <torch/torch.h>

#include <vector>

#include <fmt/format.h>

#include "common/check.h"
#include "models/backbones/input_size.h"
#include "models/backbones/registry.h"
#include "models/layers/batch_norm.h"

namespace radclear::models {
namespace nn = torch::nn;

namespace {

constexpr int64_t kExpansion = 4;

nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride = 1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(k / 2).bias(false));
}

class BottleneckImpl : public nn::Module {
 public:
  BottleneckImpl(int64_t in, int64_t planes, int64_t stride) {
    const int64_t out = planes * kExpansion;
    conv1 = register_module("conv1", conv(in, planes, 1));
    bn1 = register_module("bn1", BatchNorm(BatchNormOptions{planes}));
    conv2 = register_module("conv2", conv(planes, planes, 3, stride));
    bn2 = register_module("bn2", BatchNorm(BatchNormOptions{planes}));
    conv3 = register_module("conv3", conv(planes, out, 1));
    bn3 = register_module("bn3", BatchNorm(BatchNormOptions{out}));
    if (stride != 1 || in != out) {
      downsample = register_module("downsample", nn::Sequential(conv(in, out, 1, stride), BatchNorm(BatchNormOptions{out})));
    }
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto h = torch::relu(bn1->forward(conv1->forward(x)));
    h = torch::relu(bn2->forward(conv2->forward(h)));
    h = bn3->forward(conv3->forward(h));
    return torch::relu(h + (downsample ? downsample->forward(x) : x));
  }
  nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  BatchNorm bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  nn::Sequential downsample{nullptr};
};
TORCH_MODULE(Bottleneck);

class ResNetImpl : public BackboneImpl {
 public:
  ResNetImpl(const ResNetConfig& c, const BackboneOptions& o) {
    const int64_t width = 512 * kExpansion;
    info_.arch = c.arch;
    info_.family = "resnet";
    info_.feature_dim = width;
    info_.image_size = o.image_size;
    info_.head_name = "fc";
    info_.head_in_dim = width;
    info_.num_classes = o.num_classes;

    conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(3, 64, 7).stride(2).padding(3).bias(false)));
    bn1 = register_module("bn1", BatchNorm(BatchNormOptions{64}));
    int64_t in = 64;
    for (int s = 0; s < 4; ++s) {
      const int64_t planes = 64 << s;
      nn::Sequential layer;
      for (int64_t j = 0; j < c.blocks[s]; ++j) {
        layer->push_back(Bottleneck(in, planes, (j == 0 && s > 0) ? 2 : 1));
        in = planes * kExpansion;
      }
      layers_.push_back(register_module(fmt::format("layer{}", s + 1), layer));
    }
    if (o.num_classes > 0) {
      register_module("fc", nn::Linear(width, o.num_classes));
    } else {
      register_module("fc", nn::Identity());
    }
    init_weights();
  }

  torch::Tensor forward_features(const torch::Tensor& x) override {
    check_image_batch(info_.arch, x.sizes().vec());
    auto h = torch::relu(bn1->forward(conv1->forward(x)));
    h = torch::max_pool2d(h, 3, 2, 1);
    for (auto& layer : layers_) h = layer->forward(h);
    return h.mean({2, 3});
  }
  torch::Tensor forward(const torch::Tensor& x) override { return forward_head(forward_features(x)); }
  const BackboneInfo& info() const override { return info_; }

  nn::Conv2d conv1{nullptr};
  BatchNorm bn1{nullptr};

 private:
  void init_weights() {
    torch::NoGradGuard no_grad;
    for (const auto& m : modules(/*include_self=*/false)) {
      if (auto* c = m->as<nn::Conv2d>()) {
        nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
      } else if (auto* bn = m->as<BatchNormImpl>()) {
        nn::init::ones_(bn->weight);
        nn::init::zeros_(bn->bias);
      }
    }
    for (const auto& m : modules(/*include_self=*/false)) {
      if (auto* block = m->as<Bottleneck>()) nn::init::zeros_(block->bn3->weight);
    }
  }

  std::vector<nn::Sequential> layers_;
  BackboneInfo info_;
};

}  // namespace

std::shared_ptr<BackboneImpl> make_resnet(const ResNetConfig& c, const BackboneOptions& o) {
  for (int s = 0; s < 4; ++s) {
    if (c.blocks[s] <= 0) {
      throw InvalidArgument(fmt::format("{}: stage {} has {} blocks; need at least 1", c.arch, s + 1, c.blocks[s]));
    }
  }
  check_downsamples_32x(c.arch, o.image_size);
  return std::make_shared<ResNetImpl>(c, o);
}

void register_resnet_backbones(BackboneRegistry& registry) {
  struct Variant {
    ResNetConfig config;
    const char* description;
  };
  const Variant variants[] = {
      {{"resnet50", {3, 4, 6, 3}}, "torchvision ResNet-50, zero-init residual BN (25.6M)"},
  };
  for (const auto& v : variants) {
    const ResNetConfig config = v.config;
    registry.add(config.arch, v.description,
                 [config](const BackboneOptions& o) { return make_resnet(config, o); });
  }
}

}  // namespace radclear::models
