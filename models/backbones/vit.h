#pragma once
// Vision Transformers as MoCo v3 builds them (vits.py on top of timm's
// VisionTransformer), with timm's parameter names:
//   cls_token [1,1,D], pos_embed [1,1+G*G,D] (fixed 2D sin-cos, no grad),
//   patch_embed.proj (Conv2d 16x16/16, or the conv stem Sequential),
//   blocks.{i}.{norm1,attn.qkv,attn.proj,norm2,mlp.fc1,mlp.fc2}, norm, head.
//
//   vit_tiny        D 192, depth 12,  3 heads (radclear's quick-run variant)
//   vit_small       D 384, depth 12, 12 heads
//   vit_base        D 768, depth 12, 12 heads
//   vit_conv_small  D 384, depth 11, 12 heads, conv stem
//   vit_conv_base   D 768, depth 11, 12 heads, conv stem
// All: patch 16, MLP ratio 4, qkv bias, LayerNorm eps 1e-6, cls-token pooling.
#include <torch/types.h>

#include <memory>
#include <string>

#include "models/backbones/backbone.h"

namespace radclear::models {

class BackboneRegistry;

struct VitConfig {
  std::string arch;
  int64_t embed_dim = 0;
  int64_t depth = 0;
  int64_t num_heads = 0;
  double mlp_ratio = 4.0;
  int64_t patch_size = 16;
  // MoCo v3 conv stem: 4x [3x3 conv stride 2 (no bias), BN, ReLU] with widths
  // D/8, D/4, D/2, D, then a 1x1 conv to D. Requires patch_size 16.
  bool conv_stem = false;
};

// Fixed 2D sin-cos position embedding of MoCo v3, [1, 1 + grid*grid, dim]:
// row 0 (cls) is zero; token k = a*grid + b has
// [sin(a w), cos(a w), sin(b w), cos(b w)] with w_i = 1 / T^(i / (dim/4)).
// dim must be divisible by 4.
torch::Tensor sincos_position_embedding(int64_t grid, int64_t dim, double temperature = 10000.0);

// Builds a ViT with MoCo v3's initialisation. Throws InvalidArgument when
// image_size is not a positive multiple of patch_size or the widths do not
// divide (D by heads, D by 4, D by 8 for the conv stem).
std::shared_ptr<BackboneImpl> make_vit(const VitConfig& config, const BackboneOptions& options);

void register_vit_backbones(BackboneRegistry& registry);

}  // namespace radclear::models
