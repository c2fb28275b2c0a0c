#pragma once
// What the contrastive task's numbers mean: how often the positive key wins
// and where chance lies for the batch at hand. The loss (models/moco/loss.h)
// is 2T * cross-entropy per direction, summed over both directions, so its
// chance level is 4T * ln N for plain MoCo with a global batch of N, and
// more for LeCL, whose lesion keys enter the denominator a second time.
#include <torch/types.h>

#include <cstdint>

namespace radclear::worker {

// Fraction of the local queries q [n, d] whose most similar gathered key
// (k [N, d], cosine similarity) is their positive r*n + i. Chance is 1 / N.
double positive_top1(const torch::Tensor& q, const torch::Tensor& k_gathered, int64_t rank);

// The symmetric loss L(q1, k2) + L(q2, k1) when every similarity is equal
// (the encoder tells no two slices apart): 4T * mean over the N positives of
// ln(N + lesion keys other than the positive), the LeCL denominator at s = 0;
// 4T ln N for plain MoCo (lecl false, or no lesion in `lesion_gathered`).
double chance_loss(const torch::Tensor& lesion_gathered, double temperature, bool lecl);

}  // namespace radclear::worker
