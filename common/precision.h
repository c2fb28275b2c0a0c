#pragma once
// The dtype the heavy ops (matmuls, convolutions) compute in: --precision of
// pretrain, extract, crossval and deploy, and of the models' autocast. One
// enum for the spec layer (stages/enums.h names it) and the models
// (models/layers/autocast.h maps it to a torch dtype), neither of which
// depends on the other.
#include <array>

namespace radclear {

enum class Precision { kFloat32, kBFloat16, kFloat16 };

struct PrecisionName {
  Precision precision;
  const char* name;
};
// The names a user types, canonical first ("fp32"); the long ones are aliases.
inline constexpr std::array<PrecisionName, 6> kPrecisionNames{{{Precision::kFloat32, "fp32"},
                                                               {Precision::kBFloat16, "bf16"},
                                                               {Precision::kFloat16, "fp16"},
                                                               {Precision::kFloat32, "float32"},
                                                               {Precision::kBFloat16, "bfloat16"},
                                                               {Precision::kFloat16, "float16"}}};

// "fp32", "bf16" or "fp16".
constexpr const char* precision_name(Precision p) {
  for (const auto& n : kPrecisionNames) {
    if (n.precision == p) return n.name;
  }
  return "?";
}

}  // namespace radclear
