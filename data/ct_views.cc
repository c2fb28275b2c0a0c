#include "data/ct_views.h"

#include <algorithm>
#include <cmath>

#include <opencv2/core.hpp>

#include "common/check.h"
#include "data/resize.h"

namespace radclear::data {

CtWindow jitter_window(const CtWindow& w, const WindowJitterSpec& spec, SampleRng& rng) {
  CtWindow out = w;
  out.level = w.level + rng.uniform(-spec.level_shift, spec.level_shift) * w.width;
  const double log_scale = std::log(spec.width_scale);
  out.width = w.width * std::exp(rng.uniform(-log_scale, log_scale));
  return out;
}

cv::Mat window_crop(const DecodedImage& img, const cv::Rect& rect, const CtWindow& base, const CtWindow& w) {
  RADCLEAR_CHECK(w.width > 0 && base.width > 0, "window widths {} and {} must be > 0", w.width, base.width);
  if (img.kind == PixelKind::kHounsfield) {
    const cv::Mat hu = crop_with_fill(img.pixels, rect, kAirHu);
    cv::Mat out(hu.size(), CV_8UC1);
    const float lo = static_cast<float>(w.lo()), scale = static_cast<float>(255.0 / w.width);
    for (int y = 0; y < hu.rows; ++y) {
      const int16_t* s = hu.ptr<int16_t>(y);
      uint8_t* d = out.ptr<uint8_t>(y);
      for (int x = 0; x < hu.cols; ++x) {
        const float v = std::clamp((static_cast<float>(s[x]) - lo) * scale, 0.0f, 255.0f);
        d[x] = static_cast<uint8_t>(std::lround(v));
      }
    }
    return out;
  }
  cv::Mat lut(1, 256, CV_8U);
  for (int g = 0; g < 256; ++g) lut.at<uint8_t>(g) = window_value(w, base.lo() + g / 255.0 * base.width);
  cv::Mat out;
  cv::LUT(crop_with_fill(img.pixels, rect, 0), lut, out);
  return out;
}

cv::Rect ct_lesion_crop_rect(int height, int width, const LesionBox& box, int out, const CtLesionCropSpec& spec,
                             SampleRng& rng) {
  RADCLEAR_CHECK(spec.context_min >= 1 && spec.lesion_min_px > 0 && out > 0,
                 "lesion crop: context_min {} must be >= 1, lesion_min_px {} and out {} > 0", spec.context_min,
                 spec.lesion_min_px, out);
  const double slice = std::min(height, width);
  const double b = std::max({box.x2 - box.x1, box.y2 - box.y1, 1.0});
  const double lo = std::min(slice, std::max(spec.context_min * b, spec.min_side_frac * slice));
  const double hi = std::min(slice, std::max(lo, b * out / spec.lesion_min_px));
  const int side = std::max(1, static_cast<int>(std::lround(std::exp(rng.uniform(std::log(lo), std::log(hi))))));
  const int x0 = box_crop_origin(box.x1, box.x2, side, rng);
  const int y0 = box_crop_origin(box.y1, box.y2, side, rng);
  return {x0, y0, side, side};
}

CtViewSpec ct_view_spec(int out_size, double crop_min) {
  CtViewSpec spec;
  spec.out_size = out_size;
  if (crop_min > 0) spec.crop_min = crop_min;
  spec.blur_sigma_min *= out_size / 224.0;
  spec.blur_sigma_max *= out_size / 224.0;
  return spec;
}

cv::Mat add_gaussian_noise(const cv::Mat& img, double sd, SampleRng& rng) {
  RADCLEAR_CHECK(img.depth() == CV_8U, "noise expects 8-bit pixels, got type {}", img.type());
  cv::Mat out = img.clone();
  const int width = out.cols * out.channels();
  double spare = 0;
  bool has_spare = false;
  for (int y = 0; y < out.rows; ++y) {
    uint8_t* d = out.ptr<uint8_t>(y);
    for (int x = 0; x < width; ++x) {
      double z;
      if (has_spare) {
        z = spare;
      } else {  // Box-Muller: two normals per two uniforms
        const double u1 = 1.0 - rng.uniform(), u2 = rng.uniform();
        const double r = std::sqrt(-2.0 * std::log(u1));
        z = r * std::cos(2 * M_PI * u2);
        spare = r * std::sin(2 * M_PI * u2);
      }
      has_spare = !has_spare;
      d[x] = static_cast<uint8_t>(std::clamp(std::lround(d[x] + sd * z), 0L, 255L));
    }
  }
  return out;
}

ViewGeometry make_ct_views(const DecodedImage& img, const CtWindow& window, const SliceSample& sample,
                           const CtViewSpec& spec, SampleRng& rng, float* view1, float* view2) {
  const cv::Mat& px = img.pixels;
  RADCLEAR_CHECK(px.rows > 0 && px.cols > 0, "{}: empty image", sample.path);
  const int out = spec.out_size;
  ViewGeometry g;
  if (!sample.boxes.empty()) {
    g.lesion_views = true;
    const LesionBox& box =
        sample.boxes.size() == 1 ? sample.boxes[0]
                                 : sample.boxes[rng.uniform_int(0, static_cast<int64_t>(sample.boxes.size()) - 1)];
    g.crop1 = cv::Rect(0, 0, px.cols, px.rows);
    g.crop2 = ct_lesion_crop_rect(px.rows, px.cols, box, out, spec.lesion, rng);
  } else {
    RandomResizedCropSpec rrc;
    rrc.scale_min = spec.crop_min;
    rrc.ratio_min = spec.ratio_min;
    rrc.ratio_max = spec.ratio_max;
    for (cv::Rect* r : {&g.crop1, &g.crop2}) {
      const CropParams c = random_resized_crop_params(px.rows, px.cols, rrc, rng);
      *r = cv::Rect(c.left, c.top, c.width, c.height);
    }
  }
  for (int i = 0; i < 2; ++i) {
    const CtWindow w = rng.bernoulli(spec.jitter_p) ? jitter_window(window, spec.jitter, rng) : window;
    const bool blur = rng.bernoulli(spec.blur_p);
    const double sigma = blur ? rng.uniform(spec.blur_sigma_min, spec.blur_sigma_max) : 0.0;
    const bool noise = rng.bernoulli(spec.noise_p);
    const double sd = noise ? rng.uniform(0.0, spec.noise_sd_max) : 0.0;
    const bool flip = rng.bernoulli(spec.flip_p);
    cv::Mat v = resize_bilinear(window_crop(img, i == 0 ? g.crop1 : g.crop2, window, w), cv::Size(out, out));
    if (blur) v = gaussian_blur(v, sigma);
    if (noise) v = add_gaussian_noise(v, sd, rng);
    write_normalized(v, spec.norm, flip, i == 0 ? view1 : view2);
  }
  return g;
}

}  // namespace radclear::data
