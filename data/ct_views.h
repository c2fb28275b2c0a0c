#pragma once
// CT-native LeCL views (`--views ct`). The MoCo v3 recipe (lecl_views.h) is
// made for photographs; on CT slices it erased the learning signal (issue
// 19: MambaOut-femto, 64 px, batch 32, 60 steps, loss first -> last 10
// steps: whole-slice views 2.78 -> 0.77; quickstart views 2.81 -> 2.78):
//  - crops from 8% of the area lose the body's scale, the strongest cue, and
//    from 40% still learned little (2.93 -> 2.86); from 50% the quickstart's
//    loss fell from 3.4 to 2.26 and its slice probe rose from 0.738 to 0.780
//    (findings.md). Aspect stays near 1: anatomy is not stretched.
//  - ±40% brightness/contrast and solarize scramble the HU levels that tell
//    organs and lesions apart. Instead the CT window itself is jittered
//    (level and width, on HU before the 8-bit conversion), which is the
//    intensity change a radiologist's viewer makes, plus a little noise.
//  - a lesion crop with independent width and height (up to 3.5:1) around a
//    4-6 px lesion leaves the lesion a few pixels wide. The crop here is
//    square and sized from the box: the box spans a set share of it.
// The geometry is the same otherwise: a lesion slice gives the whole slice
// (view 1) and the lesion crop (view 2), any other slice two random crops.
// Every draw comes from the sample's SampleRng: deterministic per (seed,
// epoch, index).
#include <opencv2/core/mat.hpp>

#include "data/decode.h"
#include "data/lecl_views.h"
#include "data/rng.h"
#include "data/sample.h"
#include "data/transforms.h"
#include "data/window.h"

namespace radclear::data {

// Random window: level + U(-level_shift, level_shift) * width, width *
// exp(U(-ln width_scale, ln width_scale)). Default ±10% of the width (±40 HU
// in the abdomen window) and x0.8..1.25: organs keep their order and
// contrast, the absolute gray level stops being a shortcut.
struct WindowJitterSpec {
  double level_shift = 0.1;
  double width_scale = 1.25;
};
CtWindow jitter_window(const CtWindow& w, const WindowJitterSpec& spec, SampleRng& rng);

// The pixels of `img` (HU or 8-bit) inside `rect`, padded with air (-1024 HU,
// or 0 for 8-bit) outside the image, under window `w`, as 8 bits. An 8-bit
// image is taken to be `base` already applied: gray g stands for the HU
// base.lo() + g / 255 * base.width, so a jittered window moves it alike.
cv::Mat window_crop(const DecodedImage& img, const cv::Rect& rect, const CtWindow& base, const CtWindow& w);

// Lesion crop of the CT recipe: square, side log-uniform in [lo, hi] with
// lo = max(context_min * b, min_side_frac * S) and hi = max(lo, b * out /
// lesion_min_px), both capped at the slice's shorter side S, b = the box's
// longer side. So the lesion spans at least lesion_min_px pixels of the view
// (when the slice allows) and at most 1 / context_min of it. Placed as
// lesion_crop_rect does (box inside when it fits).
struct CtLesionCropSpec {
  double context_min = 3.0;      // crop side >= 3 box sides: the lesion with its surroundings
  double lesion_min_px = 12.0;   // the box spans >= 12 px of the view (the median synth lesion spans 6 px of a 96 px whole-slice view)
  double min_side_frac = 0.125;  // never below 1/8 of the slice (16 px of 128)
};
cv::Rect ct_lesion_crop_rect(int height, int width, const LesionBox& box, int out, const CtLesionCropSpec& spec,
                             SampleRng& rng);

struct CtViewSpec {
  int out_size = 224;
  double crop_min = 0.5;  // RandomResizedCrop area floor of non-lesion views
  double ratio_min = 0.9, ratio_max = 1.0 / 0.9;  // aspect near 1
  CtLesionCropSpec lesion;
  double jitter_p = 0.8;  // window jitter, per view
  WindowJitterSpec jitter;
  // Gaussian noise of sd U(0, noise_sd_max) gray levels at the view's size;
  // 3 levels are ~5 HU in the abdomen window, about the synth data's own.
  double noise_p = 0.5;
  double noise_sd_max = 3.0;
  // Mild blur; sigmas are for 224 px and scale with out_size like the clear
  // recipe's (ct_view_spec).
  double blur_p = 0.5;
  double blur_sigma_min = 0.1, blur_sigma_max = 1.0;
  double flip_p = 0.5;
  Normalization norm;
};

// The CT recipe for `out_size` px views; crop_min <= 0 keeps the default.
CtViewSpec ct_view_spec(int out_size, double crop_min = 0);

// Adds N(0, sd) noise to every byte, rounded and clamped; draws from `rng`.
cv::Mat add_gaussian_noise(const cv::Mat& img, double sd, SampleRng& rng);

// Both views of a decoded slice under window `window`, written normalised as
// 3 x out x out float32 CHW into view1 / view2.
ViewGeometry make_ct_views(const DecodedImage& img, const CtWindow& window, const SliceSample& sample,
                           const CtViewSpec& spec, SampleRng& rng, float* view1, float* view2);

}  // namespace radclear::data
