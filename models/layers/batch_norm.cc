#include "models/layers/batch_norm.h"

#include <torch/torch.h>

#include "common/check.h"

namespace radclear::models {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

std::vector<int64_t> reduce_dims(const torch::Tensor& x) {
  std::vector<int64_t> dims = {0};
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  return dims;
}

// [C] -> [1, C, 1, ...] to broadcast against the input.
torch::Tensor per_channel(const torch::Tensor& v, const torch::Tensor& like) {
  std::vector<int64_t> shape(static_cast<size_t>(like.dim()), 1);
  shape[1] = -1;
  return v.view(shape);
}

// Sums in float64 for the collective: the statistics of a large global
// batch lose digits in float32. The reducer takes host memory, so CUDA
// statistics (2C + 1 values) go through the host and come back to `t`'s
// device.
torch::Tensor allreduce_sum(const torch::Tensor& t, BatchStatsReducer& reducer) {
  auto d = t.to(torch::kCPU, torch::kFloat64).contiguous();
  reducer.allreduce_sum(d.data_ptr<double>(), static_cast<size_t>(d.numel()));
  return d.to(t.device());
}

struct BatchNormFunction : public torch::autograd::Function<BatchNormFunction> {
  static torch::Tensor forward(AutogradContext* ctx, torch::Tensor input, torch::Tensor weight, torch::Tensor bias,
                               torch::Tensor running_mean, torch::Tensor running_var, double momentum, double eps,
                               BatchStatsReducer* comm) {
    const auto dims = reduce_dims(input);
    const int64_t C = input.size(1);
    const double local_n = static_cast<double>(input.numel() / C);
    auto x64 = input.to(torch::kFloat64);
    auto stats = torch::cat({x64.sum(dims), (x64 * x64).sum(dims), torch::full({1}, local_n, x64.options())});
    stats = allreduce_sum(stats, *comm);
    const double n = stats[2 * C].item<double>();
    RADCLEAR_CHECK(n > 1, "rank {}: batch norm over a global batch of {} values per channel", comm->rank(), n);
    auto mean = stats.narrow(0, 0, C) / n;
    auto var = (stats.narrow(0, C, C) / n - mean * mean).clamp_min(0);
    auto invstd = (var + eps).rsqrt();
    {
      torch::NoGradGuard no_grad;
      if (running_mean.numel() > 0) running_mean.mul_(1 - momentum).add_(mean.to(running_mean.dtype()) * momentum);
      if (running_var.numel() > 0) {
        running_var.mul_(1 - momentum).add_((var * (n / (n - 1))).to(running_var.dtype()) * momentum);
      }
    }
    auto xhat = ((x64 - per_channel(mean, input)) * per_channel(invstd, input)).to(input.scalar_type());
    auto out = xhat;
    if (weight.defined()) out = out * per_channel(weight, input) + per_channel(bias, input);
    ctx->save_for_backward({xhat, invstd.to(input.scalar_type()), weight});
    ctx->saved_data["n"] = n;
    ctx->saved_data["comm"] = reinterpret_cast<int64_t>(comm);
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    auto xhat = saved[0], invstd = saved[1], weight = saved[2];
    auto* comm = reinterpret_cast<BatchStatsReducer*>(ctx->saved_data["comm"].toInt());
    const double n = ctx->saved_data["n"].toDouble();
    auto dy = grads[0];
    const auto dims = reduce_dims(dy);
    const int64_t C = dy.size(1);
    auto local_dy = dy.sum(dims);
    auto local_dy_xhat = (dy * xhat).sum(dims);
    auto global = allreduce_sum(torch::cat({local_dy, local_dy_xhat}), *comm).to(dy.scalar_type());
    auto mean_dy = global.narrow(0, 0, C) / n;
    auto mean_dy_xhat = global.narrow(0, C, C) / n;
    auto scale = weight.defined() ? invstd * weight : invstd;
    auto dx = per_channel(scale, dy) * (dy - per_channel(mean_dy, dy) - xhat * per_channel(mean_dy_xhat, dy));
    // Weight and bias gradients stay local: the gradient syncer averages them.
    torch::Tensor dw, db;
    if (weight.defined()) {
      dw = local_dy_xhat;
      db = local_dy;
    }
    return {dx, dw, db, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor sync_batch_norm(const torch::Tensor& input, const torch::Tensor& weight, const torch::Tensor& bias,
                              torch::Tensor running_mean, torch::Tensor running_var, double momentum, double eps,
                              BatchStatsReducer& comm) {
  RADCLEAR_CHECK(input.dim() >= 2, "batch norm input must be [N, C, ...], got {} dims", input.dim());
  // Autograd functions need defined tensors: stand-ins for absent affine
  // parameters (identity) and running statistics (empty, not updated).
  const int64_t C = input.size(1);
  auto w = weight.defined() ? weight : torch::ones({C}, input.options());
  auto b = bias.defined() ? bias : torch::zeros({C}, input.options());
  auto rm = running_mean.defined() ? running_mean : torch::empty({0}, input.options());
  auto rv = running_var.defined() ? running_var : torch::empty({0}, input.options());
  return BatchNormFunction::apply(input, w, b, rm, rv, momentum, eps, &comm);
}

BatchNormImpl::BatchNormImpl(BatchNormOptions options_) : options(options_) { reset(); }

void BatchNormImpl::reset() {
  RADCLEAR_CHECK(options.num_features > 0, "num_features must be positive, got {}", options.num_features);
  if (options.affine) {
    weight = register_parameter("weight", torch::ones({options.num_features}));
    bias = register_parameter("bias", torch::zeros({options.num_features}));
  } else {
    weight = register_parameter("weight", torch::Tensor(), /*requires_grad=*/false);
    bias = register_parameter("bias", torch::Tensor(), /*requires_grad=*/false);
  }
  if (options.track_running_stats) {
    running_mean = register_buffer("running_mean", torch::zeros({options.num_features}));
    running_var = register_buffer("running_var", torch::ones({options.num_features}));
    num_batches_tracked = register_buffer("num_batches_tracked", torch::tensor(0, torch::kLong));
  }
}

torch::Tensor BatchNormImpl::forward(const torch::Tensor& in) {
  // Statistics in float32 also under bf16/fp16 autocast (models/layers/autocast.h).
  const bool reduced = in.scalar_type() == torch::kBFloat16 || in.scalar_type() == torch::kHalf;
  const torch::Tensor input = reduced ? in.to(torch::kFloat) : in;
  RADCLEAR_CHECK(input.dim() >= 2 && input.size(1) == options.num_features,
                 "BatchNorm({}) got input of shape {}", options.num_features, c10::str(input.sizes()));
  const bool use_batch_stats = is_training() || !options.track_running_stats;
  if (is_training() && options.track_running_stats) num_batches_tracked.add_(1);
  if (!use_batch_stats || reducer_ == nullptr || reducer_->world() == 1) {
    return torch::batch_norm(input, weight, bias, running_mean, running_var, use_batch_stats, options.momentum,
                             options.eps, /*cudnn_enabled=*/true);
  }
  return sync_batch_norm(input, weight, bias, running_mean, running_var, options.momentum, options.eps, *reducer_);
}

int set_batch_stats_reducer(torch::nn::Module& module, BatchStatsReducer* reducer) {
  int n = 0;
  for (const auto& m : module.modules(/*include_self=*/true)) {
    if (auto* bn = m->as<BatchNormImpl>()) {
      bn->set_reducer(reducer);
      ++n;
    }
  }
  return n;
}

}  // namespace radclear::models
