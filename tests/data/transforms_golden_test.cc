// Each deterministic transform against torchvision 0.14 on PIL images
// (scripts/golden/transforms.py writes tests/golden/data/). Tolerances are
// per case in the manifest: `tolerance` is the largest allowed absolute
// difference (8-bit levels, or float units for normalised tensors) and
// `max_fraction` the largest fraction of values allowed to differ at all.
// Resampling, blur and the colour blends reproduce Pillow's/torch's
// arithmetic; on x86-64 every case matches exactly (the test prints any
// case that does not), the tolerances leave room for one-level rounding
// ties on other CPUs or OpenCV builds.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/types.h>

#include "data/resize.h"
#include "data/transforms.h"

namespace radclear::data {
namespace {

const std::string kDir = std::string(RADCLEAR_SOURCE_DIR) + "/tests/golden/data/";

cv::Mat load_rgb_or_gray(const std::string& path) {
  cv::Mat m = cv::imread(path, cv::IMREAD_UNCHANGED);
  EXPECT_FALSE(m.empty()) << path;
  if (m.channels() == 3) cv::cvtColor(m, m, cv::COLOR_BGR2RGB);
  return m;
}

cv::Mat run_op(const std::string& op, const nlohmann::json& p, const cv::Mat& in) {
  if (op == "resize") return resize_bilinear(in, cv::Size(p["width"].get<int>(), p["height"].get<int>()));
  if (op == "resized_crop") {
    CropParams c{p["top"].get<int>(), p["left"].get<int>(), p["height"].get<int>(), p["width"].get<int>()};
    return resized_crop(in, c, p["size"].get<int>());
  }
  if (op == "eval") return eval_transform(in, p["size"].get<int>());
  if (op == "brightness") return adjust_brightness(in, p["factor"].get<double>());
  if (op == "contrast") return adjust_contrast(in, p["factor"].get<double>());
  if (op == "saturation") return adjust_saturation(in, p["factor"].get<double>());
  if (op == "hue") return adjust_hue(in, p["factor"].get<double>());
  if (op == "grayscale") return to_grayscale(in);
  if (op == "blur") return gaussian_blur(in, p["sigma"].get<double>(), p["ksize"].get<int>());
  if (op == "solarize") return solarize(in, p["threshold"].get<int>());
  if (op == "hflip") return hflip(in);
  if (op == "jitter") {
    ColorJitterParams j;
    const auto order = p["order"].get<std::vector<int>>();
    std::copy(order.begin(), order.end(), j.order.begin());
    j.brightness = p["brightness"].get<double>();
    j.contrast = p["contrast"].get<double>();
    j.saturation = p["saturation"].get<double>();
    j.hue = p["hue"].get<double>();
    return apply_color_jitter(in, j);
  }
  ADD_FAILURE() << "unknown op " << op;
  return {};
}

TEST(TransformsGolden, MatchTorchvision) {
  std::ifstream f(kDir + "manifest.json");
  ASSERT_TRUE(f.good()) << kDir << "manifest.json missing; run scripts/golden/transforms.py";
  const auto manifest = nlohmann::json::parse(f);
  int checked = 0;
  for (const auto& c : manifest["cases"]) {
    const std::string name = c["name"], op = c["op"];
    SCOPED_TRACE(name);
    const cv::Mat in = load_rgb_or_gray(kDir + c["input"].get<std::string>());
    const double tol = c["tolerance"].get<double>();
    const double max_frac = c["max_fraction"].get<double>();
    if (op == "normalize") {
      Normalization norm;
      for (int i = 0; i < 3; ++i) {
        norm.mean[i] = c["params"]["mean"][i].get<float>();
        norm.std[i] = c["params"]["std"][i].get<float>();
      }
      const torch::Tensor got = to_normalized_tensor(in, norm);
      std::vector<float> want(got.numel());
      std::ifstream bin(kDir + c["output"].get<std::string>(), std::ios::binary);
      bin.read(reinterpret_cast<char*>(want.data()), static_cast<std::streamsize>(want.size() * sizeof(float)));
      ASSERT_TRUE(bin.good()) << "short golden file";
      double worst = 0;
      for (size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::fabs(double(got.data_ptr<float>()[i]) - want[i]));
      EXPECT_LE(worst, tol);
      if (worst > 0) std::printf("  %-28s max |diff| %.3g\n", name.c_str(), worst);
      ++checked;
      continue;
    }
    const cv::Mat want = load_rgb_or_gray(kDir + c["output"].get<std::string>());
    const cv::Mat got = run_op(op, c["params"], in);
    ASSERT_EQ(got.size(), want.size());
    ASSERT_EQ(got.type(), want.type());
    cv::Mat diff;
    cv::absdiff(got, want, diff);
    double worst = 0;
    cv::minMaxLoc(diff.reshape(1), nullptr, &worst);
    const double frac = static_cast<double>(cv::countNonZero(diff.reshape(1))) / (diff.total() * diff.channels());
    EXPECT_LE(worst, tol) << op;
    EXPECT_LE(frac, max_frac) << op;
    if (worst > 0) std::printf("  %-28s max |diff| %.0f on %.2f%% of values\n", name.c_str(), worst, 100 * frac);
    ++checked;
  }
  EXPECT_EQ(checked, 48);
}

}  // namespace
}  // namespace radclear::data
