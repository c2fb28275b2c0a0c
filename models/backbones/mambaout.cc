#include "models/backbones/mambaout.h"

#include <torch/torch.h>

#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "common/check.h"
#include "models/backbones/input_size.h"
#include "models/backbones/registry.h"
#include "models/layers/init.h"
#include "models/layers/layer_norm.h"

namespace radclear::models {
namespace nn = torch::nn;

namespace {

constexpr double kLayerNormEps = 1e-6;

LayerNorm layer_norm(int64_t dim) { return LayerNorm(nn::LayerNormOptions({dim}).eps(kLayerNormEps)); }

// NCHW <-> NHWC.
torch::Tensor to_channels_last(const torch::Tensor& x) { return x.permute({0, 2, 3, 1}); }
torch::Tensor to_channels_first(const torch::Tensor& x) { return x.permute({0, 3, 1, 2}); }

nn::Conv2d conv3x3_s2(int64_t in, int64_t out) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(2).padding(1));
}

// Stem: NCHW image -> NHWC features at 1/4 resolution.
class StemImpl : public nn::Module {
 public:
  StemImpl(int64_t out) {
    conv1 = register_module("conv1", conv3x3_s2(3, out / 2));
    norm1 = register_module("norm1", layer_norm(out / 2));
    conv2 = register_module("conv2", conv3x3_s2(out / 2, out));
    norm2 = register_module("norm2", layer_norm(out));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto h = torch::gelu(to_channels_first(norm1->forward(to_channels_last(conv1->forward(x)))));
    return norm2->forward(to_channels_last(conv2->forward(h)));
  }
  nn::Conv2d conv1{nullptr}, conv2{nullptr};
  LayerNorm norm1{nullptr}, norm2{nullptr};
};
TORCH_MODULE(Stem);

// NHWC -> NHWC at half resolution.
class DownsampleImpl : public nn::Module {
 public:
  DownsampleImpl(int64_t in, int64_t out) {
    conv = register_module("conv", conv3x3_s2(in, out));
    norm = register_module("norm", layer_norm(out));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return norm->forward(to_channels_last(conv->forward(to_channels_first(x))));
  }
  nn::Conv2d conv{nullptr};
  LayerNorm norm{nullptr};
};
TORCH_MODULE(Downsample);

// Gated CNN block on NHWC: fc1 -> split (g, i, c); c through a depthwise
// conv; fc2(GELU(g) * [i, c]) + x.
class GatedCnnBlockImpl : public nn::Module {
 public:
  GatedCnnBlockImpl(int64_t dim, const MambaOutConfig& c)
      : hidden_(static_cast<int64_t>(c.expansion_ratio * double(dim))),
        conv_channels_(static_cast<int64_t>(c.conv_ratio * double(dim))) {
    norm = register_module("norm", layer_norm(dim));
    fc1 = register_module("fc1", nn::Linear(dim, 2 * hidden_));
    conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(conv_channels_, conv_channels_, c.kernel_size)
                                                  .padding(c.kernel_size / 2)
                                                  .groups(conv_channels_)));
    fc2 = register_module("fc2", nn::Linear(hidden_, dim));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    const auto parts = torch::split_with_sizes(fc1->forward(norm->forward(x)),
                                               {hidden_, hidden_ - conv_channels_, conv_channels_}, -1);
    const auto c = to_channels_last(conv->forward(to_channels_first(parts[2])));
    return fc2->forward(torch::gelu(parts[0]) * torch::cat({parts[1], c}, -1)) + x;
  }
  LayerNorm norm{nullptr};
  nn::Linear fc1{nullptr}, fc2{nullptr};
  nn::Conv2d conv{nullptr};

 private:
  int64_t hidden_, conv_channels_;
};
TORCH_MODULE(GatedCnnBlock);

// MlpHead: fc1 -> GELU -> norm -> fc2 (dropout 0 omitted).
class MlpHeadImpl : public UnaryModuleImpl {
 public:
  MlpHeadImpl(int64_t dim, int64_t hidden, int64_t num_classes) {
    fc1 = register_module("fc1", nn::Linear(dim, hidden));
    norm = register_module("norm", layer_norm(hidden));
    fc2 = register_module("fc2", nn::Linear(hidden, num_classes));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    return fc2->forward(norm->forward(torch::gelu(fc1->forward(x))));
  }
  nn::Linear fc1{nullptr}, fc2{nullptr};
  LayerNorm norm{nullptr};
};

class MambaOutImpl : public BackboneImpl {
 public:
  MambaOutImpl(const MambaOutConfig& c, const BackboneOptions& o) {
    const int64_t width = c.dims[3];
    info_.arch = c.arch;
    info_.family = "mambaout";
    info_.feature_dim = width;
    info_.image_size = o.image_size;
    info_.head_name = "head";
    info_.head_in_dim = width;
    info_.num_classes = o.num_classes;

    downsample_layers = register_module("downsample_layers", nn::ModuleList());
    stages = register_module("stages", nn::ModuleList());
    stem_ = Stem(c.dims[0]);
    downsample_layers->push_back(stem_);
    for (int s = 1; s < 4; ++s) {
      downsamples_.push_back(Downsample(c.dims[s - 1], c.dims[s]));
      downsample_layers->push_back(downsamples_.back());
    }
    for (int s = 0; s < 4; ++s) {
      nn::Sequential stage;
      for (int64_t j = 0; j < c.depths[s]; ++j) stage->push_back(GatedCnnBlock(c.dims[s], c));
      stage_list_.push_back(stage);
      stages->push_back(stage);
    }
    norm = register_module("norm", layer_norm(width));
    if (o.num_classes > 0) {
      register_module("head", std::make_shared<MlpHeadImpl>(
                                  width, static_cast<int64_t>(c.head_mlp_ratio * double(width)), o.num_classes));
    } else {
      register_module("head", nn::Identity());
    }
    init_weights();
  }

  torch::Tensor forward_features(const torch::Tensor& x) override {
    check_image_batch(info_.arch, x.sizes().vec());
    auto h = stage_list_[0]->forward(stem_->forward(x));
    for (size_t s = 1; s < 4; ++s) h = stage_list_[s]->forward(downsamples_[s - 1]->forward(h));
    return norm->forward(h.mean({1, 2}));
  }
  torch::Tensor forward(const torch::Tensor& x) override { return forward_head(forward_features(x)); }
  const BackboneInfo& info() const override { return info_; }

  nn::ModuleList downsample_layers{nullptr}, stages{nullptr};
  LayerNorm norm{nullptr};

 private:
  void init_weights() {
    torch::NoGradGuard no_grad;
    for (const auto& item : modules(/*include_self=*/false)) {
      torch::Tensor weight, bias;
      if (auto* linear = item->as<nn::Linear>()) {
        weight = linear->weight;
        bias = linear->bias;
      } else if (auto* conv = item->as<nn::Conv2d>()) {
        weight = conv->weight;
        bias = conv->bias;
      } else {
        continue;
      }
      trunc_normal_(weight, 0.02);
      if (bias.defined()) bias.zero_();
    }
  }

  Stem stem_{nullptr};
  std::vector<Downsample> downsamples_;
  std::vector<nn::Sequential> stage_list_;
  BackboneInfo info_;
};

}  // namespace

std::shared_ptr<BackboneImpl> make_mambaout(const MambaOutConfig& c, const BackboneOptions& o) {
  for (int s = 0; s < 4; ++s) {
    const auto hidden = static_cast<int64_t>(c.expansion_ratio * double(c.dims[s]));
    const auto conv = static_cast<int64_t>(c.conv_ratio * double(c.dims[s]));
    if (c.dims[s] <= 0 || c.depths[s] <= 0 || c.dims[0] % 2 != 0 || conv <= 0 || conv > hidden) {
      throw InvalidArgument(fmt::format(
          "{}: invalid MambaOut config at stage {} (dim {}, depth {}, conv channels {}, hidden {}); dims must "
          "be positive (dims[0] even), depths positive and conv channels within the hidden width",
          c.arch, s, c.dims[s], c.depths[s], conv, hidden));
    }
  }
  check_downsamples_32x(c.arch, o.image_size);
  return std::make_shared<MambaOutImpl>(c, o);
}

void register_mambaout_backbones(BackboneRegistry& registry) {
  struct Variant {
    MambaOutConfig config;
    const char* description;
  };
  const std::array<int64_t, 4> narrow{48, 96, 192, 288}, mid{96, 192, 384, 576}, wide{128, 256, 512, 768};
  const Variant variants[] = {
      {{"mambaout_femto", narrow, {3, 3, 9, 3}}, "MambaOut-Femto (dims 48-288, depths 3,3,9,3; 7.3M)"},
      {{"mambaout_kobe", narrow, {3, 3, 15, 3}}, "MambaOut-Kobe (dims 48-288, depths 3,3,15,3; 9.1M)"},
      {{"mambaout_tiny", mid, {3, 3, 9, 3}}, "MambaOut-Tiny (dims 96-576, depths 3,3,9,3; 26.5M)"},
      {{"mambaout", mid, {3, 3, 9, 3}}, "alias of mambaout_tiny (CLEAR's default MambaOut)"},
      {{"mambaout_small", mid, {3, 4, 27, 3}}, "MambaOut-Small (dims 96-576, depths 3,4,27,3; 48.5M)"},
      {{"mambaout_base", wide, {3, 4, 27, 3}}, "MambaOut-Base (dims 128-768, depths 3,4,27,3; 84.8M)"},
  };
  for (const auto& v : variants) {
    const MambaOutConfig config = v.config;
    registry.add(config.arch, v.description,
                 [config](const BackboneOptions& o) { return make_mambaout(config, o); });
  }
}

}  // namespace radclear::models
