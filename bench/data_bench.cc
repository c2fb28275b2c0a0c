// Slice pipeline speed, one thread (rates are per core):
//   BM_DecodePng16      read + decode a 512x512 16-bit CT PNG (the floor)
//   BM_LeclPipeline/0   the full two-view pipeline, non-lesion slice
//   BM_LeclPipeline/1   the full two-view pipeline, lesion slice
// plus the pieces (window, view crop + resize, augmentation, normalise).
// The target: pipeline >= 70% of the decode rate.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "data/decode.h"
#include "data/lecl_views.h"
#include "data/loader.h"
#include "data/phantom.h"
#include "data/resize.h"
#include "data/transforms.h"
#include "data/window.h"

namespace radclear::data {
namespace {

// One realistic 512x512 slice (the synth phantom, with a lesion), written
// once to a temporary PNG; the page cache keeps reads cheap, as for a warm
// data set.
struct Fixture {
  std::string path;
  LesionBox box;
  Fixture() {
    // A real slice can be benchmarked instead: RADCLEAR_BENCH_SLICE=path.png
    // (its lesion box is then a fixed 40 x 30 box in the middle).
    if (const char* real = std::getenv("RADCLEAR_BENCH_SLICE")) {
      path = real;
      owned = false;
      box = {236, 241, 276, 271};
      return;
    }
    const PhantomPatient patient = make_phantom_patient(7, 1);
    const PhantomStudy study = make_phantom_study(7, patient, 1, 32, 512, 1);
    const int k = study.lesions.at(0).key_slice;
    const RenderedSlice slice = render_phantom_slice(study, k);
    cv::Mat raw;
    slice.hu.convertTo(raw, CV_16U, 1.0, 32768.0);
    path = (std::filesystem::temp_directory_path() / "radclear_data_bench_slice.png").string();
    cv::imwrite(path, raw);
    const auto b = lesion_box(slice, 0);
    box = {b[0], b[1], b[2], b[3]};
  }
  ~Fixture() {
    if (owned) std::remove(path.c_str());
  }
  bool owned = true;
};

const Fixture& fixture() {
  static const Fixture f;
  return f;
}

void BM_DecodePng16(benchmark::State& state) {
  const auto& f = fixture();
  for (auto _ : state) {
    DecodedImage img = decode_file(f.path);
    benchmark::DoNotOptimize(img.pixels.data);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodePng16)->Unit(benchmark::kMillisecond);

void BM_LeclPipeline(benchmark::State& state) {
  const auto& f = fixture();
  SliceSample s;
  s.path = f.path;
  if (state.range(0)) {
    s.lesion = true;
    s.boxes = {f.box};
  }
  const SlicePipeline pipe("", {"abdomen"}, LeclViewSpec{});
  std::vector<float> v1(3 * 224 * 224), v2(3 * 224 * 224);
  int64_t i = 0;
  for (auto _ : state) {
    pipe.run(s, 1, 0, i++, v1.data(), v2.data());
    benchmark::DoNotOptimize(v1.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LeclPipeline)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_Window(benchmark::State& state) {
  const DecodedImage img = decode_file(fixture().path);
  const WindowLut lut(parse_ct_window("abdomen"));
  for (auto _ : state) benchmark::DoNotOptimize(lut.apply(img.pixels).data);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Window)->Unit(benchmark::kMicrosecond);

void BM_RandomResizedCrop(benchmark::State& state) {
  const cv::Mat img8 = WindowLut(parse_ct_window("abdomen")).apply(decode_file(fixture().path).pixels);
  int64_t i = 0;
  for (auto _ : state) {
    SampleRng rng(1, 0, i++);
    const CropParams c = random_resized_crop_params(img8.rows, img8.cols, {}, rng);
    benchmark::DoNotOptimize(resized_crop(img8, c, 224).data);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RandomResizedCrop)->Unit(benchmark::kMicrosecond);

void BM_Augment(benchmark::State& state) {
  const cv::Mat img8 = WindowLut(parse_ct_window("abdomen")).apply(decode_file(fixture().path).pixels);
  const cv::Mat view = resize_bilinear(img8, cv::Size(224, 224));
  const AugmentSpec spec = state.range(0) == 1 ? augmentation1() : augmentation2();
  std::vector<float> out(3 * 224 * 224);
  int64_t i = 0;
  for (auto _ : state) {
    SampleRng rng(1, 0, i++);
    const AugmentDraw d = draw_augment(spec, rng);
    write_normalized(apply_augment(view, d), Normalization{}, d.flip, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Augment)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace radclear::data

namespace radclear::data {
namespace {

// The antialiased resize alone: 512 -> 224 (view s of a lesion slice) and a
// typical crop (300 x 260 -> 224).
void BM_Resize(benchmark::State& state) {
  const cv::Mat img8 = WindowLut(parse_ct_window("abdomen")).apply(decode_file(fixture().path).pixels);
  const cv::Mat src = state.range(0) ? img8 : img8(cv::Rect(100, 120, 300, 260));
  for (auto _ : state) benchmark::DoNotOptimize(resize_bilinear(src, cv::Size(224, 224)).data);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Resize)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_Transpose512(benchmark::State& state) {
  const cv::Mat img8 = WindowLut(parse_ct_window("abdomen")).apply(decode_file(fixture().path).pixels);
  cv::Mat t;
  for (auto _ : state) {
    cv::transpose(img8, t);
    benchmark::DoNotOptimize(t.data);
  }
}
BENCHMARK(BM_Transpose512)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace radclear::data
