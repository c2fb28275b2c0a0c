#pragma once
// --device and --precision against this machine: what a stage does first,
// before any work, so a bad choice fails in seconds with the fix.
#include <torch/types.h>

#include "common/precision.h"
#include "stages/device.h"

namespace radclear::worker {

// auto: the rank's local GPU (`local_rank` modulo the node's GPUs) when
// LibTorch has CUDA and a GPU is visible, else the CPU; cuda: GPU
// `local_rank`; cuda:N: GPU N. Throws InvalidArgument (bad input, exit 2) naming `stage`:
// for CUDA on a CPU-only LibTorch (with how to build against a CUDA
// LibTorch: RADCLEAR_TORCH_DIR=... bash scripts/setup.sh) or on a machine
// without a GPU, and for a GPU index the node does not have (naming the
// host, the index and how many it has).
torch::Device resolve_device(const stages::DeviceChoice& choice, int local_rank, const char* stage);

// fp16 on the CPU is refused (InvalidArgument with the alternatives);
// bf16 on a CPU without AVX512-BF16/AMX logs a warning when `warn` (it is
// emulated there and slower than fp32).
void check_precision(const torch::Device& device, Precision precision, const char* stage, bool warn);

}  // namespace radclear::worker
