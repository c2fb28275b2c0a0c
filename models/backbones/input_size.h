#pragma once
// The input check every four-stage backbone shares.
#include <fmt/format.h>

#include <cstdint>
#include <string>

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

}  // namespace radclear::models
