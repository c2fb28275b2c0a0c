#include "data/window.h"

#include <algorithm>
#include <cmath>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "common/check.h"

namespace radclear::data {

uint8_t window_value(const CtWindow& w, double hu) {
  const double t = std::clamp((hu - w.lo()) / w.width, 0.0, 1.0);
  return static_cast<uint8_t>(std::lround(t * 255.0));
}

WindowLut::WindowLut(const CtWindow& w) : window_(w), table_(65536) {
  RADCLEAR_CHECK(w.width > 0, "window width {} must be > 0", w.width);
  for (int i = 0; i < 65536; ++i) table_[i] = window_value(w, i - 32768);
}

cv::Mat WindowLut::apply(const cv::Mat& hu) const {
  RADCLEAR_CHECK(hu.type() == CV_16SC1, "window expects CV_16SC1 HU, got type {}", hu.type());
  cv::Mat out(hu.size(), CV_8UC1);
  const uint8_t* table = table_.data();
  for (int y = 0; y < hu.rows; ++y) {
    const uint16_t* src = reinterpret_cast<const uint16_t*>(hu.ptr(y));
    uint8_t* dst = out.ptr<uint8_t>(y);
    for (int x = 0; x < hu.cols; ++x) dst[x] = table[src[x] ^ 0x8000u];
  }
  return out;
}

cv::Mat to_8bit(const DecodedImage& img, const WindowLut& lut, uint8_t* air) {
  switch (img.kind) {
    case PixelKind::kHounsfield:
      if (air) *air = window_value(lut.window(), kAirHu);
      return lut.apply(img.pixels);
    case PixelKind::kGray8:
    case PixelKind::kRgb8:
      if (air) *air = 0;
      return img.pixels;
  }
  RADCLEAR_CHECK(false, "unknown pixel kind");
  return {};
}

cv::Mat gray_to_rgb(const cv::Mat& img) {
  if (img.type() == CV_8UC3) return img;
  RADCLEAR_CHECK(img.type() == CV_8UC1, "gray_to_rgb expects CV_8UC1 or CV_8UC3, got type {}", img.type());
  cv::Mat out;
  cv::cvtColor(img, out, cv::COLOR_GRAY2RGB);
  return out;
}

}  // namespace radclear::data
