#include "tests/gpu/moco_step_check.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "common/check.h"
#include "models/backbones/registry.h"
#include "models/layers/loss_scaler.h"
#include "models/moco/loss.h"
#include "models/moco/step_bench.h"

namespace radclear::gpu_check {
namespace {

using Clock = std::chrono::steady_clock;
using models::Precision;

// MoCo v3 ViT's temperature; LeCL's lesion negatives on (CLEAR's default).
models::ContrastiveLossOptions loss_options() {
  models::ContrastiveLossOptions o;
  o.temperature = 0.2;
  o.sample_weight = 1.0;
  return o;
}

models::Moco build_moco(const std::string& arch, int64_t image_size, const models::MocoOptions& moco,
                        const torch::Device& device, Precision precision) {
  models::BackboneOptions options;
  options.image_size = image_size;
  models::Moco m([&] { return models::make_backbone(arch, options); }, moco);
  m->to(device);
  m->train();
  m->set_backbone_precision(precision);
  return m;
}

// Samples 0, 2, 4, ... carry a lesion, so the LeCL terms run.
torch::Tensor lesion_mask(int64_t batch, const torch::Device& device) {
  return torch::arange(batch, torch::TensorOptions().dtype(torch::kLong).device(device)).remainder(2).eq(0);
}

std::vector<std::pair<std::string, torch::Tensor>> trainable_parameters(models::MocoImpl& moco) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : moco.named_parameters()) {
    if (item.value().requires_grad()) out.emplace_back(item.key(), item.value());
  }
  return out;
}

torch::Tensor flat_cpu(const std::vector<torch::Tensor>& parts) {
  std::vector<torch::Tensor> flat;
  flat.reserve(parts.size());
  for (const auto& p : parts) flat.push_back(p.detach().to(torch::kCPU, torch::kFloat).flatten());
  return torch::cat(flat);
}

ParamSample sample(const std::string& name, const torch::Tensor& p) {
  const auto v = p.detach().flatten().narrow(0, 0, std::min<int64_t>(4, p.numel())).to(torch::kCPU, torch::kFloat);
  return {name, std::vector<float>(v.data_ptr<float>(), v.data_ptr<float>() + v.numel())};
}

// One step on a fresh model; `stepped` says whether the scaler let it run.
StepRecord attempt_step(const StepCase& c, const torch::Device& device, Precision precision,
                        models::LossScaler& scaler, bool& stepped) {
  torch::manual_seed(c.seed);  // weights: drawn on the CPU, identical for every device
  auto moco = build_moco(c.arch, c.image_size, c.moco, device, precision);
  const auto named = trainable_parameters(*moco);
  std::vector<torch::Tensor> params;
  for (const auto& [name, p] : named) params.push_back(p);
  torch::optim::SGD sgd(params, torch::optim::SGDOptions(c.lr));

  torch::manual_seed(c.seed + 1);  // inputs: likewise
  const auto x1 = torch::randn({c.batch, 3, c.image_size, c.image_size}).to(device);
  const auto x2 = torch::randn({c.batch, 3, c.image_size, c.image_size}).to(device);
  const auto out = moco->forward(x1, x2, 0.99);
  const auto loss = models::moco_total_loss(out.q1, out.q2, out.k1, out.k2, lesion_mask(c.batch, device), 0,
                                            loss_options());
  sgd.zero_grad();
  scaler.scale(loss).backward();
  scaler.unscale(sgd);

  StepRecord r;
  r.loss = loss.item<double>();
  r.loss_scale = scaler.scale_value();
  std::vector<torch::Tensor> grads;
  for (const auto& p : params) grads.push_back(p.grad().defined() ? p.grad() : torch::zeros_like(p));
  r.grads = flat_cpu(grads);
  stepped = scaler.step(sgd);
  r.params = flat_cpu(params);
  r.samples = {sample(named.front().first, named.front().second), sample(named.back().first, named.back().second)};
  return r;
}

}  // namespace

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

StepRecord run_step(const StepCase& c, const torch::Device& device, Precision precision) {
  models::LossScalerOptions scaling;
  scaling.enabled = precision == Precision::kFloat16;
  models::LossScaler scaler(scaling);
  constexpr int kMaxAttempts = 12;  // 2^16 backs off to 2^5 at most
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    bool stepped = false;
    StepRecord r = attempt_step(c, device, precision, scaler, stepped);
    if (stepped) {
      r.skipped_steps = scaler.skipped_steps();
      return r;
    }
  }
  throw Error(StatusCode::kInternal,
              fmt::format("{} {} step on {}: gradients non-finite in {} attempts (loss scale now {})", c.arch,
                          models::precision_name(precision), device.str(), kMaxAttempts, scaler.scale_value()));
}

BackboneRecord run_backbone(const StepCase& c, const torch::Device& device, Precision precision) {
  models::BackboneOptions options;
  options.image_size = c.image_size;
  torch::manual_seed(c.seed);
  auto backbone = models::make_backbone(c.arch, options);
  backbone->to(device);
  backbone->train();
  torch::manual_seed(c.seed + 1);
  const auto x = torch::randn({c.batch, 3, c.image_size, c.image_size}).to(device);
  const auto w = torch::randn({backbone->info().feature_dim}).to(device);
  torch::Tensor f;
  {
    models::AutocastScope autocast(device.type(), precision);
    f = backbone->forward_features(x).to(torch::kFloat);
  }
  (f * w).sum().backward();
  std::vector<torch::Tensor> grads;
  for (const auto& p : backbone->parameters()) {
    if (p.requires_grad()) grads.push_back(p.grad().defined() ? p.grad() : torch::zeros_like(p));
  }
  return {flat_cpu({f}), flat_cpu(grads)};
}

double relative_l2(const torch::Tensor& a, const torch::Tensor& b) {
  const auto a64 = a.to(torch::kDouble), b64 = b.to(torch::kDouble);
  return ((a64 - b64).norm() / b64.norm().clamp_min(1e-300)).item<double>();
}

double cosine(const torch::Tensor& a, const torch::Tensor& b) {
  return torch::cosine_similarity(a.to(torch::kDouble), b.to(torch::kDouble), 0).item<double>();
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

double measure_gemm_flops(const torch::Device& device, c10::ScalarType dtype, int64_t n, int reps) {
  RADCLEAR_CHECK(n > 0 && reps > 0, "GEMM size {} and repetitions {} must be positive", n, reps);
  torch::NoGradGuard no_grad;
  const auto options = torch::TensorOptions().device(device).dtype(dtype);
  const auto a = torch::randn({n, n}, options);
  const auto b = torch::randn({n, n}, options);
  torch::Tensor c;
  for (int i = 0; i < 3; ++i) c = torch::mm(a, b);
  synchronize(device);
  const auto t0 = Clock::now();
  for (int i = 0; i < reps; ++i) c = torch::mm(a, b);
  synchronize(device);
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return 2.0 * static_cast<double>(n) * n * n * reps / seconds;
}

ThroughputRecord measure_throughput(const ThroughputCase& c, const torch::Device& device) {
  RADCLEAR_CHECK(c.batch >= 2 && c.steps >= 1 && c.warmup >= 0, "throughput: batch {} (>= 2), steps {}, warmup {}",
                 c.batch, c.steps, c.warmup);
  torch::manual_seed(0);
  auto moco = build_moco(c.arch, c.image_size, c.moco, device, c.precision);
  std::vector<torch::Tensor> params;
  for (const auto& [name, p] : trainable_parameters(*moco)) params.push_back(p);
  torch::optim::AdamW adamw(params, torch::optim::AdamWOptions(1e-4).weight_decay(0.1));
  models::LossScalerOptions scaling;
  scaling.enabled = c.precision == Precision::kFloat16;
  models::LossScaler scaler(scaling);

  const auto options = torch::TensorOptions().device(device);
  const auto x1 = torch::randn({c.batch, 3, c.image_size, c.image_size}, options);
  const auto x2 = torch::randn({c.batch, 3, c.image_size, c.image_size}, options);
  const auto lesion = lesion_mask(c.batch, device);
  auto step = [&] {
    const auto out = moco->forward(x1, x2, 0.99);
    const auto loss = models::moco_total_loss(out.q1, out.q2, out.k1, out.k2, lesion, 0, loss_options());
    adamw.zero_grad();
    scaler.scale(loss).backward();
    scaler.step(adamw);
  };
  for (int i = 0; i < c.warmup; ++i) step();
  synchronize(device);
  std::vector<double> times;
  for (int i = 0; i < c.steps; ++i) {
    const auto t0 = Clock::now();
    step();
    synchronize(device);
    times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());

  ThroughputRecord r;
  r.seconds_per_step = times[times.size() / 2];
  r.images_per_s = static_cast<double>(c.batch) / r.seconds_per_step;
  {
    // FLOPs do not depend on the precision; count them in fp32, where no
    // autocast wrapper sits between the ops and the observer.
    moco->set_backbone_precision(Precision::kFloat32);
    torch::NoGradGuard no_grad;
    const auto two = x1.narrow(0, 0, 2);  // BatchNorm needs 2 samples
    const double query = models::count_matmul_flops([&] { moco->query(two); }) / 2.0;
    const double key = models::count_matmul_flops([&] { moco->key(two); }) / 2.0;
    r.flops_per_image = 2.0 * (3.0 * query + key);
  }
  r.achieved_flops = r.flops_per_image * r.images_per_s;
  r.gemm_flops = measure_gemm_flops(device, models::precision_dtype(c.precision), c.gemm_size, 10);
  r.mfu = r.achieved_flops / r.gemm_flops;
  return r;
}

}  // namespace radclear::gpu_check
