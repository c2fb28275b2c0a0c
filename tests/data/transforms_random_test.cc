// The random transforms, checked by their distributions over many draws.
// Bounds are several standard errors wide (binomial sd = sqrt(p(1-p)/n)), and
// the draws are seeded, so the tests are deterministic.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include "data/rng.h"
#include "data/transforms.h"

namespace radclear::data {
namespace {

constexpr int kDraws = 20000;

TEST(Rng, DependsOnlyOnSeedEpochIndex) {
  SampleRng a(1, 2, 3), b(1, 2, 3), c(1, 2, 4), d(1, 3, 3);
  const uint64_t x = a.next_u64();
  EXPECT_EQ(x, b.next_u64());
  EXPECT_NE(x, c.next_u64());
  EXPECT_NE(x, d.next_u64());
  SampleRng r(9, 0, 0);
  std::map<int64_t, int> counts;
  for (int i = 0; i < 60000; ++i) counts[r.uniform_int(-1, 4)]++;
  ASSERT_EQ(counts.size(), 6u);
  for (auto [v, n] : counts) EXPECT_NEAR(n / 60000.0, 1 / 6.0, 0.01) << v;
}

TEST(RandomResizedCrop, ScaleAndAspectWithinRanges) {
  const int h = 512, w = 512;
  const RandomResizedCropSpec spec;  // scale (0.08, 1), ratio (3/4, 4/3)
  double sum_scale = 0, sum_log_ratio = 0;
  int lo_quarter = 0;
  for (int i = 0; i < kDraws; ++i) {
    SampleRng rng(3, 0, i);
    const CropParams c = random_resized_crop_params(h, w, spec, rng);
    ASSERT_GT(c.width, 0);
    ASSERT_LE(c.left + c.width, w);
    ASSERT_LE(c.top + c.height, h);
    ASSERT_GE(c.top, 0);
    ASSERT_GE(c.left, 0);
    const double scale = double(c.width) * c.height / (h * w);
    const double ratio = double(c.width) / c.height;
    // Rounding w and h to pixels moves the scale and ratio by < 1%.
    ASSERT_GE(scale, 0.08 * 0.99);
    ASSERT_LE(scale, 1.0);
    ASSERT_GE(ratio, 0.75 * 0.99);
    ASSERT_LE(ratio, 4.0 / 3.0 * 1.01);
    sum_scale += scale;
    sum_log_ratio += std::log(ratio);
    if (std::log(ratio) < std::log(0.75) + (std::log(4.0 / 3) - std::log(0.75)) / 4) ++lo_quarter;
  }
  // Reference values from torchvision 0.14's RandomResizedCrop.get_params on
  // a 512 x 512 image over 100000 draws: mean scale 0.4783 (sd 0.234, so the
  // standard error here is 0.0017), log-ratio mean 0, and 22.9% of ratios
  // in the lowest quarter of the log range (draws that do not fit are
  // redrawn, which lowers both below the untruncated 0.54 and 25%).
  EXPECT_NEAR(sum_scale / kDraws, 0.4783, 0.008);
  EXPECT_NEAR(sum_log_ratio / kDraws, 0.0, 0.01);
  EXPECT_NEAR(double(lo_quarter) / kDraws, 0.229, 0.012);
}

TEST(RandomResizedCrop, CropPositionCoversImage) {
  // Small fixed-size crops: the left edge is uniform over [0, W - w].
  RandomResizedCropSpec spec;
  spec.scale_min = spec.scale_max = 0.25;
  spec.ratio_min = spec.ratio_max = 1.0;
  std::set<int> lefts;
  double sum = 0;
  for (int i = 0; i < kDraws; ++i) {
    SampleRng rng(4, 1, i);
    const CropParams c = random_resized_crop_params(100, 100, spec, rng);
    ASSERT_EQ(c.width, 50);
    ASSERT_EQ(c.height, 50);
    lefts.insert(c.left);
    sum += c.left;
  }
  EXPECT_EQ(lefts.size(), 51u);
  EXPECT_NEAR(sum / kDraws, 25.0, 0.5);
}

TEST(RandomResizedCrop, CentreFallbackAfterTenAttempts) {
  RandomResizedCropSpec impossible;  // no draw can fit: fall back
  impossible.scale_min = 2.0;
  impossible.scale_max = 3.0;
  SampleRng rng(1, 0, 0);
  CropParams c = random_resized_crop_params(100, 300, impossible, rng);  // too wide: clamp to 4/3
  EXPECT_EQ(c.height, 100);
  EXPECT_EQ(c.width, 133);
  EXPECT_EQ(c.top, 0);
  EXPECT_EQ(c.left, 83);
  c = random_resized_crop_params(300, 100, impossible, rng);  // too tall: clamp to 3/4
  EXPECT_EQ(c.width, 100);
  EXPECT_EQ(c.height, 133);
  EXPECT_EQ(c.top, 83);
  c = random_resized_crop_params(90, 100, impossible, rng);  // ratio inside: whole image
  EXPECT_EQ(c.width, 100);
  EXPECT_EQ(c.height, 90);
  EXPECT_EQ(c.top, 0);
  EXPECT_EQ(c.left, 0);
}

struct Rates {
  int jitter = 0, gray = 0, blur = 0, solarize = 0, flip = 0;
  double sigma_min = 1e9, sigma_max = 0;
};

Rates draw_many(const AugmentSpec& spec) {
  Rates r;
  for (int i = 0; i < kDraws; ++i) {
    SampleRng rng(11, 2, i);
    const AugmentDraw d = draw_augment(spec, rng);
    r.jitter += d.jitter;
    r.gray += d.grayscale;
    r.blur += d.blur;
    r.solarize += d.solarize;
    r.flip += d.flip;
    if (d.blur) {
      r.sigma_min = std::min(r.sigma_min, d.sigma);
      r.sigma_max = std::max(r.sigma_max, d.sigma);
    }
  }
  return r;
}

TEST(Augment, ProbabilitiesOfAugmentation1And2) {
  const double tol = 0.015;  // > 4 sd at n = 20000
  const Rates a = draw_many(augmentation1());
  EXPECT_NEAR(a.jitter / double(kDraws), 0.8, tol);
  EXPECT_NEAR(a.gray / double(kDraws), 0.2, tol);
  EXPECT_EQ(a.blur, kDraws);
  EXPECT_EQ(a.solarize, 0);
  EXPECT_NEAR(a.flip / double(kDraws), 0.5, tol);
  EXPECT_GE(a.sigma_min, 0.1);
  EXPECT_LT(a.sigma_min, 0.11);
  EXPECT_LE(a.sigma_max, 2.0);
  EXPECT_GT(a.sigma_max, 1.99);
  const Rates b = draw_many(augmentation2());
  EXPECT_NEAR(b.jitter / double(kDraws), 0.8, tol);
  EXPECT_NEAR(b.gray / double(kDraws), 0.2, tol);
  EXPECT_NEAR(b.blur / double(kDraws), 0.1, tol);
  EXPECT_NEAR(b.solarize / double(kDraws), 0.2, tol);
  EXPECT_NEAR(b.flip / double(kDraws), 0.5, tol);
}

TEST(ColorJitter, FactorRangesAndRandomOrder) {
  const ColorJitterSpec spec;  // 0.4, 0.4, 0.2, 0.1
  std::map<std::array<int, 4>, int> orders;
  double bmin = 9, bmax = 0, smin = 9, smax = 0, hmin = 9, hmax = -9, bsum = 0;
  for (int i = 0; i < kDraws; ++i) {
    SampleRng rng(12, 0, i);
    const ColorJitterParams p = color_jitter_params(spec, rng);
    orders[p.order]++;
    bmin = std::min(bmin, p.brightness);
    bmax = std::max(bmax, p.brightness);
    bsum += p.brightness;
    smin = std::min(smin, p.saturation);
    smax = std::max(smax, p.saturation);
    hmin = std::min(hmin, p.hue);
    hmax = std::max(hmax, p.hue);
    ASSERT_GE(p.contrast, 0.6);
    ASSERT_LE(p.contrast, 1.4);
  }
  EXPECT_GE(bmin, 0.6);
  EXPECT_LT(bmin, 0.61);
  EXPECT_LE(bmax, 1.4);
  EXPECT_GT(bmax, 1.39);
  EXPECT_NEAR(bsum / kDraws, 1.0, 0.01);
  EXPECT_GE(smin, 0.8);
  EXPECT_LE(smax, 1.2);
  EXPECT_GE(hmin, -0.1);
  EXPECT_LE(hmax, 0.1);
  EXPECT_LT(hmin, -0.099);
  ASSERT_EQ(orders.size(), 24u);  // every order of the four adjustments
  for (const auto& [order, n] : orders) EXPECT_NEAR(n / double(kDraws), 1 / 24.0, 0.012);
}

// The single-channel fast path equals the 3-channel computation on the
// replicated image (gray stays gray under every adjustment).
TEST(ColorJitter, GrayPathEqualsRgbPath) {
  cv::Mat gray(40, 50, CV_8UC1);
  cv::randu(gray, 0, 256);
  cv::Mat rgb;
  cv::merge(std::vector<cv::Mat>{gray, gray, gray}, rgb);
  for (int i = 0; i < 200; ++i) {
    SampleRng rng(13, 0, i);
    const ColorJitterParams p = color_jitter_params(ColorJitterSpec{}, rng);
    const cv::Mat g = apply_color_jitter(gray, p);
    std::vector<cv::Mat> ch;
    cv::split(apply_color_jitter(rgb, p), ch);
    for (int c = 0; c < 3; ++c) ASSERT_EQ(cv::countNonZero(ch[c] != g), 0) << "draw " << i << " channel " << c;
  }
}

}  // namespace
}  // namespace radclear::data
