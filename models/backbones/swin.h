#pragma once
// Swin Transformer (v1) in torchvision's layout and names (swin_t/s/b), the
// Swin the Python side can build without timm:
//   features.0 = {0: Conv2d 4x4/4, 2: LayerNorm}            (patch embedding)
//   features.{1,3,5,7}.{j} = block {norm1, attn {qkv, proj,
//       relative_position_bias_table, relative_position_index (buffer)},
//       norm2, mlp {0: Linear C->4C, 3: Linear 4C->C}}
//   features.{2,4,6} = PatchMerging {reduction (4C->2C, no bias), norm (4C)}
//   norm, head
// Window 7; odd blocks shift by 3 (not when the window covers the padded
// map); feature maps are zero-padded to a multiple of the window. Channels
// last inside; LayerNorm eps 1e-5; init trunc-normal std 0.02 for linears
// and the bias tables, zero biases, PyTorch's default for the patch conv.
//   swin_tiny   C 96,  depths 2,2,6,2,  heads 3,6,12,24   28,288,354 params
//   swin_small  C 96,  depths 2,2,18,2, heads 3,6,12,24   49,606,258
//   swin_base   C 128, depths 2,2,18,2, heads 4,8,16,32   87,768,224
#include <array>
#include <memory>
#include <string>

#include "models/backbones/backbone.h"

namespace radclear::models {

class BackboneRegistry;

struct SwinConfig {
  std::string arch;
  int64_t embed_dim = 96;
  std::array<int64_t, 4> depths{};
  std::array<int64_t, 4> heads{};
  int64_t window = 7;
  int64_t patch = 4;
  double mlp_ratio = 4.0;
};

// Throws InvalidArgument when a width does not divide by its heads, a depth
// is not positive, or image_size < 32.
std::shared_ptr<BackboneImpl> make_swin(const SwinConfig& config, const BackboneOptions& options);

void register_swin_backbones(BackboneRegistry& registry);

}  // namespace radclear::models
