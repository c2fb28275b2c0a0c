#pragma once
// --device of pretrain, extract, crossval, deploy: where a stage's tensors
// live. "auto" (the default) is the rank's local GPU when radclear was built
// with a CUDA LibTorch and one is present, else the CPU; "cuda" is the
// rank's local GPU (local_rank under mpirun/srun); "cuda:N" one GPU. The
// spec layer only parses and checks the choice; worker/device.h resolves it
// against the machine.
#include <string>

#include "common/precision.h"

namespace radclear::stages {

struct DeviceChoice {
  enum class Kind { kAuto, kCpu, kCuda };
  Kind kind = Kind::kAuto;
  int index = -1;  // kCuda: the GPU ("cuda:N"); -1: the rank's local GPU

  // "auto", "cpu", "cuda", "cuda:N". Throws InvalidArgument naming the
  // forms it takes.
  static DeviceChoice parse(const std::string& text);
  std::string str() const;
  bool operator==(const DeviceChoice& o) const { return kind == o.kind && index == o.index; }
  bool operator!=(const DeviceChoice& o) const { return !(*this == o); }
};

// fp16 needs CUDA: refused for --device cpu with the alternatives (auto is
// checked again once resolved). Throws InvalidArgument naming `stage`.
void check_precision_on(const DeviceChoice& device, Precision precision, const char* stage);

}  // namespace radclear::stages
