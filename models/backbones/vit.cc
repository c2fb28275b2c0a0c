#include "models/backbones/vit.h"

#include <torch/torch.h>

#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "common/check.h"
#include "models/backbones/registry.h"
#include "models/layers/batch_norm.h"
#include "models/layers/layer_norm.h"
#include "models/layers/token_mlp.h"

namespace radclear::models {
namespace nn = torch::nn;

namespace {

constexpr double kLayerNormEps = 1e-6;

LayerNorm layer_norm(int64_t dim) { return LayerNorm(nn::LayerNormOptions({dim}).eps(kLayerNormEps)); }

// timm Attention: qkv (D -> 3D, bias), softmax(q k^T / sqrt(d_head)) v, proj.
class AttentionImpl : public nn::Module {
 public:
  AttentionImpl(int64_t dim, int64_t heads)
      : heads_(heads), scale_(1.0 / std::sqrt(static_cast<double>(dim / heads))) {  // d_head^-1/2
    qkv = register_module("qkv", nn::Linear(dim, 3 * dim));
    proj = register_module("proj", nn::Linear(dim, dim));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    const int64_t b = x.size(0), n = x.size(1), c = x.size(2);
    const auto qkv_out = qkv->forward(x).reshape({b, n, 3, heads_, c / heads_}).permute({2, 0, 3, 1, 4});
    const auto q = qkv_out[0], k = qkv_out[1], v = qkv_out[2];  // [B, H, N, d]
    const auto attn = torch::softmax(torch::matmul(q, k.transpose(-2, -1)) * scale_, -1);
    return proj->forward(torch::matmul(attn, v).transpose(1, 2).reshape({b, n, c}));
  }
  nn::Linear qkv{nullptr}, proj{nullptr};

 private:
  int64_t heads_;
  double scale_;
};
TORCH_MODULE(Attention);

// Pre-norm transformer block: x + attn(norm1(x)), then x + mlp(norm2(x)).
class BlockImpl : public nn::Module {
 public:
  BlockImpl(int64_t dim, int64_t heads, int64_t mlp_hidden) {
    norm1 = register_module("norm1", layer_norm(dim));
    attn = register_module("attn", Attention(dim, heads));
    norm2 = register_module("norm2", layer_norm(dim));
    mlp = register_module("mlp", TokenMlp(dim, mlp_hidden));
  }
  torch::Tensor forward(torch::Tensor x) {
    x = x + attn->forward(norm1->forward(x));
    return x + mlp->forward(norm2->forward(x));
  }
  LayerNorm norm1{nullptr}, norm2{nullptr};
  Attention attn{nullptr};
  TokenMlp mlp{nullptr};
};
TORCH_MODULE(Block);

// patch_embed: `proj` is either one Conv2d(3, D, p, stride p) (timm
// PatchEmbed) or MoCo v3's ConvStem Sequential. [B,3,S,S] -> [B, N, D].
class PatchEmbedImpl : public nn::Module {
 public:
  PatchEmbedImpl(const VitConfig& c) {
    const int64_t d = c.embed_dim;
    if (!c.conv_stem) {
      conv_proj = register_module(
          "proj", nn::Conv2d(nn::Conv2dOptions(3, d, c.patch_size).stride(c.patch_size)));
      return;
    }
    nn::Sequential stem;
    int64_t in = 3, out = d / 8;
    for (int l = 0; l < 4; ++l) {
      stem->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(2).padding(1).bias(false)));
      stem->push_back(BatchNorm(BatchNormOptions{out}));
      stem->push_back(nn::ReLU());
      in = out;
      out *= 2;
    }
    stem->push_back(nn::Conv2d(nn::Conv2dOptions(in, d, 1)));
    stem_proj = register_module("proj", stem);
  }
  torch::Tensor forward(const torch::Tensor& x) {
    const auto y = conv_proj ? conv_proj->forward(x) : stem_proj->forward(x);
    return y.flatten(2).transpose(1, 2);
  }
  nn::Conv2d conv_proj{nullptr};
  nn::Sequential stem_proj{nullptr};
};
TORCH_MODULE(PatchEmbed);

class VisionTransformerImpl : public BackboneImpl {
 public:
  VisionTransformerImpl(const VitConfig& c, const BackboneOptions& o) {
    const int64_t d = c.embed_dim;
    const int64_t grid = o.image_size / c.patch_size;
    info_.arch = c.arch;
    info_.family = "vit";
    info_.feature_dim = d;
    info_.image_size = o.image_size;
    info_.head_name = "head";
    info_.head_in_dim = d;
    info_.num_classes = o.num_classes;

    patch_embed = register_module("patch_embed", PatchEmbed(c));
    cls_token = register_parameter("cls_token", torch::zeros({1, 1, d}));
    pos_embed = register_parameter("pos_embed", sincos_position_embedding(grid, d), /*requires_grad=*/false);
    blocks = register_module("blocks", nn::ModuleList());
    const auto mlp_hidden = static_cast<int64_t>(double(d) * c.mlp_ratio);
    for (int64_t i = 0; i < c.depth; ++i) {
      block_list_.push_back(Block(d, c.num_heads, mlp_hidden));
      blocks->push_back(block_list_.back());
    }
    norm = register_module("norm", layer_norm(d));
    if (o.num_classes > 0) {
      register_module("head", nn::Linear(d, o.num_classes));
    } else {
      register_module("head", nn::Identity());
    }
    init_weights(c, o);
  }

  torch::Tensor forward_features(const torch::Tensor& x) override {
    const int64_t s = info_.image_size;
    if (x.dim() != 4 || x.size(1) != 3 || x.size(2) != s || x.size(3) != s) {
      throw InvalidArgument(fmt::format("{}: expected input [B, 3, {}, {}], got [{}]", info_.arch, s, s,
                                        fmt::join(x.sizes().vec(), ", ")));
    }
    auto h = patch_embed->forward(x);
    h = torch::cat({cls_token.expand({x.size(0), -1, -1}), h}, 1) + pos_embed;
    for (auto& block : block_list_) h = block->forward(h);
    return norm->forward(h).select(1, 0);
  }
  torch::Tensor forward(const torch::Tensor& x) override { return forward_head(forward_features(x)); }
  const BackboneInfo& info() const override { return info_; }

  PatchEmbed patch_embed{nullptr};
  torch::Tensor cls_token, pos_embed;
  nn::ModuleList blocks{nullptr};
  LayerNorm norm{nullptr};

 private:
  // MoCo v3 (vits.py): xavier-uniform linears, with q, k, v treated as three
  // separate D x D matrices; zero biases; cls token N(0, 1e-6); the linear
  // patch projection uniform with the fan of a 3*p*p -> D linear.
  void init_weights(const VitConfig& c, const BackboneOptions& o) {
    torch::NoGradGuard no_grad;
    for (const auto& item : named_modules(/*name_prefix=*/"", /*include_self=*/false)) {
      auto* linear = item.value()->as<nn::Linear>();
      if (linear == nullptr) continue;
      if (item.key().find("qkv") != std::string::npos) {
        const auto& w = linear->weight;
        const double bound = std::sqrt(6.0 / double(w.size(0) / 3 + w.size(1)));
        w.uniform_(-bound, bound);
      } else {
        nn::init::xavier_uniform_(linear->weight);
      }
      if (linear->bias.defined()) nn::init::zeros_(linear->bias);
    }
    nn::init::normal_(cls_token, 0.0, 1e-6);
    if (!c.conv_stem) {
      auto& proj = patch_embed->conv_proj;
      const double bound = std::sqrt(6.0 / double(3 * c.patch_size * c.patch_size + c.embed_dim));
      proj->weight.uniform_(-bound, bound);
      nn::init::zeros_(proj->bias);
      if (o.stop_grad_conv1) {
        proj->weight.set_requires_grad(false);
        proj->bias.set_requires_grad(false);
      }
    }
  }

  std::vector<Block> block_list_;
  BackboneInfo info_;
};

void validate(const VitConfig& c, const BackboneOptions& o) {
  const int64_t d = c.embed_dim;
  if (d <= 0 || c.depth <= 0 || c.num_heads <= 0 || d % c.num_heads != 0 || d % 4 != 0 ||
      (c.conv_stem && (d % 8 != 0 || c.patch_size != 16))) {
    throw InvalidArgument(fmt::format(
        "{}: invalid ViT widths (dim {}, depth {}, heads {}, patch {}, conv stem {}): dim must divide by "
        "heads and 4 (8 with the conv stem, which needs patch 16)",
        c.arch, d, c.depth, c.num_heads, c.patch_size, c.conv_stem));
  }
  if (o.image_size <= 0 || o.image_size % c.patch_size != 0) {
    throw InvalidArgument(fmt::format("{}: image_size {} must be a positive multiple of the patch size {}",
                                      c.arch, o.image_size, c.patch_size));
  }
}

}  // namespace

torch::Tensor sincos_position_embedding(int64_t grid, int64_t dim, double temperature) {
  RADCLEAR_CHECK(dim % 4 == 0 && grid > 0, "sin-cos position embedding needs dim % 4 == 0 (dim {}, grid {})",
                 dim, grid);
  const int64_t pos_dim = dim / 4;
  const auto opts = torch::TensorOptions().dtype(torch::kFloat32);
  auto omega = torch::arange(pos_dim, opts) / double(pos_dim);
  omega = 1.0 / torch::pow(temperature, omega);
  const auto idx = torch::arange(grid * grid, torch::kLong);
  const auto a = torch::div(idx, grid, "floor").to(torch::kFloat32);  // slow axis
  const auto b = torch::remainder(idx, grid).to(torch::kFloat32);     // fast axis
  const auto out_a = torch::outer(a, omega), out_b = torch::outer(b, omega);
  const auto emb = torch::cat({torch::sin(out_a), torch::cos(out_a), torch::sin(out_b), torch::cos(out_b)}, 1);
  return torch::cat({torch::zeros({1, dim}, opts), emb}, 0).unsqueeze(0);
}

std::shared_ptr<BackboneImpl> make_vit(const VitConfig& config, const BackboneOptions& options) {
  validate(config, options);
  return std::make_shared<VisionTransformerImpl>(config, options);
}

void register_vit_backbones(BackboneRegistry& registry) {
  struct Variant {
    VitConfig config;
    const char* description;
  };
  const Variant variants[] = {
      {{"vit_tiny", 192, 12, 3}, "ViT-Tiny/16 (D 192, depth 12, 3 heads), MoCo v3 init"},
      {{"vit_small", 384, 12, 12}, "ViT-Small/16 as MoCo v3 (D 384, depth 12, 12 heads)"},
      {{"vit_base", 768, 12, 12}, "ViT-Base/16 (D 768, depth 12, 12 heads)"},
      {{"vit_conv_small", 384, 11, 12, 4.0, 16, true}, "ViT-Small with MoCo v3's conv stem, depth 11"},
      {{"vit_conv_base", 768, 11, 12, 4.0, 16, true}, "ViT-Base with MoCo v3's conv stem, depth 11"},
  };
  for (const auto& v : variants) {
    const VitConfig config = v.config;
    registry.add(config.arch, v.description,
                 [config](const BackboneOptions& o) { return make_vit(config, o); });
  }
}

}  // namespace radclear::models
