#include "models/layers/autocast.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <fmt/ranges.h>

#include "common/check.h"

// PyTorch 2.4 replaced the per-device calls (set_cpu_enabled,
// set_autocast_gpu_dtype, ...) by ones taking the device type and deprecated
// the old ones.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define RADCLEAR_AUTOCAST_BY_DEVICE 1
#else
#define RADCLEAR_AUTOCAST_BY_DEVICE 0
#endif

namespace radclear::models {
namespace {

c10::ScalarType dtype_of(Precision p) {
  switch (p) {
    case Precision::kFloat32: return c10::ScalarType::Float;
    case Precision::kBFloat16: return c10::ScalarType::BFloat16;
    case Precision::kFloat16: return c10::ScalarType::Half;
  }
  throw InvalidArgument(fmt::format("unknown precision value {}", static_cast<int>(p)));
}

void set_enabled(c10::DeviceType device, bool on) {
#if RADCLEAR_AUTOCAST_BY_DEVICE
  at::autocast::set_autocast_enabled(device, on);
#else
  if (device == c10::DeviceType::CUDA) {
    at::autocast::set_enabled(on);
  } else {
    at::autocast::set_cpu_enabled(on);
  }
#endif
}

c10::ScalarType get_dtype(c10::DeviceType device) {
#if RADCLEAR_AUTOCAST_BY_DEVICE
  return at::autocast::get_autocast_dtype(device);
#else
  return device == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype()
                                         : at::autocast::get_autocast_cpu_dtype();
#endif
}

void set_dtype(c10::DeviceType device, c10::ScalarType dtype) {
#if RADCLEAR_AUTOCAST_BY_DEVICE
  at::autocast::set_autocast_dtype(device, dtype);
#else
  if (device == c10::DeviceType::CUDA) {
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
#endif
}

}  // namespace

std::vector<std::string> precision_names() {
  std::vector<std::string> names;
  for (const auto& e : kPrecisionNames) names.emplace_back(e.name);
  return names;
}

Precision parse_precision(const std::string& name) {
  for (const auto& e : kPrecisionNames) {
    if (name == e.name) return e.precision;
  }
  throw InvalidArgument(
      fmt::format("unknown precision '{}' (known: {})", name, fmt::join(precision_names(), ", ")));
}

c10::ScalarType precision_dtype(Precision precision) { return dtype_of(precision); }

bool autocast_enabled(c10::DeviceType device) {
#if RADCLEAR_AUTOCAST_BY_DEVICE
  return at::autocast::is_autocast_enabled(device);
#else
  return device == c10::DeviceType::CUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

AutocastScope::AutocastScope(c10::DeviceType device, Precision precision)
    : device_(device), enabled_(precision != Precision::kFloat32) {
  if (!enabled_) return;
  if (device != c10::DeviceType::CPU && device != c10::DeviceType::CUDA) {
    throw InvalidArgument(fmt::format("autocast: precision {} needs a CPU or CUDA device, got {}",
                                      precision_name(precision), c10::DeviceTypeName(device)));
  }
  if (device == c10::DeviceType::CPU && precision == Precision::kFloat16) {
    throw InvalidArgument("precision fp16 needs a CUDA device; on CPU use bf16 or fp32");
  }
  prev_enabled_ = autocast_enabled(device);
  prev_dtype_ = get_dtype(device);
  set_enabled(device, true);
  set_dtype(device, precision_dtype(precision));
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!enabled_) return;
  // The weight casts are cached for the outermost scope only (as in Python).
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_enabled(device_, prev_enabled_);
  set_dtype(device_, prev_dtype_);
}

bool cpu_has_native_bf16() {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
  return __builtin_cpu_supports("avx512bf16") || __builtin_cpu_supports("amx-bf16");
#else
  return false;
#endif
}

}  // namespace radclear::models
