#include "models/moco/step_bench.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/check.h"
#include "common/parallel.h"
#include "models/backbones/registry.h"
#include "models/layers/loss_scaler.h"
#include "models/moco/loss.h"

namespace radclear::models {
namespace {

using Clock = std::chrono::steady_clock;

std::atomic<double> g_flops{0.0};
std::mutex g_counter_mutex;

void add_flops(double f) {
  double cur = g_flops.load();
  while (!g_flops.compare_exchange_weak(cur, cur + f)) {
  }
}

double product(const std::vector<int64_t>& v, size_t from = 0) {
  double p = 1;
  for (size_t i = from; i < v.size(); ++i) p *= static_cast<double>(v[i]);
  return p;
}

std::vector<int64_t> sizes_of(const c10::IValue& v) {
  return v.isTensor() ? v.toTensor().sizes().vec() : std::vector<int64_t>{};
}

std::unique_ptr<at::ObserverContext> on_op_start(const at::RecordFunction& fn) {
  const std::string name = fn.name();
  const auto inputs = fn.inputs();
  if (name == "aten::mm" && inputs.size() >= 2) {  // [n, k] x [k, m]
    const auto a = sizes_of(inputs[0]), b = sizes_of(inputs[1]);
    if (a.size() == 2 && b.size() == 2) add_flops(2.0 * a[0] * a[1] * b[1]);
  } else if (name == "aten::addmm" && inputs.size() >= 3) {
    const auto a = sizes_of(inputs[1]), b = sizes_of(inputs[2]);
    if (a.size() == 2 && b.size() == 2) add_flops(2.0 * a[0] * a[1] * b[1]);
  } else if (name == "aten::bmm" && inputs.size() >= 2) {  // [B, n, k] x [B, k, m]
    const auto a = sizes_of(inputs[0]), b = sizes_of(inputs[1]);
    if (a.size() == 3 && b.size() == 3) add_flops(2.0 * a[0] * a[1] * a[2] * b[2]);
  } else if (name == "aten::baddbmm" && inputs.size() >= 3) {
    const auto a = sizes_of(inputs[1]), b = sizes_of(inputs[2]);
    if (a.size() == 3 && b.size() == 3) add_flops(2.0 * a[0] * a[1] * a[2] * b[2]);
  } else if ((name == "aten::conv2d" || name == "aten::conv1d") && inputs.size() >= 7) {
    // conv2d(input, weight, bias, stride, padding, dilation, groups): FLOPs =
    // 2 * out_elements * (in_channels / groups) * kernel elements.
    const auto x = sizes_of(inputs[0]), w = sizes_of(inputs[1]);
    if (x.size() < 3 || w.size() != x.size()) return nullptr;
    const auto stride = inputs[3].isIntList() ? inputs[3].toIntVector() : std::vector<int64_t>{};
    const size_t spatial = x.size() - 2;
    std::vector<int64_t> padding;
    bool same = false;
    if (inputs[4].isIntList()) {
      padding = inputs[4].toIntVector();
    } else if (inputs[4].isString()) {  // conv2d.padding overload: "same" or "valid"
      same = inputs[4].toStringRef() == "same";
      padding.assign(spatial, 0);
    }
    const auto dilation = inputs[5].isIntList() ? inputs[5].toIntVector() : std::vector<int64_t>{};
    if (stride.size() != spatial || padding.size() != spatial || dilation.size() != spatial) return nullptr;
    double out_elems = static_cast<double>(x[0]) * w[0];
    for (size_t d = 0; d < spatial; ++d) {
      const int64_t k = dilation[d] * (w[2 + d] - 1) + 1;
      out_elems *= static_cast<double>(same ? x[2 + d] : (x[2 + d] + 2 * padding[d] - k) / stride[d] + 1);
    }
    add_flops(2.0 * out_elems * product(w, 1));  // w[1] is already in_channels / groups
  }
  return nullptr;
}

torch::Device resolve_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available()) {
      throw InvalidArgument(fmt::format("bench step: --device {} but LibTorch sees no GPU", name));
    }
    const torch::Device device = name == "cuda" ? torch::Device(torch::kCUDA, 0) : torch::Device(name);
    if (device.index() >= static_cast<int>(torch::cuda::device_count())) {
      throw InvalidArgument(
          fmt::format("bench step: --device {} but LibTorch sees {} GPU(s)", name, torch::cuda::device_count()));
    }
    return device;
  }
  throw InvalidArgument(fmt::format("bench step: device must be auto, cpu, cuda or cuda:N, got '{}'", name));
}

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

}  // namespace

double count_matmul_flops(const std::function<void()>& fn) {
  std::lock_guard<std::mutex> lock(g_counter_mutex);
  g_flops = 0.0;
  const auto handle = at::addGlobalCallback(at::RecordFunctionCallback(&on_op_start).needsInputs(true));
  try {
    fn();
  } catch (...) {
    at::removeCallback(handle);
    throw;
  }
  at::removeCallback(handle);
  return g_flops.load();
}

double measure_sgemm_flops(const std::string& device_name, int64_t n, double seconds) {
  const torch::Device device = resolve_device(device_name);
  torch::NoGradGuard no_grad;
  const auto a = torch::randn({n, n}, torch::TensorOptions().device(device));
  const auto b = torch::randn({n, n}, torch::TensorOptions().device(device));
  auto c = torch::mm(a, b);  // warm-up
  synchronize(device);
  int64_t reps = 0;
  const auto t0 = Clock::now();
  double elapsed = 0;
  do {
    c = torch::mm(a, b);
    ++reps;
    synchronize(device);
    elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  } while (elapsed < seconds);
  return 2.0 * static_cast<double>(n) * n * n * reps / elapsed;
}

StepBenchResult bench_moco_step(const StepBenchSpec& spec) {
  if (spec.batch < 2 || spec.steps < 1 || spec.warmup < 0) {
    throw InvalidArgument(fmt::format("bench step: need batch >= 2 (BatchNorm), steps >= 1, warmup >= 0; got {}, {}, {}",
                                      spec.batch, spec.steps, spec.warmup));
  }
  const torch::Device device = resolve_device(spec.device);
  if (spec.precision == Precision::kFloat16 && !device.is_cuda()) {
    throw InvalidArgument("bench step: fp16 autocast needs CUDA; on the CPU use --precision bf16 or fp32");
  }
  set_openblas_threads(1);  // as the trainer does, so this is the step it runs
  torch::manual_seed(spec.seed);
  BackboneOptions options;
  options.image_size = spec.image_size;
  Moco moco([&] { return make_backbone(spec.arch, options); }, spec.moco);
  moco->to(device);
  moco->train();
  moco->set_backbone_precision(spec.precision);

  std::vector<torch::Tensor> trainable;
  int64_t n_trainable = 0;
  for (const auto& p : moco->parameters()) {
    if (p.requires_grad()) {
      trainable.push_back(p);
      n_trainable += p.numel();
    }
  }
  torch::optim::AdamW adamw(trainable, torch::optim::AdamWOptions(1e-4).weight_decay(0.1));
  ContrastiveLossOptions loss_options;
  loss_options.temperature = spec.temperature;
  loss_options.sample_weight = spec.sample_weight;

  const auto topt = torch::TensorOptions().device(device);
  const auto x1 = torch::randn({spec.batch, 3, spec.image_size, spec.image_size}, topt);
  const auto x2 = torch::randn({spec.batch, 3, spec.image_size, spec.image_size}, topt);
  const auto lesion = torch::arange(spec.batch, topt.dtype(torch::kLong)).remainder(2).eq(0);
  // fp16 as pretraining runs it: the scaled loss, unscale, skip on inf/NaN.
  LossScalerOptions scaler_options;
  scaler_options.enabled = spec.precision == Precision::kFloat16;
  LossScaler scaler(scaler_options);
  auto step = [&] {
    const auto out = moco->forward(x1, x2, 0.99);
    const auto loss = moco_total_loss(out.q1, out.q2, out.k1, out.k2, lesion, 0, loss_options);
    adamw.zero_grad();
    scaler.scale(loss).backward();
    scaler.step(adamw);
  };

  StepBenchResult r;
  r.arch = spec.arch;
  r.device = device.str();
  r.batch = spec.batch;
  r.image_size = spec.image_size;
  r.precision = precision_name(spec.precision);
  r.threads = at::get_num_threads();
  r.trainable_parameters = n_trainable;

  for (int i = 0; i < spec.warmup; ++i) step();
  synchronize(device);
  std::vector<double> times;
  for (int i = 0; i < spec.steps; ++i) {
    const auto t0 = Clock::now();
    step();
    synchronize(device);
    times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  r.seconds_per_step = times[times.size() / 2];
  r.images_per_s = static_cast<double>(spec.batch) / r.seconds_per_step;

  {
    torch::NoGradGuard no_grad;
    const auto one = x1.narrow(0, 0, 2);  // BatchNorm needs 2 samples
    r.query_flops = count_matmul_flops([&] { moco->query(one); }) / 2.0;
    r.key_flops = count_matmul_flops([&] { moco->key(one); }) / 2.0;
  }
  r.flops_per_image = 2.0 * (3.0 * r.query_flops + r.key_flops);
  r.achieved_flops = r.flops_per_image * r.images_per_s;
  r.sgemm_size = device.is_cuda() ? 8192 : 1024;
  r.sgemm_flops = measure_sgemm_flops(device.str(), r.sgemm_size, spec.sgemm_seconds);
  r.mfu = r.achieved_flops / r.sgemm_flops;
  return r;
}

std::string step_bench_text(const StepBenchResult& r) {
  return fmt::format(
      "MoCo/LeCL training step: {} at {}px, batch {} (two views each), {}, {} on {} thread(s)\n"
      "  {:.3f} s/step = {:.2f} images/s ({:.1f}M trainable parameters)\n"
      "  model FLOPs: {:.2f} GFLOP/view forward (query path), {:.2f} (key path), {:.2f} GFLOP/image per step\n"
      "  achieved {:.1f} GFLOP/s = {:.1f}% of measured SGEMM ({:.1f} GFLOP/s at n={})\n",
      r.arch, r.image_size, r.batch, r.precision, r.device, r.threads, r.seconds_per_step, r.images_per_s,
      r.trainable_parameters / 1e6, r.query_flops / 1e9, r.key_flops / 1e9, r.flops_per_image / 1e9,
      r.achieved_flops / 1e9, 100.0 * r.mfu, r.sgemm_flops / 1e9, r.sgemm_size);
}

std::string step_bench_json(const StepBenchResult& r) {
  nlohmann::json j;
  j["arch"] = r.arch;
  j["device"] = r.device;
  j["batch"] = r.batch;
  j["image_size"] = r.image_size;
  j["precision"] = r.precision;
  j["threads"] = r.threads;
  j["trainable_parameters"] = r.trainable_parameters;
  j["seconds_per_step"] = r.seconds_per_step;
  j["images_per_s"] = r.images_per_s;
  j["query_flops"] = r.query_flops;
  j["key_flops"] = r.key_flops;
  j["flops_per_image"] = r.flops_per_image;
  j["achieved_flops"] = r.achieved_flops;
  j["sgemm_flops"] = r.sgemm_flops;
  j["sgemm_size"] = r.sgemm_size;
  j["mfu"] = r.mfu;
  return j.dump(1);
}

}  // namespace radclear::models
