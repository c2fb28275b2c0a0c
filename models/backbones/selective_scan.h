#pragma once
// The selective scan of Mamba / VMamba's SS2D in plain LibTorch ops (no
// custom kernel), the same code on CPU and CUDA. Per channel d of group k
// and state index n, with dt = softplus(delta + delta_bias):
//   h_t = exp(dt_t A[d, n]) h_{t-1} + dt_t B_t[n] u_t,   h_{-1} = 0
//   y_t = sum_n C_t[n] h_t[n] + D[d] u_t
// Shapes (VMamba's selective_scan_torch): u, delta [batch, K*C, L];
// A [K*C, N] (<= 0); B, C [batch, K, N, L] (shared by the C channels of
// group k); D, delta_bias [K*C]. Returns y [batch, K*C, L]. Computes in
// float32 (16-bit inputs are upcast, as VMamba's force_fp32), or in float64
// when u is float64.
#include <torch/types.h>

#include <cstdint>

namespace radclear::models {

struct SelectiveScanInputs {
  torch::Tensor u, delta, A, B, C, D, delta_bias;
};

// The reference: one step per position, as the recurrence reads. L small
// tensor steps; kept for the tests and the benchmark.
torch::Tensor selective_scan_sequential(const SelectiveScanInputs& in);

// The same result in ceil(L / chunk) steps. Within a chunk of length T the
// cumulative log-decays S_t = sum_{s<=t} dt_s A are formed with cumsum, and
// every contribution is weighted by exp(S_t - S_s) with s <= t, or by
// exp(S_t) from the carried state: only differences <= 0 are exponentiated
// (no overflow, whatever the decay); pairs s > t are masked to -inf before
// exp, which keeps their gradient at zero. The intra-chunk sum over the
// positions is a batched matmul. Work and memory per step are
// O(batch * K*C * N * T^2): T times the reference's arithmetic in L/T steps
// instead of L (bench/selective_scan_bench.cc measures the trade). Throws InvalidArgument for chunk < 1 or shapes
// that do not fit together.
torch::Tensor selective_scan_chunked(const SelectiveScanInputs& in, int64_t chunk);

}  // namespace radclear::models
