#pragma once
// MoCo v3 contrastive loss and CLEAR's lesion-aware variant (LeCL),
// reference.md §2 "Loss".
//
// q: predictor outputs of the local batch [n, d]; k: momentum outputs
// all-gathered over the W ranks [N = n*W, d] (no grad); lesion: the
// all-gathered lesion mask [N] (bool or 0/1; undefined = no lesion). Both q
// and k are L2-normalised here, s_ij = q_i . k_j / T, and the positive of
// local query i on rank r is p(i) = r*n + i.
//
//   plain:  L = 2T * mean_i [ -s_i,p(i) + logsumexp_j s_ij ]
//   LeCL:   L = 2T * mean_i [ -s_i,p(i) + log( sum_j exp(s_ij)
//                 + sum_{j: m_j = 1, j != p(i)} exp(w * s_ij) ) ]
//
// The LeCL terms are accumulated in float64 and the result is cast back to
// q's dtype. w <= 0 or no lesion in the gathered batch gives the plain loss.
// The functions take already-gathered tensors, so a distributed worker
// calls them unchanged with its rank.
#include <torch/types.h>

#include <cstdint>

namespace radclear::models {

struct ContrastiveLossOptions {
  // Softmax temperature T (> 0). Default: 1.0 (CLEAR); MoCo v3 ViT uses 0.2.
  double temperature = 1.0;
  // LeCL weight w of the lesion negatives (--sample-weight). <= 0 disables
  // LeCL. Default: 1.0.
  double sample_weight = 1.0;
};

// Plain MoCo v3 loss L(q, k) for the local queries of `rank`.
torch::Tensor moco_contrastive_loss(const torch::Tensor& q, const torch::Tensor& k_gathered,
                                    int64_t rank, double temperature);

// LeCL loss L(q, k); falls back to moco_contrastive_loss when
// options.sample_weight <= 0 or `lesion_gathered` is undefined or all zero.
torch::Tensor lecl_contrastive_loss(const torch::Tensor& q, const torch::Tensor& k_gathered,
                                    const torch::Tensor& lesion_gathered, int64_t rank,
                                    const ContrastiveLossOptions& options);

// The symmetric total L(q1, k2) + L(q2, k1) with LeCL when enabled.
torch::Tensor moco_total_loss(const torch::Tensor& q1, const torch::Tensor& q2,
                              const torch::Tensor& k1_gathered, const torch::Tensor& k2_gathered,
                              const torch::Tensor& lesion_gathered, int64_t rank,
                              const ContrastiveLossOptions& options);

}  // namespace radclear::models
