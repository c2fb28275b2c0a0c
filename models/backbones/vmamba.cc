#include "models/backbones/vmamba.h"

#include <torch/torch.h>

#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "common/check.h"
#include "models/backbones/input_size.h"
#include "models/backbones/registry.h"
#include "models/backbones/selective_scan.h"
#include "models/layers/init.h"
#include "models/layers/layer_norm.h"
#include "models/layers/token_mlp.h"

namespace radclear::models {
namespace nn = torch::nn;

namespace {

constexpr int64_t kScans = 4;  // row-major, column-major, and both reversed
constexpr int64_t kCudaChunk = 16;  // VMambaConfig::scan_chunk -1 on CUDA

LayerNorm layer_norm(int64_t dim) { return LayerNorm(nn::LayerNormOptions({dim}).eps(1e-5)); }

nn::Linear linear(int64_t in, int64_t out, bool bias) { return nn::Linear(nn::LinearOptions(in, out).bias(bias)); }

// [B, C, H, W] -> [B, 4, C, H*W]: the feature map flattened row by row, column
// by column, and both of those reversed (VMamba's CrossScan).
torch::Tensor cross_scan(const torch::Tensor& x) {
  const auto rows = x.flatten(2);
  const auto cols = x.transpose(2, 3).flatten(2);
  const auto fwd = torch::stack({rows, cols}, 1);
  return torch::cat({fwd, fwd.flip(-1)}, 1);
}

// [B, 4, C, H*W] -> [B, C, H*W] in row-major order: each scan's output put
// back at its positions and summed (VMamba's CrossMerge).
torch::Tensor cross_merge(const torch::Tensor& ys, int64_t h, int64_t w) {
  const auto both = ys.narrow(1, 0, 2) + ys.narrow(1, 2, 2).flip(-1);
  const int64_t b = ys.size(0), c = ys.size(2);
  return both.select(1, 0) + both.select(1, 1).reshape({b, c, w, h}).transpose(2, 3).reshape({b, c, h * w});
}

// SS2D, forward_type "v2", channels last: [B, H, W, C] -> [B, H, W, C].
class SS2DImpl : public nn::Module {
 public:
  SS2DImpl(int64_t dim, const VMambaConfig& c)
      : inner_(static_cast<int64_t>(c.ssm_ratio * double(dim))),
        rank_((dim + 15) / 16),
        states_(c.d_state),
        chunk_(c.scan_chunk) {
    // Parameters in the official registration order (state-dict order).
    x_proj_weight = register_parameter("x_proj_weight", torch::empty({kScans, rank_ + 2 * states_, inner_}));
    A_logs = register_parameter("A_logs", torch::empty({kScans * inner_, states_}));
    Ds = register_parameter("Ds", torch::empty({kScans * inner_}));
    dt_projs_weight = register_parameter("dt_projs_weight", torch::empty({kScans, inner_, rank_}));
    dt_projs_bias = register_parameter("dt_projs_bias", torch::empty({kScans, inner_}));
    out_norm = register_module("out_norm", layer_norm(inner_));
    in_proj = register_module("in_proj", linear(dim, 2 * inner_, false));
    conv2d = register_module("conv2d", nn::Conv2d(nn::Conv2dOptions(inner_, inner_, c.d_conv)
                                                      .groups(inner_)
                                                      .padding((c.d_conv - 1) / 2)
                                                      .bias(true)));
    out_proj = register_module("out_proj", linear(inner_, dim, false));
  }

  torch::Tensor forward(const torch::Tensor& input) {
    const int64_t b = input.size(0), h = input.size(1), w = input.size(2), l = h * w;
    const auto xz = in_proj->forward(input).chunk(2, -1);
    const auto x = torch::silu(conv2d->forward(xz[0].permute({0, 3, 1, 2})));  // [B, D, H, W]
    const auto xs = cross_scan(x);                                             // [B, K, D, L]
    const auto x_dbl = torch::einsum("bkdl,kcd->bkcl", {xs, x_proj_weight});
    const auto parts = torch::split_with_sizes(x_dbl, {rank_, states_, states_}, 2);
    const auto dts = torch::einsum("bkrl,kdr->bkdl", {parts[0], dt_projs_weight});
    SelectiveScanInputs in;
    in.u = xs.reshape({b, -1, l});
    in.delta = dts.reshape({b, -1, l});
    in.A = -torch::exp(A_logs);
    in.B = parts[1];
    in.C = parts[2];
    in.D = Ds;
    in.delta_bias = dt_projs_bias.reshape({-1});
    const int64_t chunk = chunk_ >= 0 ? chunk_ : input.is_cuda() ? kCudaChunk : 0;
    const auto ys = (chunk == 0 ? selective_scan_sequential(in) : selective_scan_chunked(in, chunk))
                        .view({b, kScans, inner_, l});
    const auto y = cross_merge(ys, h, w).transpose(1, 2).reshape({b, h, w, inner_});
    return out_proj->forward(out_norm->forward(y).to(input.scalar_type()) * torch::silu(xz[1]));
  }

  // Official init of the SSM parameters (mamba_init.init_dt_A_D, x_proj as
  // nn.Linear's default).
  void init_ssm() {
    torch::NoGradGuard no_grad;
    x_proj_weight.uniform_(-1.0 / std::sqrt(double(inner_)), 1.0 / std::sqrt(double(inner_)));
    const double dt_std = 1.0 / std::sqrt(double(rank_));
    dt_projs_weight.uniform_(-dt_std, dt_std);
    const auto dt = torch::exp(torch::rand({kScans, inner_}) * (std::log(0.1) - std::log(1e-3)) + std::log(1e-3))
                        .clamp_min(1e-4);
    dt_projs_bias.copy_(dt + torch::log(-torch::expm1(-dt)));  // softplus^-1(dt)
    A_logs.copy_(torch::log(torch::arange(1, states_ + 1, torch::kFloat)).expand({kScans * inner_, states_}));
    Ds.fill_(1.0);
  }

  torch::Tensor x_proj_weight, A_logs, Ds, dt_projs_weight, dt_projs_bias;
  LayerNorm out_norm{nullptr};
  nn::Linear in_proj{nullptr}, out_proj{nullptr};
  nn::Conv2d conv2d{nullptr};

 private:
  int64_t inner_, rank_, states_, chunk_;
};
TORCH_MODULE(SS2D);

// x + SS2D(norm(x)), then + MLP(norm2(x)); channels last.
class VSSBlockImpl : public nn::Module {
 public:
  VSSBlockImpl(int64_t dim, const VMambaConfig& c) {
    norm = register_module("norm", layer_norm(dim));
    op = register_module("op", SS2D(dim, c));
    norm2 = register_module("norm2", layer_norm(dim));
    mlp = register_module("mlp", TokenMlp(dim, static_cast<int64_t>(c.mlp_ratio * double(dim))));
  }
  torch::Tensor forward(torch::Tensor x) {
    x = x + op->forward(norm->forward(x));
    return x + mlp->forward(norm2->forward(x));
  }
  LayerNorm norm{nullptr}, norm2{nullptr};
  SS2D op{nullptr};
  TokenMlp mlp{nullptr};
};
TORCH_MODULE(VSSBlock);

// One stage: `blocks`, then (all but the last stage) `downsample` =
// {1: Conv2d 2x2/2, 3: LayerNorm} (slots 0 and 2 are the official Permutes).
class StageImpl : public nn::Module {
 public:
  StageImpl(int64_t dim, int64_t depth, int64_t out_dim, const VMambaConfig& c) {
    blocks = register_module("blocks", nn::ModuleList());
    for (int64_t j = 0; j < depth; ++j) {
      block_list_.push_back(VSSBlock(dim, c));
      blocks->push_back(block_list_.back());
    }
    if (out_dim > 0) {
      down_conv_ = nn::Conv2d(nn::Conv2dOptions(dim, out_dim, 2).stride(2));
      down_norm_ = layer_norm(out_dim);
      register_module("downsample", nn::Sequential(nn::Identity(), down_conv_, nn::Identity(), down_norm_));
    }
  }
  torch::Tensor forward(torch::Tensor x) {
    for (auto& block : block_list_) x = block->forward(x);
    if (!down_conv_) return x;
    return down_norm_->forward(down_conv_->forward(x.permute({0, 3, 1, 2})).permute({0, 2, 3, 1}));
  }
  nn::ModuleList blocks{nullptr};

 private:
  std::vector<VSSBlock> block_list_;
  nn::Conv2d down_conv_{nullptr};
  LayerNorm down_norm_{nullptr};
};
TORCH_MODULE(Stage);

// The official classifier's parameterised members: `norm` (before pooling)
// and `head` (MoCo replaces classifier.head).
class ClassifierImpl : public nn::Module {
 public:
  ClassifierImpl(int64_t dim, int64_t num_classes) {
    norm = register_module("norm", layer_norm(dim));
    if (num_classes > 0) {
      register_module("head", nn::Linear(dim, num_classes));
    } else {
      register_module("head", nn::Identity());
    }
  }
  LayerNorm norm{nullptr};
};
TORCH_MODULE(Classifier);

class VMambaImpl : public BackboneImpl {
 public:
  VMambaImpl(const VMambaConfig& c, const BackboneOptions& o) {
    const int64_t width = c.dims[3];
    info_.arch = c.arch;
    info_.family = "vmamba";
    info_.feature_dim = width;
    info_.image_size = o.image_size;
    info_.head_name = "classifier.head";
    info_.head_in_dim = width;
    info_.num_classes = o.num_classes;

    patch_conv_ = nn::Conv2d(nn::Conv2dOptions(3, c.dims[0], c.patch).stride(c.patch));
    patch_norm_ = layer_norm(c.dims[0]);
    register_module("patch_embed", nn::Sequential(patch_conv_, nn::Identity(), patch_norm_));
    layers = register_module("layers", nn::ModuleList());
    for (int s = 0; s < 4; ++s) {
      stages_.push_back(Stage(c.dims[s], c.depths[s], s < 3 ? c.dims[s + 1] : 0, c));
      layers->push_back(stages_.back());
    }
    classifier = register_module("classifier", Classifier(width, o.num_classes));
    init_weights();
  }

  torch::Tensor forward_features(const torch::Tensor& x) override {
    check_image_batch(info_.arch, x.sizes().vec());
    auto h = patch_norm_->forward(patch_conv_->forward(x).permute({0, 2, 3, 1}));
    for (auto& stage : stages_) h = stage->forward(h);
    return classifier->norm->forward(h).mean({1, 2});
  }
  torch::Tensor forward(const torch::Tensor& x) override { return forward_head(forward_features(x)); }
  const BackboneInfo& info() const override { return info_; }

  nn::ModuleList layers{nullptr};
  Classifier classifier{nullptr};

 private:
  void init_weights() {
    for (const auto& m : modules(/*include_self=*/false)) {
      if (auto* lin = m->as<nn::Linear>()) {
        trunc_normal_(lin->weight, 0.02);
        torch::NoGradGuard no_grad;
        if (lin->bias.defined()) lin->bias.zero_();
      } else if (auto* ss2d = m->as<SS2D>()) {
        ss2d->init_ssm();
      }
    }
  }

  nn::Conv2d patch_conv_{nullptr};
  LayerNorm patch_norm_{nullptr};
  std::vector<Stage> stages_;
  BackboneInfo info_;
};

}  // namespace

std::shared_ptr<BackboneImpl> make_vmamba(const VMambaConfig& c, const BackboneOptions& o) {
  for (int s = 0; s < 4; ++s) {
    if (c.dims[s] <= 0 || c.depths[s] <= 0) {
      throw InvalidArgument(fmt::format("{}: invalid VMamba config at stage {} (dim {}, depth {}); both must be "
                                        "positive",
                                        c.arch, s, c.dims[s], c.depths[s]));
    }
  }
  if (c.patch <= 0 || c.d_state <= 0 || c.d_conv <= 0 || c.d_conv % 2 == 0 || c.ssm_ratio <= 0 ||
      c.mlp_ratio <= 0 || c.scan_chunk < -1) {
    throw InvalidArgument(fmt::format(
        "{}: invalid VMamba config (patch {}, d_state {}, d_conv {}, ssm_ratio {}, mlp_ratio {}, scan_chunk {}); "
        "all but scan_chunk (>= -1) must be positive and d_conv odd",
        c.arch, c.patch, c.d_state, c.d_conv, c.ssm_ratio, c.mlp_ratio, c.scan_chunk));
  }
  check_downsamples_32x(c.arch, o.image_size);
  return std::make_shared<VMambaImpl>(c, o);
}

void register_vmamba_backbones(BackboneRegistry& registry) {
  struct Variant {
    VMambaConfig config;
    const char* description;
  };
  const std::array<int64_t, 4> narrow{96, 192, 384, 768}, wide{128, 256, 512, 1024};
  const Variant variants[] = {
      {{"vmamba_tiny", narrow, {2, 2, 9, 2}}, "VMamba-T, official VSSM() defaults (dims 96-768, depths 2,2,9,2; 43.7M)"},
      {{"vmamba", narrow, {2, 2, 9, 2}}, "alias of vmamba_tiny (CLEAR's --arch vmamba: VSSM())"},
      {{"vmamba_small", narrow, {2, 2, 27, 2}}, "VMamba-S, VSSM() blocks (dims 96-768, depths 2,2,27,2; 86.5M)"},
      {{"vmamba_base", wide, {2, 2, 27, 2}}, "VMamba-B, VSSM() blocks (dims 128-1024, depths 2,2,27,2; 151.1M)"},
  };
  for (const auto& v : variants) {
    const VMambaConfig config = v.config;
    registry.add(config.arch, v.description,
                 [config](const BackboneOptions& o) { return make_vmamba(config, o); });
  }
}

}  // namespace radclear::models
