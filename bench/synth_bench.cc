// Synthetic data generation: phantom rendering and 16-bit PNG encoding per
// slice (`radclear synth` prints its end-to-end rate as well).
#include <benchmark/benchmark.h>

#include <opencv2/imgcodecs.hpp>

#include "data/phantom.h"

namespace radclear::data {
namespace {

void BM_RenderSlice(benchmark::State& state) {
  const int size = static_cast<int>(state.range(0));
  const PhantomStudy study = make_phantom_study(1, make_phantom_patient(1, 1), 1, 64, size, 3);
  int k = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(render_phantom_slice(study, k++ % 64));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RenderSlice)->Arg(256)->Arg(512)->Unit(benchmark::kMillisecond);

void BM_EncodePng16(benchmark::State& state) {
  const int size = static_cast<int>(state.range(0));
  const PhantomStudy study = make_phantom_study(1, make_phantom_patient(1, 1), 1, 64, size, 3);
  cv::Mat stored;
  render_phantom_slice(study, 20).hu.convertTo(stored, CV_16U, 1.0, 32768.0);
  std::vector<uchar> buf;
  for (auto _ : state) {
    cv::imencode(".png", stored, buf,
                 {cv::IMWRITE_PNG_COMPRESSION, 1, cv::IMWRITE_PNG_STRATEGY, cv::IMWRITE_PNG_STRATEGY_RLE});
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes_per_slice"] = static_cast<double>(buf.size());
}
BENCHMARK(BM_EncodePng16)->Arg(512)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace radclear::data
