#pragma once
// Mixed precision as `with torch.autocast(device_type, dtype)`: inside an
// AutocastScope, matmuls and convolutions on that device run in bf16 or fp16
// while parameters and gradients stay float32 (on CPU oneDNN uses
// AVX512-BF16/AMX where the CPU has them; on CUDA the tensor cores).
// Autocast state is per thread; autograd's backward needs no scope.
// LibTorch 1.13 and 2.x name the calls differently (autocast.cc hides it).
#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

#include <string>
#include <vector>

#include "common/precision.h"

namespace radclear::models {

// --precision: the dtype the heavy ops compute in (common/precision.h).
using radclear::Precision;
using radclear::precision_name;
std::vector<std::string> precision_names();
// Throws InvalidArgument listing the known names ("fp32", "bf16", "fp16" and
// their long forms).
Precision parse_precision(const std::string& name);
// kFloat, kBFloat16, kHalf.
c10::ScalarType precision_dtype(Precision precision);

class AutocastScope {
 public:
  // kFloat32 does nothing. Throws InvalidArgument for fp16 on CPU (LibTorch
  // 1.13 has no CPU fp16 autocast, and fp16 GEMMs on CPU are emulated) and
  // for devices other than CPU and CUDA.
  AutocastScope(c10::DeviceType device, Precision precision);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType device_;
  bool enabled_;
  bool prev_enabled_ = false;
  c10::ScalarType prev_dtype_ = c10::ScalarType::BFloat16;
};

// CPU bf16 autocast when `enabled` (what `radclear pretrain --precision
// bf16` has used since before the CUDA path).
class CpuBf16Autocast : public AutocastScope {
 public:
  explicit CpuBf16Autocast(bool enabled)
      : AutocastScope(c10::DeviceType::CPU, enabled ? Precision::kBFloat16 : Precision::kFloat32) {}
};

// Whether autocast is on for `device` in this thread.
bool autocast_enabled(c10::DeviceType device);

// Whether this CPU executes bf16 dot products natively (AVX512-BF16 or
// AMX-BF16); without them bf16 is emulated and slower than fp32.
bool cpu_has_native_bf16();

}  // namespace radclear::models
