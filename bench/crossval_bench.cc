// One ABMIL training epoch on a DeepLesion-sized synthetic feature set
// (10,594 studies, 64..512 rows of 768 features, 8 labels, float16 in
// memory) in radclear, against the same loop in PyTorch
// (scripts/bench/mil_epoch.py) in the same run.
//
// The full size needs ~6 GB of memory and minutes per epoch on a few cores;
// RADCLEAR_BENCH_STUDIES scales it down (default 10594), e.g.
//   RADCLEAR_BENCH_STUDIES=512 build/bench/radclear_crossval_bench
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>

#include "common/parallel.h"
#include "models/mil/mil.h"
#include "worker/crossval/feature_bank.h"
#include "worker/crossval/train.h"

namespace {

using namespace radclear;

constexpr int64_t kDim = 768, kLabels = 8, kMinRows = 64, kMaxRows = 512;

int64_t bench_studies() {
  const char* v = std::getenv("RADCLEAR_BENCH_STUDIES");
  return v ? std::max<int64_t>(64, std::atoll(v)) : 10594;
}

const crossval::FeatureBank& bank() {
  static const crossval::FeatureBank b = [] {
    torch::manual_seed(1);
    std::vector<crossval::BankStudy> studies;
    const int64_t n = bench_studies();
    for (int64_t i = 0; i < n; ++i) {
      crossval::BankStudy s;
      s.id = "S" + std::to_string(i);
      s.patient = s.id;
      const int64_t rows = kMinRows + torch::randint(kMaxRows - kMinRows + 1, {1}).item<int64_t>();
      s.feats = torch::randn({rows, kDim}).to(torch::kHalf);
      for (int64_t r = 0; r < rows; ++r) {
        s.coords.push_back(static_cast<int32_t>(r / 2));
        s.coords.push_back(static_cast<int32_t>(r % 2));
        s.slice_names.push_back(std::to_string(r / 2));
      }
      const auto t = (torch::rand({kLabels}) < 0.3).to(torch::kFloat32);
      s.targets.assign(t.data_ptr<float>(), t.data_ptr<float>() + kLabels);
      studies.push_back(std::move(s));
    }
    return crossval::FeatureBank::from_studies(std::move(studies), kDim);
  }();
  return b;
}

void BM_RadclearAbmilEpoch(benchmark::State& state) {
  torch::set_num_threads(hardware_threads());
  const auto& b = bank();
  std::vector<size_t> idx(b.studies().size());
  std::iota(idx.begin(), idx.end(), 0);
  std::vector<std::string> labels;
  for (int l = 0; l < kLabels; ++l) labels.push_back("l" + std::to_string(l));
  const auto pw = crossval::pos_weights(b, idx, labels);
  for (auto _ : state) {
    models::MilOptions o;
    o.in_dim = kDim;
    o.n_labels = kLabels;
    auto model = models::make_mil_model(o);
    crossval::TrainOptions to;
    to.epochs = 1;
    to.progress = false;
    const auto r = crossval::train_mil(*model, b, idx, {}, pw, to);
    benchmark::DoNotOptimize(r.best_valid_loss);
  }
  state.counters["studies"] = static_cast<double>(idx.size());
  state.counters["threads"] = hardware_threads();
  state.counters["studies_per_s"] =
      benchmark::Counter(static_cast<double>(idx.size()) * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RadclearAbmilEpoch)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

void BM_PytorchAbmilEpoch(benchmark::State& state) {
  const std::string cmd = "/usr/bin/python3 " + std::string(RADCLEAR_SOURCE_DIR) +
                          "/scripts/bench/mil_epoch.py --studies " + std::to_string(bench_studies()) +
                          " --threads " + std::to_string(hardware_threads());
  for (auto _ : state) {
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) {
      state.SkipWithError("cannot start python");
      return;
    }
    std::string out;
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    if (::pclose(p) != 0 || out.empty()) {
      state.SkipWithError(("python failed: " + out).c_str());
      return;
    }
    // The script times its own epoch (data generation excluded).
    state.SetIterationTime(nlohmann::json::parse(out)["epoch_s"].get<double>());
  }
  state.counters["studies"] = static_cast<double>(bench_studies());
  state.counters["threads"] = hardware_threads();
}
BENCHMARK(BM_PytorchAbmilEpoch)->Unit(benchmark::kSecond)->Iterations(1)->UseManualTime();

}  // namespace
