#include "stages/arch_info.h"

#include <fmt/format.h>

#include "common/check.h"
#include "common/yaml_fields.h"

namespace radclear::stages {

const std::vector<ArchInfo>& arch_infos() {
  static const std::vector<ArchInfo> table = {
      {"vit_tiny", "vit", 192, 224},
      {"vit_small", "vit", 384, 224},
      {"vit_base", "vit", 768, 224},
      {"vit_conv_small", "vit", 384, 224},
      {"vit_conv_base", "vit", 768, 224},
      {"mambaout_femto", "mambaout", 288, 224},
      {"mambaout_kobe", "mambaout", 288, 224},
      {"mambaout_tiny", "mambaout", 576, 224},
      {"mambaout", "mambaout", 576, 224},
      {"mambaout_small", "mambaout", 576, 224},
      {"mambaout_base", "mambaout", 768, 224},
      {"resnet50", "resnet", 2048, 224},
      {"swin_tiny", "swin", 768, 224},
      {"swin", "swin", 768, 224},  // CLEAR's name: Swin-T
      {"swin_small", "swin", 768, 224},
      {"swin_base", "swin", 1024, 224},
      {"swin_tiny_256", "swin", 768, 256},
      {"swin_small_256", "swin", 768, 256},
      {"vmamba_tiny", "vmamba", 768, 224},
      {"vmamba", "vmamba", 768, 224},  // CLEAR's name: VSSM() = VMamba-T
      {"vmamba_small", "vmamba", 768, 224},
      {"vmamba_base", "vmamba", 1024, 224},
  };
  return table;
}

std::optional<ArchInfo> find_arch(const std::string& arch) {
  for (const auto& a : arch_infos()) {
    if (arch == a.arch) return a;
  }
  return std::nullopt;
}

ArchInfo arch_info(const std::string& arch) {
  if (auto a = find_arch(arch)) return *a;
  std::vector<std::string> names;
  for (const auto& a : arch_infos()) names.emplace_back(a.arch);
  const auto hint = closest_match(arch, names);
  throw InvalidArgument(fmt::format("unknown backbone '{}'{}; known backbones: {}", arch,
                                    hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint),
                                    fmt::join(names, ", ")));
}

}  // namespace radclear::stages
