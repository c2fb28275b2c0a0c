#pragma once
// Multiple-instance heads for study-level prediction from per-slice
// features (CLEAR's downstream protocol, reference.md §4):
//
//   abmil        Linear(D,256)+ReLU -> attention Linear(256,256), Tanh,
//                Linear(256,1) -> masked softmax over instances -> weighted
//                sum -> LayerNorm, Linear, Dropout(0.5), SiLU, Linear(L)
//   abmil_gated  the same with gated attention (Ilse et al. 2018):
//                w^T (tanh(V h) * sigmoid(U h))
//   pma          pooling by multi-head attention with learned seeds (Set
//                Transformer): H = LN(S + MHA(S, X, X)), LN(H + rFF(H)),
//                seeds flattened into the same head
//   linear       masked mean over instances -> MLP (hidden > 0) or Linear
//                (hidden == 0); for one-vector-per-study features
//
// Every head takes feats [B, N, D] and mask [B, N] (true = real instance;
// padded rows never receive attention) and returns logits [B, L] plus the
// attention each instance received [B, N] (zeros on padding). Submodule
// names match scripts/golden/mil.py so state dicts agree with PyTorch.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "stages/enums.h"

namespace radclear::models {

// The kinds and their names are declared in stages/enums.h (MilModel).
using MilKind = stages::MilModel;

// "abmil", "abmil_gated", "pma", "linear"; throws InvalidArgument listing
// the known names otherwise.
MilKind parse_mil_kind(const std::string& name);
const char* mil_kind_name(MilKind kind);
std::vector<std::string> mil_kind_names();

struct MilOptions {
  MilKind kind = MilKind::kAbmil;
  // Input feature width (the extractor's feature_dim). Required (> 0).
  int64_t in_dim = 0;
  // Number of output logits (labels). Required (> 0).
  int64_t n_labels = 0;
  // Width of the instance embedding and of the head. Default: 256.
  int64_t hidden = 256;
  // Width of the attention layer(s) in abmil / abmil_gated. Default: 256.
  int64_t attention_dim = 256;
  // Dropout in the head. Default: 0.5.
  double dropout = 0.5;
  // pma: attention heads (hidden must divide by it). Default: 4.
  int64_t pma_heads = 4;
  // pma: learned seed vectors. Default: 1.
  int64_t pma_seeds = 1;
  // linear: hidden width of the MLP; 0 gives a single Linear(D, L). Default: 256.
  int64_t linear_hidden = 256;
};

struct MilOutput {
  torch::Tensor logits;     // [B, L]
  torch::Tensor attention;  // [B, N], rows sum to 1 over unmasked instances
};

// Common interface of the heads.
class MilModelImpl : public torch::nn::Module {
 public:
  // feats [B, N, D] float, mask [B, N] bool.
  virtual MilOutput forward(const torch::Tensor& feats, const torch::Tensor& mask) = 0;
  virtual const MilOptions& options() const = 0;
};

// Builds a freshly initialised head of options.kind. Throws InvalidArgument
// when a width is not positive or pma_heads does not divide hidden.
std::shared_ptr<MilModelImpl> make_mil_model(const MilOptions& options);

// Softmax of `scores` [B, N] over the instances where mask is true; padded
// positions get exactly 0 and a bag without instances gets all zeros.
torch::Tensor masked_softmax(const torch::Tensor& scores, const torch::Tensor& mask);

}  // namespace radclear::models
