#pragma once
// A scope in which CPU operators autocast to bfloat16, like
// `with torch.autocast("cpu", dtype=torch.bfloat16)`: matmuls and
// convolutions run in bf16 (oneDNN uses AVX512-BF16/AMX where the CPU has
// them), parameters and gradients stay float32. Disabled, it does nothing.
// Autocast state is per thread; autograd's backward needs no scope.
#include <c10/core/ScalarType.h>

namespace radclear::models {

class CpuBf16Autocast {
 public:
  explicit CpuBf16Autocast(bool enabled);
  ~CpuBf16Autocast();
  CpuBf16Autocast(const CpuBf16Autocast&) = delete;
  CpuBf16Autocast& operator=(const CpuBf16Autocast&) = delete;

 private:
  bool enabled_;
  bool prev_enabled_ = false;
  c10::ScalarType prev_dtype_ = c10::ScalarType::BFloat16;
};

// Whether this CPU executes bf16 dot products natively (AVX512-BF16 or
// AMX-BF16); without them bf16 is emulated and slower than fp32.
bool cpu_has_native_bf16();

}  // namespace radclear::models
