#pragma once
// The MoCo/LeCL training step that gpu_check runs on a device and in a
// precision: built the same way everywhere (weights initialised on the CPU
// from one seed, inputs drawn on the CPU), so a CUDA step can be compared
// value by value with the CPU step, and an autocast step with fp32.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "models/layers/autocast.h"
#include "models/moco/moco.h"

namespace radclear::gpu_check {

struct StepCase {
  // Backbone registry name. Default: vit_small.
  std::string arch = "vit_small";
  // Samples per step (two views each). Default: 8.
  int64_t batch = 8;
  int64_t image_size = 224;
  // Projector / predictor widths. Default: CLEAR's 256 / 4096.
  models::MocoOptions moco;
  // SGD learning rate: SGD's first step is lr * grad, so parameters after it
  // compare like gradients (AdamW's first step is lr * sign(grad), which
  // flips on the smallest rounding difference). Default: 0.1.
  double lr = 0.1;
  uint64_t seed = 0;
};

// A few values of one named parameter, for the log.
struct ParamSample {
  std::string name;
  std::vector<float> values;
};

struct StepRecord {
  double loss = 0;
  torch::Tensor grads;   // every trainable gradient, flattened: float32 on the CPU
  torch::Tensor params;  // every trainable parameter after the step, likewise
  std::vector<ParamSample> samples;  // the first and last trainable parameter after the step
  double loss_scale = 1;  // fp16: the scale of the step that ran
  int64_t skipped_steps = 0;  // fp16: steps skipped for inf/NaN before it
};

// One forward (both views, momentum update), LeCL loss (half the samples
// carry a lesion), backward and SGD step. fp16 goes through a LossScaler;
// a skipped step is retried on a freshly built model at the backed-off
// scale, as training would continue. Throws when no step ran.
StepRecord run_step(const StepCase& c, const torch::Device& device, models::Precision precision);

// One backbone alone, forward_features under autocast to `precision`, then
// backward of sum(features * w) for a fixed random w: a well-conditioned
// view of the autocast numerics (the MoCo loss of a random-init encoder is
// not: its features are nearly collinear, so its gradient lives in small
// differences that bf16 rounding moves).
struct BackboneRecord {
  torch::Tensor features;  // [B, feature_dim] flattened, float32 on the CPU
  torch::Tensor grads;     // every parameter gradient, flattened, likewise
};
BackboneRecord run_backbone(const StepCase& c, const torch::Device& device, models::Precision precision);

// ||a - b|| / ||b||, cosine similarity and max |a - b| of two flat tensors.
double relative_l2(const torch::Tensor& a, const torch::Tensor& b);
double cosine(const torch::Tensor& a, const torch::Tensor& b);
double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b);

struct ThroughputCase {
  std::string arch = "vit_small";
  int64_t batch = 128;
  int64_t image_size = 224;
  models::MocoOptions moco;
  models::Precision precision = models::Precision::kBFloat16;
  int warmup = 3;
  int steps = 10;
  // Side of the square GEMM whose rate is the MFU denominator.
  int64_t gemm_size = 8192;
};

struct ThroughputRecord {
  double seconds_per_step = 0;  // median of the timed steps
  double images_per_s = 0;      // samples (two views each) per second
  double flops_per_image = 0;   // 2 views x (3 x query forward + key forward)
  double achieved_flops = 0;
  double gemm_flops = 0;        // measured rate of a gemm_size^3 GEMM in the step's dtype
  double mfu = 0;               // achieved / gemm
};

// The training step of `radclear pretrain` (AdamW, LeCL) on random inputs,
// timed after warm-up with a device synchronisation around each step.
ThroughputRecord measure_throughput(const ThroughputCase& c, const torch::Device& device);

// FLOP/s of an n x n x n matrix product in `dtype` on `device`: mean of
// `reps` products after 3 untimed ones.
double measure_gemm_flops(const torch::Device& device, c10::ScalarType dtype, int64_t n, int reps);

void synchronize(const torch::Device& device);

}  // namespace radclear::gpu_check
