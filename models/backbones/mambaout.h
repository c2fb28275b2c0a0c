#pragma once
// MambaOut (Yu & Wang 2024): a four-stage gated-CNN hierarchy with the
// parameter names of the original models/mambaout.py, channels-last inside:
//   downsample_layers.0 = stem {conv1 3x3/2, norm1 (LN), GELU, conv2 3x3/2, norm2}
//   downsample_layers.{1,2,3} = {conv 3x3/2, norm}
//   stages.{s}.{j} = GatedCNNBlock {norm, fc1 (C -> 2h), conv (7x7 depthwise
//                    on the last C channels), fc2 (h -> C)}, h = int(8/3 C)
//   norm (LN on the global mean), head = MlpHead {fc1 (C -> 4C), GELU, norm, fc2}
// All LayerNorms eps 1e-6; init trunc-normal std 0.02, zero biases.
//
//   variant  dims               depths      params (1000 classes)
//   femto    48,96,192,288      3,3,9,3     7.3M
//   kobe     48,96,192,288      3,3,15,3    9.1M
//   tiny     96,192,384,576     3,3,9,3     26.5M   (`mambaout` = tiny)
//   small    96,192,384,576     3,4,27,3    48.5M
//   base     128,256,512,768    3,4,27,3    84.8M
// The head and feature width follow the variant (dims[3]).
#include <array>
#include <memory>
#include <string>

#include "models/backbones/backbone.h"

namespace radclear::models {

class BackboneRegistry;

struct MambaOutConfig {
  std::string arch;
  std::array<int64_t, 4> dims{};
  std::array<int64_t, 4> depths{};
  double expansion_ratio = 8.0 / 3.0;
  int64_t kernel_size = 7;
  double conv_ratio = 1.0;  // conv channels = int(conv_ratio * C)
  double head_mlp_ratio = 4.0;
};

// Throws InvalidArgument when a width or depth is not positive, the conv
// channels exceed the hidden width, or image_size < 32.
std::shared_ptr<BackboneImpl> make_mambaout(const MambaOutConfig& config, const BackboneOptions& options);

void register_mambaout_backbones(BackboneRegistry& registry);

}  // namespace radclear::models
