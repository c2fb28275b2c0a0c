#include "worker/device.h"

#include <unistd.h>

#include <torch/cuda.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/check.h"
#include "models/layers/autocast.h"

namespace radclear::worker {

namespace {

std::string host_name() {
  char name[256] = {};
  return ::gethostname(name, sizeof name - 1) == 0 ? std::string(name) : std::string("this node");
}

}  // namespace

torch::Device resolve_device(const stages::DeviceChoice& choice, int local_rank, const char* stage) {
  using Kind = stages::DeviceChoice::Kind;
  if (choice.kind == Kind::kCpu) return torch::kCPU;
  const bool built = torch::cuda::is_available() || torch::hasCUDA();
  const int64_t gpus = torch::cuda::is_available() ? static_cast<int64_t>(torch::cuda::device_count()) : 0;
  if (choice.kind == Kind::kAuto) {
    if (gpus == 0) return torch::kCPU;
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank % gpus));
  }
  if (!built) {
    throw InvalidArgument(fmt::format(
        "{}: --device {} needs a LibTorch built with CUDA, and this radclear links a CPU-only one (Debian's). "
        "Build against a CUDA LibTorch: RADCLEAR_TORCH_DIR=/path/to/libtorch (or =pip for the pip-installed "
        "PyTorch) bash scripts/setup.sh; or run with --device cpu",
        stage, choice.str()));
  }
  if (gpus == 0) {
    throw InvalidArgument(fmt::format("{}: --device {}: no GPU is visible on {} (CUDA_VISIBLE_DEVICES, the "
                                         "driver?); run with --device cpu or on a GPU node",
                                         stage, choice.str(), host_name()));
  }
  const int64_t index = choice.index >= 0 ? choice.index : local_rank;
  if (index >= gpus) {
    throw InvalidArgument(fmt::format(
        "{}: --device {}: GPU {} does not exist on {}, which has {} GPU(s){}", stage, choice.str(), index,
        host_name(), gpus,
        choice.index < 0 ? " (--device cuda takes the rank's local rank as the index: start at most one rank per "
                           "GPU per node)"
                         : ""));
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

void check_precision(const torch::Device& device, Precision precision, const char* stage, bool warn) {
  if (!device.is_cpu()) return;
  if (precision == Precision::kFloat16) {
    throw InvalidArgument(fmt::format(
        "{}: precision fp16 needs a CUDA device and this run is on the CPU; use bf16 (fast where the CPU has "
        "AVX512-BF16/AMX) or fp32",
        stage));
  }
  if (precision == Precision::kBFloat16 && warn && !models::cpu_has_native_bf16()) {
    spdlog::warn("{}: this CPU has no AVX512-BF16/AMX: bf16 is emulated, likely slower than fp32 and less "
                 "accurate (ResNet-50 gradients: cosine 0.84 to fp32's)",
                 stage);
  }
}

}  // namespace radclear::worker
