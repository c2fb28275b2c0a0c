#pragma once
// One full MoCo v3 / LeCL training step on random tensors (two views, both
// encoders, predictor, LeCL loss, backward, AdamW), timed, with the model
// FLOPs counted from the matmul/convolution ops the step actually runs and
// set against a measured SGEMM rate on the same device (`radclear bench
// step`; scripts/bench/moco_step.py is the same step in Python).
#include <cstdint>
#include <functional>
#include <string>

#include "common/precision.h"
#include "models/moco/moco.h"

namespace radclear::models {

struct StepBenchSpec {
  // Backbone registry name. Default: vit_small.
  std::string arch = "vit_small";
  // Samples per step; each sample is two views. Default: 32.
  int64_t batch = 32;
  // View side in pixels. Default: 224.
  int64_t image_size = 224;
  // Timed steps after `warmup` untimed ones. Defaults: 5 and 1.
  int steps = 5;
  int warmup = 1;
  // "cpu", "cuda", "cuda:N" or "auto" (GPU 0 when LibTorch sees one, else
  // the CPU). Default: auto. (`radclear bench step` resolves --device as the
  // stages do and passes the result.)
  std::string device = "auto";
  // MoCo head widths. Default: 256 / 4096 (CLEAR).
  MocoOptions moco;
  // Loss settings; half of the samples carry a lesion so LeCL runs.
  double temperature = 0.2;
  double sample_weight = 1.0;
  // Seconds spent measuring the SGEMM rate. Default: 1.
  double sgemm_seconds = 1.0;
  uint64_t seed = 0;
  // Backbones under autocast on the step's device
  // (MocoImpl::set_backbone_precision), as `radclear pretrain --precision`:
  // bf16 on CPU or CUDA; fp16 on CUDA only, its loss through a LossScaler.
  // Default: fp32.
  Precision precision = Precision::kFloat32;
};

struct StepBenchResult {
  std::string arch;
  std::string device;
  int64_t batch = 0;
  int64_t image_size = 0;
  std::string precision;           // "fp32", "bf16" or "fp16"
  int threads = 0;                 // torch intra-op threads
  int64_t trainable_parameters = 0;
  double seconds_per_step = 0;     // median of the timed steps
  double images_per_s = 0;         // samples (two views each) per second
  // Forward FLOPs of one view through base encoder + projector + predictor,
  // and through the momentum encoder + projector.
  double query_flops = 0;
  double key_flops = 0;
  // Training FLOPs per image: 2 views x (3 x query (forward + backward) + key).
  double flops_per_image = 0;
  double achieved_flops = 0;       // flops_per_image * images_per_s
  double sgemm_flops = 0;          // measured FLOP/s of a large SGEMM
  int64_t sgemm_size = 0;
  double mfu = 0;                  // achieved_flops / sgemm_flops (fp32 SGEMM also for bf16/fp16)
};

// Throws InvalidArgument for an unknown arch, a bad size, an unavailable
// device, or fp16 on the CPU.
StepBenchResult bench_moco_step(const StepBenchSpec& spec);

// FLOPs of the matmul-like ops (conv2d, mm, addmm, bmm, baddbmm; 2 per
// multiply-add, grouped convolutions divided by the groups) that `fn` runs
// in this process, observed through ATen's RecordFunction. Not reentrant.
double count_matmul_flops(const std::function<void()>& fn);

// Measured single-precision GEMM rate in FLOP/s on `device`, n x n matrices.
double measure_sgemm_flops(const std::string& device, int64_t n, double seconds);

std::string step_bench_text(const StepBenchResult& r);
std::string step_bench_json(const StepBenchResult& r);

}  // namespace radclear::models
