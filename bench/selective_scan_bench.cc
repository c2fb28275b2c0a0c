// The selective scan of VMamba's SS2D (models/backbones/selective_scan.h):
// the chunked formulation against the sequential reference at the sizes of
// vmamba_tiny's four stages for a 224 px input (batch 2, K = 4 scans,
// N = 16 states):
//   stage 0: 2C = 192 channels per scan, L = 56 * 56 = 3136 positions
//   stage 1: 384, L = 784;  stage 2: 768, L = 196;  stage 3: 1536, L = 49
//
//   BM_ScanForward/<stage>/<chunk>   forward; chunk 0 = sequential reference
//   BM_ScanTrain/<stage>/<chunk>     forward + backward (what pretraining runs)
//
// Runs on CUDA when LibTorch sees a GPU (synchronised per iteration), else on
// the CPU with torch's default thread count (RADCLEAR_BENCH_THREADS to set it).
// e.g. nice -n 19 build/bench/radclear_selective_scan_bench --benchmark_filter='Forward/0'
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cstdlib>
#include <string>

#include "models/backbones/selective_scan.h"

namespace {

using radclear::models::SelectiveScanInputs;

struct Stage {
  int64_t channels, length;
};
constexpr Stage kStages[] = {{192, 3136}, {384, 784}, {768, 196}, {1536, 49}};
constexpr int64_t kBatch = 2, kScans = 4, kStates = 16;

torch::Device bench_device() { return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU); }

void sync(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

// VMamba-like magnitudes: dt = softplus(N(0,1) - 4) ~ 0.02, A = -(1..16).
SelectiveScanInputs inputs(const Stage& s, const torch::Device& device, bool grad) {
  torch::manual_seed(0);
  const auto o = torch::TensorOptions().dtype(torch::kFloat).device(device);
  SelectiveScanInputs in;
  const int64_t kc = kScans * s.channels;
  in.u = torch::randn({kBatch, kc, s.length}, o);
  in.delta = torch::randn({kBatch, kc, s.length}, o);
  in.A = -torch::arange(1, kStates + 1, o).repeat({kc, 1});
  in.B = torch::randn({kBatch, kScans, kStates, s.length}, o);
  in.C = torch::randn({kBatch, kScans, kStates, s.length}, o);
  in.D = torch::ones({kc}, o);
  in.delta_bias = torch::full({kc}, -4.0, o);
  if (grad) {
    for (auto* t : {&in.u, &in.delta, &in.A, &in.B, &in.C, &in.D, &in.delta_bias}) t->requires_grad_(true);
  }
  return in;
}

torch::Tensor scan(const SelectiveScanInputs& in, int64_t chunk) {
  return chunk == 0 ? radclear::models::selective_scan_sequential(in)
                    : radclear::models::selective_scan_chunked(in, chunk);
}

void set_threads() {
  if (const char* t = std::getenv("RADCLEAR_BENCH_THREADS")) torch::set_num_threads(std::atoi(t));
}

void label(benchmark::State& state, const torch::Device& device) {
  const int64_t chunk = state.range(1);
  state.SetLabel((chunk == 0 ? std::string("sequential") : "chunk " + std::to_string(chunk)) + " on " +
                 (device.is_cuda() ? "cuda" : "cpu, " + std::to_string(torch::get_num_threads()) + " threads"));
}

void BM_ScanForward(benchmark::State& state) {
  set_threads();
  const auto device = bench_device();
  const auto in = inputs(kStages[state.range(0)], device, false);
  torch::NoGradGuard no_grad;
  for (auto _ : state) {
    benchmark::DoNotOptimize(scan(in, state.range(1)));
    sync(device);
  }
  label(state, device);
}

void BM_ScanTrain(benchmark::State& state) {
  set_threads();
  const auto device = bench_device();
  const auto in = inputs(kStages[state.range(0)], device, true);
  for (auto _ : state) {
    scan(in, state.range(1)).sum().backward();
    sync(device);
  }
  label(state, device);
}

void stage_and_chunk(benchmark::internal::Benchmark* b) {
  for (int64_t stage = 0; stage < 4; ++stage) {
    for (int64_t chunk : {0, 8, 16, 32, 64}) b->Args({stage, chunk});
  }
}

BENCHMARK(BM_ScanForward)->Apply(stage_and_chunk)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ScanTrain)->Apply(stage_and_chunk)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
