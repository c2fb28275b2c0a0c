#include "models/mil/mil.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "common/check.h"
#include "models/layers/layer_norm.h"

namespace radclear::models {
namespace nn = torch::nn;

namespace {

void check_shapes(const torch::Tensor& feats, const torch::Tensor& mask, int64_t in_dim) {
  if (feats.dim() != 3 || feats.size(2) != in_dim) {
    throw InvalidArgument(fmt::format("MIL head: feats must be [B, N, {}], got {}", in_dim,
                                      fmt::join(feats.sizes().vec(), "x")));
  }
  if (mask.dim() != 2 || mask.size(0) != feats.size(0) || mask.size(1) != feats.size(1) ||
      mask.scalar_type() != torch::kBool) {
    throw InvalidArgument(fmt::format("MIL head: mask must be bool [{}, {}], got {} {}", feats.size(0),
                                      feats.size(1), fmt::join(mask.sizes().vec(), "x"),
                                      c10::toString(mask.scalar_type())));
  }
}

// LayerNorm -> Linear -> Dropout -> SiLU -> Linear: the classifier shared by
// the attention heads (reference.md §4).
nn::Sequential make_head(int64_t in, const MilOptions& o) {
  return nn::Sequential(LayerNorm(nn::LayerNormOptions({in})), nn::Linear(in, o.hidden),
                        nn::Dropout(o.dropout), nn::SiLU(), nn::Linear(o.hidden, o.n_labels));
}

nn::Sequential make_encoder(const MilOptions& o) {
  return nn::Sequential(nn::Linear(o.in_dim, o.hidden), nn::ReLU());
}

// Weighted sum of instance embeddings h [B, N, H] with weights a [B, N].
torch::Tensor attention_pool(const torch::Tensor& h, const torch::Tensor& a) {
  return torch::bmm(a.unsqueeze(1), h).squeeze(1);
}

class AbmilImpl : public MilModelImpl {
 public:
  explicit AbmilImpl(const MilOptions& o) : options_(o) {
    encoder_ = register_module("encoder", make_encoder(o));
    attention_ = register_module("attention", nn::Sequential(nn::Linear(o.hidden, o.attention_dim), nn::Tanh(),
                                                             nn::Linear(o.attention_dim, 1)));
    head_ = register_module("head", make_head(o.hidden, o));
  }
  MilOutput forward(const torch::Tensor& feats, const torch::Tensor& mask) override {
    check_shapes(feats, mask, options_.in_dim);
    const auto h = encoder_->forward(feats);                   // [B, N, H]
    const auto scores = attention_->forward(h).squeeze(-1);    // [B, N]
    const auto a = masked_softmax(scores, mask);
    return {head_->forward(attention_pool(h, a)), a};
  }
  const MilOptions& options() const override { return options_; }

 private:
  MilOptions options_;
  nn::Sequential encoder_{nullptr}, attention_{nullptr}, head_{nullptr};
};

class GatedAbmilImpl : public MilModelImpl {
 public:
  explicit GatedAbmilImpl(const MilOptions& o) : options_(o) {
    encoder_ = register_module("encoder", make_encoder(o));
    attention_v_ = register_module("attention_v", nn::Linear(o.hidden, o.attention_dim));
    attention_u_ = register_module("attention_u", nn::Linear(o.hidden, o.attention_dim));
    attention_w_ = register_module("attention_w", nn::Linear(o.attention_dim, 1));
    head_ = register_module("head", make_head(o.hidden, o));
  }
  MilOutput forward(const torch::Tensor& feats, const torch::Tensor& mask) override {
    check_shapes(feats, mask, options_.in_dim);
    const auto h = encoder_->forward(feats);
    const auto gated = torch::tanh(attention_v_->forward(h)) * torch::sigmoid(attention_u_->forward(h));
    const auto a = masked_softmax(attention_w_->forward(gated).squeeze(-1), mask);
    return {head_->forward(attention_pool(h, a)), a};
  }
  const MilOptions& options() const override { return options_; }

 private:
  MilOptions options_;
  nn::Sequential encoder_{nullptr}, head_{nullptr};
  nn::Linear attention_v_{nullptr}, attention_u_{nullptr}, attention_w_{nullptr};
};

class PmaImpl : public MilModelImpl {
 public:
  explicit PmaImpl(const MilOptions& o) : options_(o) {
    const int64_t h = o.hidden;
    encoder_ = register_module("encoder", make_encoder(o));
    seeds_ = register_parameter("seeds", torch::empty({1, o.pma_seeds, h}));
    nn::init::xavier_uniform_(seeds_);
    q_proj_ = register_module("q_proj", nn::Linear(h, h));
    k_proj_ = register_module("k_proj", nn::Linear(h, h));
    v_proj_ = register_module("v_proj", nn::Linear(h, h));
    o_proj_ = register_module("o_proj", nn::Linear(h, h));
    norm0_ = register_module("norm0", LayerNorm(nn::LayerNormOptions({h})));
    ff_ = register_module("ff", nn::Sequential(nn::Linear(h, h), nn::ReLU()));
    norm1_ = register_module("norm1", LayerNorm(nn::LayerNormOptions({h})));
    head_ = register_module("head", make_head(o.pma_seeds * h, o));
  }
  MilOutput forward(const torch::Tensor& feats, const torch::Tensor& mask) override {
    check_shapes(feats, mask, options_.in_dim);
    const int64_t b = feats.size(0), n = feats.size(1), k = options_.pma_seeds;
    const int64_t heads = options_.pma_heads, dh = options_.hidden / heads;
    const auto x = encoder_->forward(feats);                       // [B, N, H]
    const auto s = seeds_.expand({b, k, options_.hidden});         // [B, k, H]
    auto split = [&](const torch::Tensor& t, int64_t len) {        // [B, len, H] -> [B, heads, len, dh]
      return t.reshape({b, len, heads, dh}).transpose(1, 2);
    };
    const auto q = split(q_proj_->forward(s), k);
    const auto key = split(k_proj_->forward(x), n);
    const auto v = split(v_proj_->forward(x), n);
    const auto scores = torch::matmul(q, key.transpose(-2, -1)) / std::sqrt(static_cast<double>(dh));
    const auto w = masked_softmax(scores, mask.view({b, 1, 1, n}));  // [B, heads, k, N]
    const auto ctx = torch::matmul(w, v).transpose(1, 2).reshape({b, k, options_.hidden});
    const auto hmid = norm0_->forward(s + o_proj_->forward(ctx));
    const auto pooled = norm1_->forward(hmid + ff_->forward(hmid));  // [B, k, H]
    return {head_->forward(pooled.reshape({b, k * options_.hidden})), w.mean({1, 2})};
  }
  const MilOptions& options() const override { return options_; }

 private:
  MilOptions options_;
  nn::Sequential encoder_{nullptr}, ff_{nullptr}, head_{nullptr};
  torch::Tensor seeds_;
  nn::Linear q_proj_{nullptr}, k_proj_{nullptr}, v_proj_{nullptr}, o_proj_{nullptr};
  LayerNorm norm0_{nullptr}, norm1_{nullptr};  // normalise in float32 (also under autocast)
};

class LinearHeadImpl : public MilModelImpl {
 public:
  explicit LinearHeadImpl(const MilOptions& o) : options_(o) {
    if (o.linear_hidden > 0) {
      head_ = register_module("head", nn::Sequential(nn::Linear(o.in_dim, o.linear_hidden), nn::ReLU(),
                                                     nn::Dropout(o.dropout), nn::Linear(o.linear_hidden, o.n_labels)));
    } else {
      head_ = register_module("head", nn::Sequential(nn::Linear(o.in_dim, o.n_labels)));
    }
  }
  MilOutput forward(const torch::Tensor& feats, const torch::Tensor& mask) override {
    check_shapes(feats, mask, options_.in_dim);
    const auto m = mask.to(feats.scalar_type());
    const auto a = m / m.sum(1, /*keepdim=*/true).clamp_min(1.0);  // uniform over real instances
    return {head_->forward(attention_pool(feats, a)), a};
  }
  const MilOptions& options() const override { return options_; }

 private:
  MilOptions options_;
  nn::Sequential head_{nullptr};
};

}  // namespace

MilKind parse_mil_kind(const std::string& name) { return stages::parse_enum<MilKind>(name); }

const char* mil_kind_name(MilKind kind) { return stages::enum_name(kind); }

std::vector<std::string> mil_kind_names() { return stages::enum_names<MilKind>(); }

torch::Tensor masked_softmax(const torch::Tensor& scores, const torch::Tensor& mask) {
  // The lowest finite value instead of -inf: a bag with no instance then
  // softmaxes to uniform (no NaN, also in the backward pass) and the final
  // multiplication by the mask zeroes it. In float32 whatever the scores
  // are (bf16/fp16 under autocast cannot hold float's lowest, and autocast
  // runs softmax in float32 anyway).
  const auto filled = scores.to(torch::kFloat).masked_fill(mask.logical_not(), std::numeric_limits<float>::lowest());
  return torch::softmax(filled, -1) * mask.to(torch::kFloat);
}

std::shared_ptr<MilModelImpl> make_mil_model(const MilOptions& o) {
  if (o.in_dim <= 0 || o.n_labels <= 0 || o.hidden <= 0 || o.attention_dim <= 0) {
    throw InvalidArgument(fmt::format("MIL model {}: in_dim ({}), n_labels ({}), hidden ({}) and attention_dim ({}) "
                                      "must be positive",
                                      mil_kind_name(o.kind), o.in_dim, o.n_labels, o.hidden, o.attention_dim));
  }
  if (o.dropout < 0.0 || o.dropout >= 1.0) {
    throw InvalidArgument(fmt::format("MIL model: dropout must be in [0, 1), got {}", o.dropout));
  }
  switch (o.kind) {
    case MilKind::kAbmil:
      return std::make_shared<AbmilImpl>(o);
    case MilKind::kAbmilGated:
      return std::make_shared<GatedAbmilImpl>(o);
    case MilKind::kPma:
      if (o.pma_heads <= 0 || o.pma_seeds <= 0 || o.hidden % o.pma_heads != 0) {
        throw InvalidArgument(fmt::format("MIL model pma: hidden ({}) must be divisible by pma_heads ({}) and "
                                          "pma_seeds ({}) positive",
                                          o.hidden, o.pma_heads, o.pma_seeds));
      }
      return std::make_shared<PmaImpl>(o);
    case MilKind::kLinear:
      return std::make_shared<LinearHeadImpl>(o);
  }
  throw InvalidArgument("unknown MIL kind");
}

}  // namespace radclear::models
