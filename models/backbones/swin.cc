#include "models/backbones/swin.h"

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

LayerNorm layer_norm(int64_t dim) { return LayerNorm(nn::LayerNormOptions({dim}).eps(1e-5)); }

// Index into the (2w-1)^2 bias table for every (query, key) pair of a w x w
// window, flattened to [w^4]: (dh + w - 1) * (2w - 1) + (dw + w - 1).
torch::Tensor relative_position_index(int64_t w) {
  const auto r = torch::arange(w * w, torch::kLong);
  const auto h = torch::div(r, w, "floor"), c = torch::remainder(r, w);
  const auto dh = h.unsqueeze(1) - h.unsqueeze(0) + (w - 1);
  const auto dw = c.unsqueeze(1) - c.unsqueeze(0) + (w - 1);
  return (dh * (2 * w - 1) + dw).flatten();
}

// [B, H, W, C] (H, W multiples of w) -> [B * nW, w*w, C].
torch::Tensor to_windows(const torch::Tensor& x, int64_t w) {
  const int64_t b = x.size(0), h = x.size(1), wd = x.size(2), c = x.size(3);
  return x.view({b, h / w, w, wd / w, w, c}).permute({0, 1, 3, 2, 4, 5}).reshape({-1, w * w, c});
}

torch::Tensor from_windows(const torch::Tensor& x, int64_t b, int64_t h, int64_t wd, int64_t w) {
  const int64_t c = x.size(2);
  return x.view({b, h / w, wd / w, w, w, c}).permute({0, 1, 3, 2, 4, 5}).reshape({b, h, wd, c});
}

// Additive mask [nW, N, N] that keeps a shifted window's attention inside
// the regions that were adjacent before the cyclic shift.
torch::Tensor shift_mask(int64_t h, int64_t wd, int64_t w, int64_t sh, int64_t sw, const torch::TensorOptions& o) {
  auto labels = torch::zeros({h, wd}, torch::kLong);
  const int64_t hb[4] = {0, h - w, h - sh, h}, wb[4] = {0, wd - w, wd - sw, wd};
  int64_t label = 0;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      labels.slice(0, hb[i], hb[i + 1]).slice(1, wb[j], wb[j + 1]).fill_(label++);
    }
  }
  const auto win = to_windows(labels.view({1, h, wd, 1}), w).squeeze(-1);  // [nW, N]
  const auto differs = win.unsqueeze(1) != win.unsqueeze(2);
  return torch::zeros(differs.sizes(), o).masked_fill_(differs.to(o.device()), -100.0);
}

class WindowAttentionImpl : public nn::Module {
 public:
  WindowAttentionImpl(int64_t dim, int64_t heads, int64_t window, int64_t shift)
      : heads_(heads), window_(window), shift_(shift) {
    qkv = register_module("qkv", nn::Linear(dim, 3 * dim));
    proj = register_module("proj", nn::Linear(dim, dim));
    bias_table = register_parameter("relative_position_bias_table",
                                    torch::zeros({(2 * window - 1) * (2 * window - 1), heads}));
    index = register_buffer("relative_position_index", relative_position_index(window));
  }

  // x [B, H, W, C] -> [B, H, W, C].
  torch::Tensor forward(const torch::Tensor& x) {
    const int64_t b = x.size(0), h = x.size(1), wd = x.size(2), c = x.size(3), w = window_;
    auto t = torch::constant_pad_nd(x, {0, 0, 0, (w - wd % w) % w, 0, (w - h % w) % w});
    const int64_t ph = t.size(1), pw = t.size(2);
    const int64_t sh = w >= ph ? 0 : shift_, sw = w >= pw ? 0 : shift_;
    const bool shifted = sh + sw > 0;
    if (shifted) t = torch::roll(t, {-sh, -sw}, {1, 2});
    auto win = to_windows(t, w);  // [B*nW, N, C]
    const int64_t n = w * w, d = c / heads_;
    const auto q_k_v = qkv->forward(win).reshape({win.size(0), n, 3, heads_, d}).permute({2, 0, 3, 1, 4});
    const auto q = q_k_v[0] * std::pow(static_cast<double>(d), -0.5);
    auto attn = torch::matmul(q, q_k_v[1].transpose(-2, -1));
    attn = attn + bias_table.index_select(0, index).view({n, n, heads_}).permute({2, 0, 1}).unsqueeze(0);
    if (shifted) {
      const auto mask = shift_mask(ph, pw, w, sh, sw, attn.options());  // [nW, N, N]
      const int64_t nw = mask.size(0);
      attn = (attn.view({b, nw, heads_, n, n}) + mask.unsqueeze(1).unsqueeze(0)).view({-1, heads_, n, n});
    }
    win = torch::matmul(torch::softmax(attn, -1), q_k_v[2]).transpose(1, 2).reshape({win.size(0), n, c});
    t = from_windows(proj->forward(win), b, ph, pw, w);
    if (shifted) t = torch::roll(t, {sh, sw}, {1, 2});
    return t.slice(1, 0, h).slice(2, 0, wd).contiguous();
  }

  nn::Linear qkv{nullptr}, proj{nullptr};
  torch::Tensor bias_table, index;

 private:
  int64_t heads_, window_, shift_;
};
TORCH_MODULE(WindowAttention);

class SwinBlockImpl : public nn::Module {
 public:
  SwinBlockImpl(int64_t dim, int64_t heads, int64_t window, int64_t shift, int64_t hidden) {
    norm1 = register_module("norm1", layer_norm(dim));
    attn = register_module("attn", WindowAttention(dim, heads, window, shift));
    norm2 = register_module("norm2", layer_norm(dim));
    // Indices 0 and 3 as torchvision's MLP (Linear, GELU, Dropout, Linear, Dropout).
    mlp = register_module("mlp", nn::Sequential(nn::Linear(dim, hidden), nn::GELU(), nn::Dropout(0.0),
                                                nn::Linear(hidden, dim), nn::Dropout(0.0)));
  }
  torch::Tensor forward(torch::Tensor x) {
    x = x + attn->forward(norm1->forward(x));
    return x + mlp->forward(norm2->forward(x));
  }
  LayerNorm norm1{nullptr}, norm2{nullptr};
  WindowAttention attn{nullptr};
  nn::Sequential mlp{nullptr};
};
TORCH_MODULE(SwinBlock);

// [B, H, W, C] -> [B, ceil(H/2), ceil(W/2), 2C]: the four 2x2 phases
// (even/even, odd/even, even/odd, odd/odd) concatenated, LN, Linear.
class PatchMergingImpl : public nn::Module {
 public:
  explicit PatchMergingImpl(int64_t dim) {
    reduction = register_module("reduction", nn::Linear(nn::LinearOptions(4 * dim, 2 * dim).bias(false)));
    norm = register_module("norm", layer_norm(4 * dim));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    const auto t = torch::constant_pad_nd(x, {0, 0, 0, x.size(2) % 2, 0, x.size(1) % 2});
    auto phase = [&](int64_t i, int64_t j) { return t.slice(1, i, t.size(1), 2).slice(2, j, t.size(2), 2); };
    return reduction->forward(norm->forward(torch::cat({phase(0, 0), phase(1, 0), phase(0, 1), phase(1, 1)}, -1)));
  }
  nn::Linear reduction{nullptr};
  LayerNorm norm{nullptr};
};
TORCH_MODULE(PatchMerging);

class SwinImpl : public BackboneImpl {
 public:
  SwinImpl(const SwinConfig& c, const BackboneOptions& o) {
    const int64_t width = c.embed_dim << 3;
    info_.arch = c.arch;
    info_.family = "swin";
    info_.feature_dim = width;
    info_.image_size = o.image_size;
    info_.head_name = "head";
    info_.head_in_dim = width;
    info_.num_classes = o.num_classes;

    features = register_module("features", nn::ModuleList());  // indices as torchvision's Sequential
    // Patch embedding: conv, NCHW -> NHWC (parameter-free slot 1), LN.
    patch_conv_ = nn::Conv2d(nn::Conv2dOptions(3, c.embed_dim, c.patch).stride(c.patch));
    patch_norm_ = layer_norm(c.embed_dim);
    features->push_back(nn::Sequential(patch_conv_, nn::Identity(), patch_norm_));
    for (int s = 0; s < 4; ++s) {
      const int64_t dim = c.embed_dim << s;
      nn::Sequential stage;
      for (int64_t j = 0; j < c.depths[s]; ++j) {
        stage->push_back(SwinBlock(dim, c.heads[s], c.window, j % 2 == 0 ? 0 : c.window / 2,
                                   static_cast<int64_t>(double(dim) * c.mlp_ratio)));
      }
      features->push_back(stage);
      stages_.push_back(stage);
      if (s < 3) {
        merges_.push_back(PatchMerging(dim));
        features->push_back(merges_.back());
      }
    }
    norm = register_module("norm", layer_norm(width));
    if (o.num_classes > 0) {
      register_module("head", nn::Linear(width, o.num_classes));
    } else {
      register_module("head", nn::Identity());
    }
    init_weights();
  }

  torch::Tensor forward_features(const torch::Tensor& x) override {
    check_image_batch(info_.arch, x.sizes().vec());
    auto h = patch_norm_->forward(patch_conv_->forward(x).permute({0, 2, 3, 1}));
    for (size_t s = 0; s < 4; ++s) {
      h = stages_[s]->forward(h);
      if (s < 3) h = merges_[s]->forward(h);
    }
    return norm->forward(h).mean({1, 2});
  }
  torch::Tensor forward(const torch::Tensor& x) override { return forward_head(forward_features(x)); }
  const BackboneInfo& info() const override { return info_; }

  nn::ModuleList features{nullptr};
  LayerNorm norm{nullptr};

 private:
  void init_weights() {
    torch::NoGradGuard no_grad;
    for (const auto& m : modules(/*include_self=*/false)) {
      if (auto* linear = m->as<nn::Linear>()) {
        trunc_normal_(linear->weight, 0.02);
        if (linear->bias.defined()) linear->bias.zero_();
      } else if (auto* attn = m->as<WindowAttention>()) {
        trunc_normal_(attn->bias_table, 0.02);
      }
    }
  }

  nn::Conv2d patch_conv_{nullptr};
  LayerNorm patch_norm_{nullptr};
  std::vector<nn::Sequential> stages_;
  std::vector<PatchMerging> merges_;
  BackboneInfo info_;
};

}  // namespace

std::shared_ptr<BackboneImpl> make_swin(const SwinConfig& c, const BackboneOptions& o) {
  for (int s = 0; s < 4; ++s) {
    const int64_t dim = c.embed_dim << s;
    if (c.embed_dim <= 0 || c.depths[s] <= 0 || c.heads[s] <= 0 || dim % c.heads[s] != 0 || c.window <= 0) {
      throw InvalidArgument(fmt::format("{}: invalid Swin config at stage {} (dim {}, depth {}, heads {}, window {})",
                                        c.arch, s, dim, c.depths[s], c.heads[s], c.window));
    }
  }
  check_downsamples_32x(c.arch, o.image_size);
  return std::make_shared<SwinImpl>(c, o);
}

void register_swin_backbones(BackboneRegistry& registry) {
  struct Variant {
    SwinConfig config;
    const char* description;
  };
  const Variant variants[] = {
      {{"swin_tiny", 96, {2, 2, 6, 2}, {3, 6, 12, 24}}, "Swin-T, window 7, torchvision layout (28.3M)"},
      {{"swin", 96, {2, 2, 6, 2}, {3, 6, 12, 24}}, "alias of swin_tiny (CLEAR's --arch swin, torchvision swin_t)"},
      {{"swin_small", 96, {2, 2, 18, 2}, {3, 6, 12, 24}}, "Swin-S, window 7, torchvision layout (49.6M)"},
      {{"swin_base", 128, {2, 2, 18, 2}, {4, 8, 16, 32}}, "Swin-B, window 7, torchvision layout (87.8M)"},
      // CLEAR lists these names but never builds them. Swin v1 at 256 px
      // (64/32/16/8 token maps) with window 8, which divides every map.
      {{"swin_tiny_256", 96, {2, 2, 6, 2}, {3, 6, 12, 24}, 8}, "Swin-T, window 8, for --image-size 256 (28.3M)"},
      {{"swin_small_256", 96, {2, 2, 18, 2}, {3, 6, 12, 24}, 8}, "Swin-S, window 8, for --image-size 256 (49.6M)"},
  };
  for (const auto& v : variants) {
    const SwinConfig config = v.config;
    registry.add(config.arch, v.description,
                 [config](const BackboneOptions& o) { return make_swin(config, o); });
  }
}

}  // namespace radclear::models
