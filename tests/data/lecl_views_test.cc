#include <cmath>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include "data/lecl_views.h"
#include "data/resize.h"

namespace radclear::data {
namespace {

TEST(LesionCrop, SidesInRangeAndBoxInside) {
  const LesionBox box{200.4, 150.2, 260.8, 190.5};
  const double crop_min = 0.08, lo = std::sqrt(crop_min) * 512;
  double sum_cx = 0, sum_cy = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    SampleRng rng(1, 0, i);
    const cv::Rect r = lesion_crop_rect(512, 512, box, crop_min, rng);
    ASSERT_GE(r.width, static_cast<int>(lo));
    ASSERT_LT(r.width, 512);
    ASSERT_GE(r.height, static_cast<int>(lo));
    ASSERT_LT(r.height, 512);
    // The box (60 x 40) always fits in a crop >= 144 px: it must be inside.
    ASSERT_LE(r.x, box.x1);
    ASSERT_LE(r.y, box.y1);
    ASSERT_GE(r.x + r.width, box.x2);
    ASSERT_GE(r.y + r.height, box.y2);
    sum_cx += r.x + r.width / 2.0;
    sum_cy += r.y + r.height / 2.0;
  }
  // Centred on the box on average, not on its corner (x1, y2) = (200, 190)
  // as in the reference. The centre's sd is < 90 px, so the standard error
  // of the mean is < 0.65 px.
  EXPECT_NEAR(sum_cx / n, (box.x1 + box.x2) / 2, 2.6);
  EXPECT_NEAR(sum_cy / n, (box.y1 + box.y2) / 2, 2.6);
}

TEST(LesionCrop, BoxLargerThanCropIsCentred) {
  const LesionBox big{10, 20, 500, 480};
  SampleRng rng(2, 0, 0);
  // crop_min 0.01: sides from 51 px; most crops are smaller than the box.
  for (int i = 0; i < 200; ++i) {
    const cv::Rect r = lesion_crop_rect(512, 512, big, 0.01, rng);
    if (r.width < 490) EXPECT_NEAR(r.x + r.width / 2.0, 255.0, 1.0);
    if (r.height < 460) EXPECT_NEAR(r.y + r.height / 2.0, 250.0, 1.0);
  }
}

TEST(LesionCrop, PadsOutsideWithFill) {
  cv::Mat img(10, 10, CV_8UC1, cv::Scalar(200));
  const cv::Mat c = crop_with_fill(img, cv::Rect(-3, 5, 8, 8), 55);
  ASSERT_EQ(c.size(), cv::Size(8, 8));
  EXPECT_EQ(c.at<uint8_t>(0, 0), 55);   // x = -3
  EXPECT_EQ(c.at<uint8_t>(0, 3), 200);  // x = 0, y = 5
  EXPECT_EQ(c.at<uint8_t>(5, 4), 55);   // y = 10: below the image
  const cv::Mat far = crop_with_fill(img, cv::Rect(20, 20, 4, 4), 7);
  EXPECT_EQ(cv::countNonZero(far != 7), 0);
}

LeclViewSpec no_augment(int out) {
  LeclViewSpec s;
  s.out_size = out;
  for (AugmentSpec* a : {&s.aug1, &s.aug2}) {
    a->jitter_p = a->grayscale_p = a->blur_p = a->solarize_p = a->flip_p = 0;
  }
  return s;
}

// Normalised value of an 8-bit level in channel 0.
float norm0(int v) { return (v / 255.0f - 0.485f) / 0.229f; }

TEST(LeclViews, LesionSliceGetsWholeSliceAndLesionCrop) {
  // Left half 0, right half 255; the lesion sits in the right half at the
  // image edge so the crop must pad with air.
  cv::Mat img(64, 64, CV_8UC1, cv::Scalar(0));
  img.colRange(32, 64).setTo(255);
  SliceSample s;
  s.lesion = true;
  s.boxes = {{56, 28, 63, 35}};
  const int out = 16;
  std::vector<float> v1(3 * out * out), v2(3 * out * out);
  SampleRng rng(5, 0, 0);
  const ViewGeometry g = make_lecl_views(img, 100, s, no_augment(out), rng, v1.data(), v2.data());
  EXPECT_TRUE(g.lesion_views);
  EXPECT_EQ(g.crop1, cv::Rect(0, 0, 64, 64));
  EXPECT_LE(g.crop2.x, 56);
  EXPECT_GE(g.crop2.x + g.crop2.width, 63);
  // View 1 is the whole slice: left column dark, right column bright.
  EXPECT_FLOAT_EQ(v1[0], norm0(0));
  EXPECT_FLOAT_EQ(v1[out - 1], norm0(255));
  // The three channels are equal for a gray slice.
  const Normalization n;
  auto level = [&](int c, int i) { return std::lround((v2[c * out * out + i] * n.std[c] + n.mean[c]) * 255.0f); };
  for (int i = 0; i < out * out; ++i) {
    ASSERT_EQ(level(0, i), level(1, i)) << i;
    ASSERT_EQ(level(0, i), level(2, i)) << i;
  }
  // The crop reaches past the right edge (x = 64) unless it happens to end
  // there; what lies beyond is air (100), between dark 0 and bright 255.
  // (Only checked when the padding is wider than the filter's reach.)
  if (g.crop2.x + g.crop2.width >= 64 + 2 * (g.crop2.width / out + 1)) EXPECT_EQ(level(0, out - 1), 100);
}

TEST(LeclViews, PlainSliceGetsTwoRandomCrops) {
  cv::Mat img(64, 64, CV_8UC1);
  cv::randu(img, 0, 256);
  SliceSample s;  // no box
  const int out = 16;
  std::vector<float> a1(3 * out * out), a2(3 * out * out), b1(3 * out * out), b2(3 * out * out);
  SampleRng r1(6, 0, 3), r2(6, 0, 3);
  LeclViewSpec spec;  // full augmentation
  spec.out_size = out;
  const ViewGeometry g = make_lecl_views(img, 0, s, spec, r1, a1.data(), a2.data());
  make_lecl_views(img, 0, s, spec, r2, b1.data(), b2.data());
  EXPECT_FALSE(g.lesion_views);
  EXPECT_NE(g.crop1, g.crop2);
  EXPECT_EQ(a1, b1);  // same (seed, epoch, index): same views
  EXPECT_EQ(a2, b2);
  EXPECT_NE(a1, a2);
}

}  // namespace
}  // namespace radclear::data
