#pragma once
// ResNet with bottleneck blocks in torchvision's layout and names (ResNet
// v1.5: the stride sits in the 3x3 conv):
//   conv1 7x7/2, bn1, maxpool 3x3/2,
//   layer{1..4}.{j}.{conv1,bn1,conv2,bn2,conv3,bn3[,downsample.0,downsample.1]},
//   global average pool, fc.
// Init as torchvision with zero_init_residual=True (what MoCo v3 builds):
// convs kaiming-normal (fan_out, ReLU), BN weight 1 / bias 0, then the last
// BN of every residual branch (bn3) weight 0; fc PyTorch's default.
//   resnet50   blocks 3,4,6,3   25,557,032 params (1000 classes)
// (resnet101 would be blocks 3,4,23,3: one more line in register_resnet_backbones.)
#include <array>
#include <memory>
#include <string>

#include "models/backbones/backbone.h"

namespace radclear::models {

class BackboneRegistry;

struct ResNetConfig {
  std::string arch;
  std::array<int64_t, 4> blocks{};
};

// Throws InvalidArgument when a block count is not positive or image_size < 32.
std::shared_ptr<BackboneImpl> make_resnet(const ResNetConfig& config, const BackboneOptions& options);

void register_resnet_backbones(BackboneRegistry& registry);

}  // namespace radclear::models
