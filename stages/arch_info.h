#pragma once
// What a process without LibTorch needs to know of a backbone (timm's
// pretrained_cfg): its family, feature width and default input size. The
// coordinator sizes and checks jobs with it; models/backbones/registry is
// tested to build exactly these names with exactly these widths.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace radclear::stages {

struct ArchInfo {
  const char* arch;            // registry name: "vit_small"
  const char* family;          // "vit", "mambaout", "resnet", "swin"
  int64_t feature_dim;         // width of the pooled features extraction stores
  int64_t default_image_size;  // input height = width it was designed for
};

// Every built-in backbone, in registry order.
const std::vector<ArchInfo>& arch_infos();
// The entry of `arch`, or nullopt.
std::optional<ArchInfo> find_arch(const std::string& arch);
// The entry of `arch`; throws InvalidArgument listing the known names with a
// "did you mean" suggestion.
ArchInfo arch_info(const std::string& arch);

}  // namespace radclear::stages
