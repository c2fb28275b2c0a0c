#pragma once
// CT windowing: Hounsfield units -> 8-bit gray, and gray -> 3 channels.
// A window of width W and level L maps [L - W/2, L + W/2] linearly onto
// [0, 255]: v = round(clamp((hu - (L - W/2)) / W, 0, 1) * 255).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "data/decode.h"
#include "stages/ct_window.h"

namespace radclear::data {

// Window names and values are declared in stages/ct_window.h (torch- and
// OpenCV-free, so any process can check a spec's windows).
using stages::ct_window_names;
using stages::CtWindow;
using stages::parse_ct_window;

// The 8-bit value of one HU under the window.
uint8_t window_value(const CtWindow& w, double hu);

// A precomputed table over all 65536 int16 HU values; applying it is one
// lookup per pixel. Cheap to copy by shared pointer, immutable once built.
class WindowLut {
 public:
  explicit WindowLut(const CtWindow& w);
  const CtWindow& window() const { return window_; }
  uint8_t operator()(int16_t hu) const { return table_[static_cast<uint16_t>(hu) ^ 0x8000u]; }
  // CV_16SC1 HU -> CV_8UC1.
  cv::Mat apply(const cv::Mat& hu) const;

 private:
  CtWindow window_;
  std::vector<uint8_t> table_;  // indexed by hu + 32768
};

// Air (-1024 HU) under the window: what padding outside a CT slice becomes.
inline constexpr double kAirHu = -1024.0;

// Brings any decoded image to 8 bits: HU through the window, 8-bit images
// unchanged. `air` receives the 8-bit value of air for padding (window of
// -1024 HU for CT, 0 for 8-bit images).
cv::Mat to_8bit(const DecodedImage& img, const WindowLut& lut, uint8_t* air = nullptr);

// CV_8UC1 -> CV_8UC3 with equal channels; CV_8UC3 passes through.
cv::Mat gray_to_rgb(const cv::Mat& img);

}  // namespace radclear::data
