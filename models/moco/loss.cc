#include "models/moco/loss.h"

#include <torch/nn/functional/loss.h>
#include <torch/nn/functional/normalization.h>

#include <limits>
#include <string>

#include <fmt/ranges.h>

#include "common/check.h"

namespace radclear::models {
namespace {

namespace F = torch::nn::functional;

std::string shape(const torch::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes(), ", ")); }

void check_shapes(const torch::Tensor& q, const torch::Tensor& k, int64_t rank,
                  double temperature) {
  if (q.dim() != 2 || k.dim() != 2 || q.size(1) != k.size(1)) {
    throw InvalidArgument(fmt::format("contrastive loss: q must be [n, d] and k [N, d], got q {} and k {}",
                                      shape(q), shape(k)));
  }
  const int64_t n = q.size(0);
  if (n == 0 || k.size(0) % n != 0) {
    throw InvalidArgument(fmt::format(
        "contrastive loss: gathered keys ({} rows) must be a whole multiple of the local batch ({})",
        k.size(0), n));
  }
  const int64_t world = k.size(0) / n;
  if (rank < 0 || rank >= world) {
    throw InvalidArgument(fmt::format("contrastive loss: rank {} outside the {} ranks implied by k {} and q {}",
                                      rank, world, shape(k), shape(q)));
  }
  if (!(temperature > 0)) {
    throw InvalidArgument(fmt::format("contrastive loss: temperature must be > 0, got {}", temperature));
  }
}

// Normalised logits s = q k^T / T [n, N] and the positive index of each row.
std::pair<torch::Tensor, torch::Tensor> logits_and_labels(const torch::Tensor& q,
                                                          const torch::Tensor& k, int64_t rank,
                                                          double temperature) {
  const auto qn = F::normalize(q, F::NormalizeFuncOptions().dim(1));
  const auto kn = F::normalize(k, F::NormalizeFuncOptions().dim(1));
  const auto logits = torch::matmul(qn, kn.t()) / temperature;
  const int64_t n = q.size(0);
  const auto labels =
      torch::arange(n, torch::TensorOptions().dtype(torch::kLong).device(q.device())) + n * rank;
  return {logits, labels};
}

}  // namespace

torch::Tensor moco_contrastive_loss(const torch::Tensor& q, const torch::Tensor& k_gathered,
                                    int64_t rank, double temperature) {
  check_shapes(q, k_gathered, rank, temperature);
  auto [logits, labels] = logits_and_labels(q, k_gathered, rank, temperature);
  return F::cross_entropy(logits, labels) * (2.0 * temperature);
}

torch::Tensor lecl_contrastive_loss(const torch::Tensor& q, const torch::Tensor& k_gathered,
                                    const torch::Tensor& lesion_gathered, int64_t rank,
                                    const ContrastiveLossOptions& options) {
  check_shapes(q, k_gathered, rank, options.temperature);
  if (options.sample_weight <= 0 || !lesion_gathered.defined()) {
    return moco_contrastive_loss(q, k_gathered, rank, options.temperature);
  }
  if (lesion_gathered.dim() != 1 || lesion_gathered.size(0) != k_gathered.size(0)) {
    throw InvalidArgument(fmt::format("LeCL loss: lesion mask must be [N] = [{}], got {}",
                                      k_gathered.size(0), shape(lesion_gathered)));
  }
  const auto lesion = lesion_gathered.to(q.device()).to(torch::kBool);
  if (!lesion.any().item<bool>()) {
    return moco_contrastive_loss(q, k_gathered, rank, options.temperature);
  }
  auto [logits, labels] = logits_and_labels(q, k_gathered, rank, options.temperature);
  const auto s = logits.to(torch::kDouble);  // [n, N]
  const int64_t n = q.size(0);
  const int64_t big_n = k_gathered.size(0);

  // Extra negatives: exp(w s_ij) for lesion keys j other than the positive.
  const auto not_positive =
      torch::arange(big_n, labels.options()).unsqueeze(0) != labels.unsqueeze(1);  // [n, N]
  const auto extra_mask = not_positive & lesion.unsqueeze(0);
  const auto neg_inf = torch::full({}, -std::numeric_limits<double>::infinity(), s.options());
  const auto extra = torch::where(extra_mask, s * options.sample_weight, neg_inf);

  // log(sum_j exp(s_ij) + sum_extra exp(w s_ij)) as one stable logsumexp.
  const auto log_denominator = torch::logsumexp(torch::cat({s, extra}, 1), 1);  // [n]
  const auto positive = s.gather(1, labels.unsqueeze(1)).squeeze(1);           // [n]
  const auto per_query = log_denominator - positive;
  RADCLEAR_CHECK_EQ(per_query.size(0), n, "LeCL per-query terms");
  return (per_query.mean() * (2.0 * options.temperature)).to(q.scalar_type());
}

torch::Tensor moco_total_loss(const torch::Tensor& q1, const torch::Tensor& q2,
                              const torch::Tensor& k1_gathered, const torch::Tensor& k2_gathered,
                              const torch::Tensor& lesion_gathered, int64_t rank,
                              const ContrastiveLossOptions& options) {
  return lecl_contrastive_loss(q1, k2_gathered, lesion_gathered, rank, options) +
         lecl_contrastive_loss(q2, k1_gathered, lesion_gathered, rank, options);
}

}  // namespace radclear::models
