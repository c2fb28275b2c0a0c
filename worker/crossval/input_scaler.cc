#include "worker/crossval/input_scaler.h"

#include <torch/torch.h>

#include "common/check.h"
#include "worker/crossval/feature_bank.h"

namespace radclear::crossval {

torch::Tensor InputScaler::apply(const torch::Tensor& feats, const torch::Tensor& mask) const {
  if (identity()) return feats;
  return (feats - mean) * inv_std * mask.unsqueeze(-1).to(feats.scalar_type());
}

InputScaler fit_input_scaler(const FeatureBank& bank, const std::vector<size_t>& idx) {
  if (idx.empty()) throw InvalidArgument("cannot fit feature standardisation on no studies");
  torch::NoGradGuard ng;
  const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  auto sum = torch::zeros({bank.dim()}, opts);
  auto sq = torch::zeros({bank.dim()}, opts);
  int64_t rows = 0;
  for (size_t i : idx) {
    const auto f = bank.studies()[i].feats.to(torch::kFloat64);
    sum += f.sum(0);
    sq += (f * f).sum(0);
    rows += f.size(0);
  }
  const auto mean = sum / static_cast<double>(rows);
  const auto var = (sq / static_cast<double>(rows) - mean * mean).clamp_min(0.0);
  auto std = var.sqrt();
  // Constant dimensions (relative to their magnitude) keep scale 1.
  const auto tiny = std < (mean.abs() + 1.0) * 1e-6;
  std = torch::where(tiny, torch::ones_like(std), std);
  InputScaler s;
  s.mean = mean.to(torch::kFloat32);
  s.inv_std = (1.0 / std).to(torch::kFloat32);
  return s;
}

}  // namespace radclear::crossval
