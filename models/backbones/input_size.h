#pragma once
// The input check every four-stage backbone shares.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/check.h"

namespace radclear::models {

// Throws InvalidArgument naming `arch` when `image_size` is below 32: the
// stem and three downsampling stages divide it by 32.
inline void check_downsamples_32x(const std::string& arch, int64_t image_size) {
  if (image_size < 32) {
    throw InvalidArgument(
        fmt::format("{}: image_size {} is below 32 (the network downsamples 32x)", arch, image_size));
  }
}

// Throws InvalidArgument naming `arch` unless `sizes` is [B, 3, H, W] (the
// backbones take any H and W their stages accept).
inline void check_image_batch(const std::string& arch, const std::vector<int64_t>& sizes) {
  if (sizes.size() != 4 || sizes[1] != 3) {
    throw InvalidArgument(fmt::format("{}: expected input [B, 3, H, W], got [{}]", arch, fmt::join(sizes, ", ")));
  }
}

}  // namespace radclear::models
