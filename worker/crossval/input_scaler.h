#pragma once
// Per-dimension standardisation of instance features, fitted on a fold's
// training studies only and saved with the fold's model. Encoder features
// are far from zero mean and unit variance (the quickstart's LeCL
// MambaOut-femto: standard deviations 0.02-0.53 per dimension, means up to
// 3.2); an attention head trained on a few hundred bags then fits the
// loudest dimensions and the offsets. Standardising first
// lifted ABMIL on the quickstart cohort from 0.51 to 0.55 mean AUROC for
// both random and pretrained features.
#include <torch/types.h>

#include <cstddef>
#include <vector>

namespace radclear::crossval {

class FeatureBank;

struct InputScaler {
  torch::Tensor mean;     // [D] float32; undefined = identity
  torch::Tensor inv_std;  // [D] float32

  bool identity() const { return !mean.defined(); }
  // (feats - mean) * inv_std on the rows where mask is true; padded rows
  // stay zero. feats [B, N, D] float32, mask [B, N] bool.
  torch::Tensor apply(const torch::Tensor& feats, const torch::Tensor& mask) const;
};

// Mean and standard deviation of every feature dimension over all rows of
// the studies `idx` (float64 sums). A dimension with a standard deviation
// below 1e-6 of its scale (constant) keeps scale 1, so it maps to 0 rather
// than amplifying rounding noise. Throws InvalidArgument when `idx` is empty.
InputScaler fit_input_scaler(const FeatureBank& bank, const std::vector<size_t>& idx);

}  // namespace radclear::crossval
