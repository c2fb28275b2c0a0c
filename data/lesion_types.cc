#include "data/lesion_types.h"

#include "common/check.h"

namespace radclear::data {

std::string coarse_type_name(int coarse_type) {
  if (coarse_type < 1 || coarse_type > kNumCoarseTypes) {
    throw InvalidArgument(fmt::format("coarse lesion type {} is not in 1..8", coarse_type));
  }
  return std::string(kCoarseTypeNames[coarse_type - 1]);
}

std::optional<int> coarse_type_from_name(std::string_view name) {
  for (int i = 0; i < kNumCoarseTypes; ++i) {
    if (kCoarseTypeNames[i] == name) return i + 1;
  }
  return std::nullopt;
}

}  // namespace radclear::data
