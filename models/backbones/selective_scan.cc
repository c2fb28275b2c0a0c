#include "models/backbones/selective_scan.h"

#include <torch/torch.h>

#include <limits>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/check.h"

namespace radclear::models {
namespace {

std::string shape(const torch::Tensor& t) {
  return t.defined() ? fmt::format("[{}]", fmt::join(t.sizes().vec(), ", ")) : "undefined";
}

// The inputs in float32 (float64 stays float64), split by group: u, dt (softplus applied) and
// du = dt * u as [batch, K, C, L]; A as [K, C, N]; B, C as [batch, K, N, L].
struct Prepared {
  torch::Tensor u, dt, du, A, B, C;
  int64_t batch, groups, channels, states, length;
};

Prepared prepare(const SelectiveScanInputs& in) {
  const bool ok = in.u.defined() && in.delta.defined() && in.A.defined() && in.B.defined() && in.C.defined() &&
                  in.D.defined() && in.delta_bias.defined() && in.B.dim() == 4 && in.u.dim() == 3 && in.u.size(2) > 0 &&
                  in.A.dim() == 2 && in.B.sizes() == in.C.sizes() && in.u.sizes() == in.delta.sizes() &&
                  in.u.size(0) == in.B.size(0) && in.u.size(2) == in.B.size(3) && in.B.size(1) > 0 &&
                  in.u.size(1) % in.B.size(1) == 0 && in.A.size(0) == in.u.size(1) &&
                  in.A.size(1) == in.B.size(2) && in.D.numel() == in.u.size(1) &&
                  in.delta_bias.numel() == in.u.size(1);
  if (!ok) {
    throw InvalidArgument(fmt::format(
        "selective scan: expected u, delta [batch, K*C, L] (L >= 1), A [K*C, N], B, C [batch, K, N, L], D, delta_bias "
        "[K*C]; got u {}, delta {}, A {}, B {}, C {}, D {}, delta_bias {}",
        shape(in.u), shape(in.delta), shape(in.A), shape(in.B), shape(in.C), shape(in.D), shape(in.delta_bias)));
  }
  Prepared p;
  p.batch = in.u.size(0);
  p.groups = in.B.size(1);
  p.channels = in.u.size(1) / p.groups;
  p.states = in.B.size(2);
  p.length = in.u.size(2);
  const std::vector<int64_t> split{p.batch, p.groups, p.channels, p.length};
  const auto dtype = torch::promote_types(in.u.scalar_type(), torch::kFloat);
  p.u = in.u.to(dtype).reshape(split);
  p.dt = torch::softplus(in.delta.to(dtype) + in.delta_bias.to(dtype).view({-1, 1})).reshape(split);
  p.du = p.dt * p.u;
  p.A = in.A.to(dtype).view({p.groups, p.channels, p.states});
  p.B = in.B.to(dtype);
  p.C = in.C.to(dtype);
  return p;
}

// y + D u, back to [batch, K*C, L].
torch::Tensor finish(const Prepared& p, const torch::Tensor& y, const SelectiveScanInputs& in) {
  const auto d = in.D.to(p.u.scalar_type()).view({1, p.groups, p.channels, 1});
  return (y + d * p.u).reshape({p.batch, p.groups * p.channels, p.length});
}

}  // namespace

torch::Tensor selective_scan_sequential(const SelectiveScanInputs& in) {
  const Prepared p = prepare(in);
  auto h = torch::zeros({p.batch, p.groups, p.channels, p.states}, p.u.options());
  // Split once: unbind's backward is one stack, where a select per step
  // would scatter into a zero tensor of the full length each time (O(L^2)).
  const auto dt = p.dt.unbind(3), du = p.du.unbind(3), B = p.B.unbind(3), C = p.C.unbind(3);
  std::vector<torch::Tensor> ys;
  ys.reserve(static_cast<size_t>(p.length));
  for (size_t t = 0; t < dt.size(); ++t) {
    const auto decay = torch::exp(dt[t].unsqueeze(-1) * p.A);  // [b, K, C, N]
    h = decay * h + B[t].unsqueeze(2) * du[t].unsqueeze(-1);  // [b, K, C, N]
    ys.push_back((h * C[t].unsqueeze(2)).sum(-1));           // [b, K, C]
  }
  return finish(p, torch::stack(ys, 3), in);
}

torch::Tensor selective_scan_chunked(const SelectiveScanInputs& in, int64_t chunk) {
  if (chunk < 1) throw InvalidArgument(fmt::format("selective scan: chunk must be >= 1, got {}", chunk));
  const Prepared p = prepare(in);
  const auto A = p.A.unsqueeze(0).unsqueeze(-1);  // [1, K, C, N, 1]
  auto h = torch::zeros({p.batch, p.groups, p.channels, p.states, 1}, p.u.options());
  // Split once (split's backward is one cat; a narrow per chunk would
  // scatter into a zero tensor of the full length each time).
  const auto dts = p.dt.split(chunk, 3), dus = p.du.split(chunk, 3), Bs = p.B.split(chunk, 3),
             Cs = p.C.split(chunk, 3);
  std::vector<torch::Tensor> ys;
  torch::Tensor later;  // [T, T]: true where s > t (masked), rebuilt only for the last, shorter chunk
  for (size_t i = 0; i < dts.size(); ++i) {
    const int64_t len = dts[i].size(3);
    if (!later.defined() || later.size(0) != len) {
      later = torch::ones({len, len}, torch::TensorOptions().dtype(torch::kBool).device(p.u.device())).triu(1);
    }
    const auto dt = dts[i].unsqueeze(3);                      // [b, K, C, 1, T]
    const auto x = Bs[i].unsqueeze(2) * dus[i].unsqueeze(3);  // [b, K, C, N, T]
    const auto S = torch::cumsum(dt * A, -1);                 // [b, K, C, N, T], <= 0, decreasing
    // exp(S_t - S_s) for s <= t, 0 above the diagonal: [b, K, C, N, T, T],
    // the one large temporary (filled and exponentiated in place).
    const auto decay = (S.unsqueeze(-1) - S.unsqueeze(-2))
                           .masked_fill_(later, -std::numeric_limits<float>::infinity())
                           .exp_();
    const auto states = torch::matmul(decay, x.unsqueeze(-1)).squeeze(-1) + torch::exp(S) * h;  // h_t: [b, K, C, N, T]
    ys.push_back((states * Cs[i].unsqueeze(2)).sum(3));      // [b, K, C, T]
    h = states.narrow(-1, len - 1, 1);
  }
  return finish(p, torch::cat(ys, 3), in);
}

}  // namespace radclear::models
