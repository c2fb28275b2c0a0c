#pragma once
// VMamba (Liu et al. 2024): a four-stage hierarchy of VSS blocks whose token
// mixer is SS2D, a selective scan (models/backbones/selective_scan.h) run
// over the feature map in four directions. We match the official
// MzeroMiko/VMamba classification/models/vmamba.py `VSSM()` with its default
// arguments (unchanged from April to July 2024, the configuration CLEAR's
// `VSSM()` builds): patch embed v1, downsample v2, forward_type "v2",
// norm "LN" (channels last), ssm_d_state 16, ssm_ratio 2, dt_rank
// ceil(C/16), 3x3 depthwise conv with bias, no in/out projection bias,
// mlp_ratio 4. State-dict names are the official ones:
//   patch_embed.{0: Conv2d 4x4/4, 2: LayerNorm}
//   layers.{i}.blocks.{j} = VSSBlock {norm, op = SS2D {x_proj_weight [4, R+2N, 2C],
//       A_logs [4*2C, N], Ds [4*2C], dt_projs_weight [4, 2C, R], dt_projs_bias [4, 2C],
//       out_norm (LN 2C), in_proj (C -> 4C), conv2d (3x3 depthwise 2C), out_proj (2C -> C)},
//       norm2, mlp {fc1 (C -> 4C), fc2}}
//   layers.{i}.downsample.{1: Conv2d 2x2/2 (C -> 2C), 3: LayerNorm}  (i < 3)
//   classifier.{norm, head}
// SS2D: in_proj -> (x, z); x -> conv -> SiLU -> scans along rows, columns
// and both reversed, each with its own x_proj / dt_proj / A / D -> summed ->
// out_norm; y * SiLU(z) -> out_proj. All LayerNorms eps 1e-5. Features =
// the mean over positions of classifier.norm (as the official classifier
// pools after the norm); the head is `classifier.head`, the submodule CLEAR
// replaces (head_name "classifier.head").
// Init as the official: linears trunc-normal std 0.02 with zero bias, LN
// weight 1 / bias 0, convs PyTorch's default, x_proj U(+-1/sqrt(2C)),
// dt_projs_weight U(+-R^-1/2), dt_projs_bias = softplus^-1(dt) with dt
// log-uniform in [1e-3, 1e-1], A_logs = log(1..N), Ds = 1.
//
//   variant              dims             depths     params (1000 classes)
//   tiny (`vmamba`)      96,192,384,768   2,2,9,2    43,722,376
//   small                96,192,384,768   2,2,27,2   86,528,392
//   base                 128,256,512,1024 2,2,27,2   151,079,784
// Small and base keep the VSSM() block and take the widths and depths of the
// official VMamba (v0) small and base (configs/vssm/vmambav0_{small,base}_224);
// the published checkpoints of those (MLP-free, PatchMerging) do not load.
#include <array>
#include <memory>
#include <string>

#include "models/backbones/backbone.h"

namespace radclear::models {

class BackboneRegistry;

struct VMambaConfig {
  std::string arch;
  std::array<int64_t, 4> dims{96, 192, 384, 768};
  std::array<int64_t, 4> depths{2, 2, 9, 2};
  int64_t patch = 4;
  int64_t d_state = 16;
  double ssm_ratio = 2.0;  // SS2D inner width = int(ssm_ratio * C)
  int64_t d_conv = 3;      // depthwise conv kernel
  double mlp_ratio = 4.0;  // MLP hidden = int(mlp_ratio * C)
  // Which selective scan (selective_scan.h) SS2D runs; the same maths, only
  // speed and memory differ. 0: the sequential one; T > 0: the chunked one
  // with chunks of T; -1: by device, sequential on the CPU (there the chunked
  // one measured 4.6x to 16x slower at vmamba_tiny's stage sizes, bench/
  // selective_scan_bench.cc), chunks of 16 on CUDA (L/16 steps of large
  // kernels instead of L steps of small ones). Default: -1.
  int64_t scan_chunk = -1;
};

// Throws InvalidArgument when a width, depth, patch, state size or ratio is
// not positive, d_conv is even, scan_chunk < -1, or image_size < 32.
std::shared_ptr<BackboneImpl> make_vmamba(const VMambaConfig& config, const BackboneOptions& options);

void register_vmamba_backbones(BackboneRegistry& registry);

}  // namespace radclear::models
