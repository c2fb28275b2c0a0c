#include "worker/pretrain/pretext_metrics.h"

#include <torch/torch.h>

#include <cmath>

#include "common/check.h"

namespace radclear::worker {

double positive_top1(const torch::Tensor& q, const torch::Tensor& k_gathered, int64_t rank) {
  torch::NoGradGuard no_grad;
  const int64_t n = q.size(0);
  RADCLEAR_CHECK(n > 0 && k_gathered.size(0) >= (rank + 1) * n, "top-1: {} queries of rank {} but {} keys", n, rank,
                 k_gathered.size(0));
  // Normalising q does not change a row's argmax; normalising k does.
  const auto kn = torch::nn::functional::normalize(k_gathered.to(torch::kFloat32),
                                                   torch::nn::functional::NormalizeFuncOptions().dim(1));
  const auto best = torch::matmul(q.to(torch::kFloat32), kn.t()).argmax(1);
  const auto positive = torch::arange(n, best.options()) + rank * n;
  return best.eq(positive).to(torch::kFloat64).mean().item<double>();
}

double chance_loss(const torch::Tensor& lesion_gathered, double temperature, bool lecl) {
  const int64_t big_n = lesion_gathered.size(0);
  RADCLEAR_CHECK(big_n > 0, "chance loss of an empty batch");
  const auto m = lesion_gathered.to(torch::kFloat64);
  const double lesions = m.sum().item<double>();
  if (!lecl || lesions == 0) return 4 * temperature * std::log(static_cast<double>(big_n));
  // Positive j contributes ln(N + L - m_j).
  return 4 * temperature * torch::log(big_n + lesions - m).mean().item<double>();
}

}  // namespace radclear::worker
