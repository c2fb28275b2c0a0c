// gpu_check: the device checks of scripts/gpu_check.sh, one phase per run
// so that a crash or hang in one phase (under the script's timeout) leaves
// the others standing. Each run prints its figures and ends with one line
//   RESULT|<label>|<PASS|FAIL|SKIP>|<summary>
// that the script collects into its table. Exit status: 0 pass or skip,
// 1 fail, 2 bad usage.
//
//   gpu_check PHASE [--device cuda|cpu] [--require-cuda] [--arch A] [--batch N]
//             [--image-size S] [--precision fp32|bf16|fp16] [--steps N] [--warmup N]
//             [--gemm-size N] [--mlp-dim N] [--label L]
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/check.h"
#include "models/backbones/registry.h"
#include "models/layers/autocast.h"
#include "models/layers/batch_norm.h"
#include "tests/gpu/moco_step_check.h"

namespace radclear::gpu_check {
namespace {

using models::Precision;

enum class Verdict { kPass, kFail, kSkip };

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kPass: return "PASS";
    case Verdict::kFail: return "FAIL";
    case Verdict::kSkip: return "SKIP";
  }
  return "?";
}

struct PhaseResult {
  Verdict verdict = Verdict::kPass;
  std::string summary;
};

struct Args {
  std::string phase;
  std::string label;           // RESULT label. Default: the phase name
  std::string device = "cuda";
  bool require_cuda = false;   // no CUDA is a failure, not a skip (set on a GPU machine)
  std::string arch = "vit_small";
  int64_t batch = 0;           // 0: the phase's default
  int64_t image_size = 224;
  Precision precision = Precision::kBFloat16;
  int steps = 10;
  int warmup = 3;
  int64_t gemm_size = 8192;
  int64_t mlp_dim = 4096;
};

// Where the phase runs, or the reason it cannot.
struct DeviceChoice {
  bool usable = false;
  torch::Device device = torch::kCPU;
  PhaseResult unusable;
};

DeviceChoice choose_device(const Args& a) {
  DeviceChoice d;
  if (a.device == "cpu") {
    d.usable = true;
    return d;
  }
  if (a.device != "cuda") throw InvalidArgument(fmt::format("--device must be cuda or cpu, got '{}'", a.device));
  if (!torch::cuda::is_available()) {
    d.unusable = {a.require_cuda ? Verdict::kFail : Verdict::kSkip,
                  a.require_cuda ? "LibTorch sees no CUDA device on a machine that has one" : "skipped: no CUDA"};
    return d;
  }
  d.usable = true;
  d.device = torch::Device(torch::kCUDA, 0);
  return d;
}

// fp32 comparisons need true fp32 matmuls and convolutions: cuDNN uses
// TF32 for fp32 convolutions by default on Ampere and later.
void disable_tf32() {
  at::globalContext().setAllowTF32CuBLAS(false);
  at::globalContext().setAllowTF32CuDNN(false);
}

models::MocoOptions moco_options(const Args& a) {
  models::MocoOptions o;
  o.mlp_dim = a.mlp_dim;
  return o;
}

std::string samples_text(const StepRecord& r) {
  std::string s;
  for (const auto& p : r.samples) {
    s += fmt::format("    {}[:{}] = [{}]\n", p.name, p.values.size(), fmt::join(p.values, ", "));
  }
  return s;
}

PhaseResult phase_env(const Args& a) {
  fmt::print("LibTorch {} (C++ ABI {}), built {}\n", TORCH_VERSION, _GLIBCXX_USE_CXX11_ABI,
             torch::cuda::is_available() ? "with CUDA visible" : "without a visible CUDA device");
  fmt::print("CUDA devices: {}, cuDNN available: {}, intra-op threads: {}\n", torch::cuda::device_count(),
             torch::cuda::cudnn_is_available(), at::get_num_threads());
  fmt::print("TF32 allowed: cuBLAS {}, cuDNN {}\n", at::globalContext().allowTF32CuBLAS(),
             at::globalContext().allowTF32CuDNN());
  const auto d = choose_device(a);
  if (!d.usable) return d.unusable;
  return {Verdict::kPass, fmt::format("torch {}, {} CUDA device(s)", TORCH_VERSION, torch::cuda::device_count())};
}

PhaseResult phase_gemm(const Args& a) {
  const auto d = choose_device(a);
  if (!d.usable) return d.unusable;
  std::string summary;
  for (const auto p : {Precision::kBFloat16, Precision::kFloat16, Precision::kFloat32}) {
    if (p == Precision::kFloat16 && !d.device.is_cuda()) continue;
    const double flops = measure_gemm_flops(d.device, models::precision_dtype(p), a.gemm_size, 10);
    fmt::print("{} GEMM {}^3 on {}: {:.4g} TFLOP/s\n", models::precision_name(p), a.gemm_size, d.device.str(),
               flops / 1e12);
    summary += fmt::format("{}{} {:.4g}", summary.empty() ? "" : ", ", models::precision_name(p), flops / 1e12);
  }
  return {Verdict::kPass, summary + " TFLOP/s"};
}

StepCase step_case(const Args& a) {
  StepCase c;
  c.arch = a.arch;
  c.batch = a.batch > 0 ? a.batch : 8;
  c.image_size = a.image_size;
  c.moco = moco_options(a);
  return c;
}

// The CUDA step equals the CPU step from the same weights and inputs.
PhaseResult phase_cpu_vs_device(const Args& a) {
  const auto d = choose_device(a);
  if (!d.usable) return d.unusable;
  disable_tf32();
  const StepCase c = step_case(a);
  const StepRecord cpu = run_step(c, torch::kCPU, Precision::kFloat32);
  const StepRecord dev = run_step(c, d.device, Precision::kFloat32);
  const double loss_rel = std::abs(dev.loss - cpu.loss) / std::max(std::abs(cpu.loss), 1e-12);
  const double grad_rel = relative_l2(dev.grads, cpu.grads);
  const double param_max = max_abs_diff(dev.params, cpu.params);
  fmt::print("{} batch {} at {}px, fp32, one SGD step: loss cpu {:.8f}, {} {:.8f}\n", c.arch, c.batch, c.image_size,
             cpu.loss, d.device.str(), dev.loss);
  fmt::print("  loss rel diff {:.3e}, gradient rel L2 {:.3e} ({} values), parameters max |diff| {:.3e}\n", loss_rel,
             grad_rel, cpu.grads.numel(), param_max);
  fmt::print("  cpu:\n{}  {}:\n{}", samples_text(cpu), d.device.str(), samples_text(dev));
  constexpr double kLossTol = 1e-4, kGradTol = 1e-3, kParamTol = 1e-4;
  const bool ok = loss_rel <= kLossTol && grad_rel <= kGradTol && param_max <= kParamTol;
  return {ok ? Verdict::kPass : Verdict::kFail,
          fmt::format("loss {:.6f} vs {:.6f} (rel {:.1e} <= {:.0e}), grad rel {:.1e} <= {:.0e}, param max {:.1e} <= {:.0e}",
                      dev.loss, cpu.loss, loss_rel, kLossTol, grad_rel, kGradTol, param_max, kParamTol)};
}

// bf16 and fp16 autocast stay within tolerance of fp32: the backbone's
// features and gradients (well conditioned), and the whole MoCo/LeCL step
// (loss, finite gradients, the step taken; fp16 through the loss scaler).
PhaseResult phase_autocast(const Args& a) {
  const auto d = choose_device(a);
  if (!d.usable) return d.unusable;
  disable_tf32();
  const StepCase c = step_case(a);
  const BackboneRecord ref_backbone = run_backbone(c, d.device, Precision::kFloat32);
  const StepRecord ref = run_step(c, d.device, Precision::kFloat32);
  fmt::print("{} batch {} at {}px on {}: fp32 MoCo/LeCL loss {:.6f}\n", c.arch, c.batch, c.image_size,
             d.device.str(), ref.loss);
  struct Tolerance {
    Precision precision;
    double feature_cos;  // min cosine of the backbone features with fp32's
    double grad_cos;     // min cosine of the backbone gradients with fp32's
    double loss_rel;     // max |MoCo loss - fp32's| / |fp32's|
  };
  const Tolerance tolerances[] = {{Precision::kBFloat16, 0.999, 0.99, 5e-2}, {Precision::kFloat16, 0.9999, 0.995, 1e-2}};
  bool ok = true;
  std::string summary;
  for (const auto& t : tolerances) {
    const char* name = models::precision_name(t.precision);
    if (t.precision == Precision::kFloat16 && !d.device.is_cuda()) {
      fmt::print("  {}: CUDA only\n", name);
      continue;
    }
    const BackboneRecord b = run_backbone(c, d.device, t.precision);
    const double feature_cos = cosine(b.features, ref_backbone.features);
    const double grad_cos = cosine(b.grads, ref_backbone.grads);
    const StepRecord r = run_step(c, d.device, t.precision);
    const double loss_rel = std::abs(r.loss - ref.loss) / std::max(std::abs(ref.loss), 1e-12);
    const double step_cos = cosine(r.grads, ref.grads);
    const bool finite = torch::isfinite(r.grads).all().item<bool>() && torch::isfinite(r.params).all().item<bool>();
    const bool pass = finite && feature_cos >= t.feature_cos && grad_cos >= t.grad_cos && loss_rel <= t.loss_rel;
    ok = ok && pass;
    fmt::print("  {} backbone: feature cosine {:.6f}, gradient cosine {:.6f} (rel L2 {:.3e})\n", name, feature_cos,
               grad_cos, relative_l2(b.grads, ref_backbone.grads));
    fmt::print("  {} MoCo/LeCL step: loss {:.6f} (rel diff {:.3e}), gradient cosine {:.4f} (not judged: random-init "
               "keys are nearly collinear), finite {}, loss scale {}, skipped steps {}: {}\n",
               name, r.loss, loss_rel, step_cos, finite, r.loss_scale, r.skipped_steps,
               pass ? "ok" : "OUT OF TOLERANCE");
    summary += fmt::format("{}{}: features cos {:.5f} (>= {}), grads cos {:.4f} (>= {}), step loss rel {:.1e} (<= {:.0e})",
                           summary.empty() ? "" : "; ", name, feature_cos, t.feature_cos, grad_cos, t.grad_cos,
                           loss_rel, t.loss_rel);
    if (t.precision == Precision::kFloat16) {
      summary += fmt::format(", loss scale {} after {} skipped", r.loss_scale, r.skipped_steps);
    }
  }
  return {ok ? Verdict::kPass : Verdict::kFail, summary};
}

// World of one: the reducer is called but changes nothing, so synchronised
// batch norm must equal the plain one (and reach the reducer with host memory).
class WorldOfOne : public models::BatchStatsReducer {
 public:
  int world() const override { return 1; }
  int rank() const override { return 0; }
  void allreduce_sum(double*, size_t) override { ++calls; }
  int calls = 0;
};

PhaseResult phase_syncbn(const Args& a) {
  const auto d = choose_device(a);
  if (!d.usable) return d.unusable;
  torch::manual_seed(0);
  const auto options = torch::TensorOptions().device(d.device);
  const auto x = torch::randn({16, 32, 8, 8}, options).mul_(3).add_(1);
  const auto w = torch::rand({32}, options).add_(0.5), b = torch::randn({32}, options);
  const auto dy = torch::randn({16, 32, 8, 8}, options);
  auto run = [&](bool sync, WorldOfOne& reducer) {
    auto xi = x.clone().requires_grad_(true), wi = w.clone().requires_grad_(true), bi = b.clone().requires_grad_(true);
    auto mean = torch::zeros({32}, options), var = torch::ones({32}, options);
    const auto y = sync ? models::sync_batch_norm(xi, wi, bi, mean, var, 0.1, 1e-5, reducer)
                        : torch::batch_norm(xi, wi, bi, mean, var, true, 0.1, 1e-5, true);
    (y * dy).sum().backward();
    return std::vector<torch::Tensor>{y.detach(), xi.grad(), wi.grad(), bi.grad(), mean, var};
  };
  WorldOfOne unused, reducer;
  const auto ref = run(false, unused);
  const auto got = run(true, reducer);
  const char* names[] = {"output", "grad input", "grad weight", "grad bias", "running mean", "running var"};
  double worst = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double rel = relative_l2(got[i].flatten().cpu(), ref[i].flatten().cpu());
    fmt::print("  sync vs plain batch norm on {}: {} rel L2 {:.3e}\n", d.device.str(), names[i], rel);
    worst = std::max(worst, rel);
  }
  constexpr double kTol = 1e-5;
  const bool ok = worst <= kTol && reducer.calls == 2;
  return {ok ? Verdict::kPass : Verdict::kFail,
          fmt::format("worst rel L2 {:.1e} <= {:.0e}, reducer calls {} (want 2)", worst, kTol, reducer.calls)};
}

PhaseResult phase_throughput(const Args& a) {
  const auto d = choose_device(a);
  if (!d.usable) return d.unusable;
  at::globalContext().setBenchmarkCuDNN(true);
  ThroughputCase c;
  c.arch = a.arch;
  c.batch = a.batch > 0 ? a.batch : 128;
  c.image_size = a.image_size;
  c.moco = moco_options(a);
  c.precision = a.precision;
  c.steps = a.steps;
  c.warmup = a.warmup;
  c.gemm_size = a.gemm_size;
  const ThroughputRecord r = measure_throughput(c, d.device);
  const char* precision = models::precision_name(c.precision);
  fmt::print("MoCo/LeCL step (AdamW) {} at {}px, batch {} (two views each), {} on {}:\n", c.arch, c.image_size,
             c.batch, precision, d.device.str());
  fmt::print("  {:.4f} s/step (median of {}, after {} warm-up) = {:.1f} img/s\n", r.seconds_per_step, c.steps,
             c.warmup, r.images_per_s);
  fmt::print("  {:.2f} GFLOP/image/step, achieved {:.4g} TFLOP/s; {} GEMM {}^3 {:.4g} TFLOP/s; MFU {:.1f}%\n",
             r.flops_per_image / 1e9, r.achieved_flops / 1e12, precision, c.gemm_size, r.gemm_flops / 1e12,
             100 * r.mfu);
  return {Verdict::kPass, fmt::format("{:.1f} img/s, {:.4f} s/step, {:.4g} TFLOP/s, MFU {:.1f}% of {} GEMM {:.4g} TFLOP/s",
                                      r.images_per_s, r.seconds_per_step, r.achieved_flops / 1e12, 100 * r.mfu,
                                      precision, r.gemm_flops / 1e12)};
}

struct Phase {
  const char* name;
  const char* description;
  std::function<PhaseResult(const Args&)> run;
};

const std::vector<Phase>& phases() {
  static const std::vector<Phase> table = {
      {"env", "what LibTorch sees: version, CUDA devices, cuDNN, TF32 flags", phase_env},
      {"gemm", "bf16 / fp16 / fp32 GEMM rate (--gemm-size)", phase_gemm},
      {"cpu_vs_device", "fp32 MoCo/LeCL step on --device equals the CPU step (--arch, --batch)", phase_cpu_vs_device},
      {"autocast", "bf16 and fp16 autocast within tolerance of fp32 (--arch, --batch)", phase_autocast},
      {"syncbn", "synchronised batch norm on --device equals torch::batch_norm", phase_syncbn},
      {"throughput", "img/s and MFU of the training step (--arch, --batch, --precision)", phase_throughput},
  };
  return table;
}

void usage(std::ostream& out) {
  out << "usage: gpu_check PHASE [--device cuda|cpu] [--require-cuda] [--arch A] [--batch N] [--image-size S]\n"
         "                 [--precision fp32|bf16|fp16] [--steps N] [--warmup N] [--gemm-size N] [--mlp-dim N]\n"
         "                 [--label L]\nphases:\n";
  for (const auto& p : phases()) out << fmt::format("  {:14} {}\n", p.name, p.description);
}

Args parse(int argc, char** argv) {
  if (argc < 2) throw InvalidArgument("missing PHASE");
  Args a;
  a.phase = argv[1];
  std::map<std::string, std::function<void(const std::string&)>> flags = {
      {"--label", [&](const std::string& v) { a.label = v; }},
      {"--device", [&](const std::string& v) { a.device = v; }},
      {"--arch", [&](const std::string& v) { a.arch = v; }},
      {"--batch", [&](const std::string& v) { a.batch = std::stoll(v); }},
      {"--image-size", [&](const std::string& v) { a.image_size = std::stoll(v); }},
      {"--precision", [&](const std::string& v) { a.precision = models::parse_precision(v); }},
      {"--steps", [&](const std::string& v) { a.steps = std::stoi(v); }},
      {"--warmup", [&](const std::string& v) { a.warmup = std::stoi(v); }},
      {"--gemm-size", [&](const std::string& v) { a.gemm_size = std::stoll(v); }},
      {"--mlp-dim", [&](const std::string& v) { a.mlp_dim = std::stoll(v); }},
  };
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--require-cuda") {
      a.require_cuda = true;
      continue;
    }
    const auto it = flags.find(flag);
    if (it == flags.end()) throw InvalidArgument(fmt::format("unknown flag '{}'", flag));
    if (i + 1 >= argc) throw InvalidArgument(fmt::format("flag {} needs a value", flag));
    try {
      it->second(argv[++i]);
    } catch (const std::logic_error& e) {  // std::stoi and friends
      throw InvalidArgument(fmt::format("flag {}: bad value '{}' ({})", flag, argv[i], e.what()));
    }
  }
  if (a.label.empty()) a.label = a.phase;
  return a;
}

int run(int argc, char** argv) {
  Args a;
  try {
    a = parse(argc, argv);
  } catch (const InvalidArgument& e) {
    std::cerr << "gpu_check: " << e.what() << "\n";
    usage(std::cerr);
    return 2;
  }
  const Phase* phase = nullptr;
  for (const auto& p : phases()) {
    if (a.phase == p.name) phase = &p;
  }
  if (phase == nullptr) {
    std::cerr << "gpu_check: unknown phase '" << a.phase << "'\n";
    usage(std::cerr);
    return 2;
  }
  PhaseResult r;
  try {
    r = phase->run(a);
  } catch (const std::exception& e) {  // c10::Error and radclear::Error alike: report, do not abort the table
    r = {Verdict::kFail, fmt::format("error: {}", e.what())};
    std::string first_line = r.summary.substr(0, r.summary.find('\n'));
    std::cerr << r.summary << "\n";
    r.summary = first_line;
  }
  std::cout << std::flush;
  fmt::print("RESULT|{}|{}|{}\n", a.label, verdict_name(r.verdict), r.summary);
  return r.verdict == Verdict::kFail ? 1 : 0;
}

}  // namespace
}  // namespace radclear::gpu_check

int main(int argc, char** argv) { return radclear::gpu_check::run(argc, argv); }
