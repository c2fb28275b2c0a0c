#include "stages/device.h"

#include <charconv>

#include <fmt/format.h>

#include "common/check.h"

namespace radclear::stages {

DeviceChoice DeviceChoice::parse(const std::string& text) {
  if (text == "auto") return {Kind::kAuto, -1};
  if (text == "cpu") return {Kind::kCpu, -1};
  if (text == "cuda") return {Kind::kCuda, -1};
  if (text.rfind("cuda:", 0) == 0) {
    int index = -1;
    const char* first = text.data() + 5;
    const char* last = text.data() + text.size();
    const auto [end, ec] = std::from_chars(first, last, index);
    if (ec == std::errc() && end == last && first != last && index >= 0) return {Kind::kCuda, index};
  }
  throw InvalidArgument(fmt::format("device: '{}' is not one of auto, cpu, cuda, cuda:N (N = 0, 1, ...)", text));
}

std::string DeviceChoice::str() const {
  switch (kind) {
    case Kind::kAuto: return "auto";
    case Kind::kCpu: return "cpu";
    case Kind::kCuda: return index < 0 ? "cuda" : fmt::format("cuda:{}", index);
  }
  return "?";
}

void check_precision_on(const DeviceChoice& device, Precision precision, const char* stage) {
  if (precision == Precision::kFloat16 && device.kind == DeviceChoice::Kind::kCpu) {
    throw InvalidArgument(fmt::format(
        "{}: precision fp16 needs a CUDA device (--device cuda); on the CPU use bf16 (fast where the CPU has "
        "AVX512-BF16/AMX) or fp32",
        stage));
  }
}

}  // namespace radclear::stages
