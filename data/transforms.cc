#include "data/transforms.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/types.h>

#include "common/check.h"
#include "data/resize.h"

namespace radclear::data {

namespace {

void check_8bit(const cv::Mat& img, const char* what) {
  RADCLEAR_CHECK(img.type() == CV_8UC1 || img.type() == CV_8UC3, "{} expects CV_8UC1 or CV_8UC3, got type {}", what,
                 img.type());
}

// Python's round(): half to even (the default FP rounding mode).
int round_half_even(double v) { return static_cast<int>(std::nearbyint(v)); }

// Pillow's Image.blend of one byte: trunc(clamp(d + a (v - d))) in float.
inline uint8_t blend_byte(int d, int v, float alpha) {
  const float t = static_cast<float>(d) + alpha * static_cast<float>(v - d);
  if (t <= 0.0f) return 0;
  if (t >= 255.0f) return 255;
  return static_cast<uint8_t>(t);
}

inline uint8_t luma(const uint8_t* rgb) {
  return static_cast<uint8_t>((rgb[0] * 19595 + rgb[1] * 38470 + rgb[2] * 7471 + 0x8000) >> 16);
}

using Lut = std::array<uint8_t, 256>;

Lut identity_lut() {
  Lut l;
  for (int v = 0; v < 256; ++v) l[v] = static_cast<uint8_t>(v);
  return l;
}
Lut brightness_lut(double factor) {
  Lut l;
  for (int v = 0; v < 256; ++v) l[v] = blend_byte(0, v, static_cast<float>(factor));
  return l;
}
Lut contrast_lut(int mean, double factor) {
  Lut l;
  for (int v = 0; v < 256; ++v) l[v] = blend_byte(mean, v, static_cast<float>(factor));
  return l;
}

cv::Mat apply_lut(const cv::Mat& img, const Lut& lut) {
  cv::Mat out(img.size(), img.type());
  const int width = img.cols * img.channels();
  for (int y = 0; y < img.rows; ++y) {
    const uint8_t* s = img.ptr<uint8_t>(y);
    uint8_t* d = out.ptr<uint8_t>(y);
    for (int x = 0; x < width; ++x) d[x] = lut[s[x]];
  }
  return out;
}

std::array<int64_t, 256> luma_histogram(const cv::Mat& img) {
  std::array<int64_t, 256> h{};
  for (int y = 0; y < img.rows; ++y) {
    const uint8_t* s = img.ptr<uint8_t>(y);
    if (img.channels() == 1) {
      for (int x = 0; x < img.cols; ++x) ++h[s[x]];
    } else {
      for (int x = 0; x < img.cols; ++x) ++h[luma(s + 3 * x)];
    }
  }
  return h;
}

// ImageStat's mean of the luma, rounded as Pillow's Contrast does.
int rounded_mean(const std::array<int64_t, 256>& hist) {
  double sum = 0, n = 0;
  for (int v = 0; v < 256; ++v) {
    sum += static_cast<double>(v) * hist[v];
    n += hist[v];
  }
  return static_cast<int>(sum / n + 0.5);
}

}  // namespace

// ---- RandomResizedCrop --------------------------------------------------

CropParams random_resized_crop_params(int height, int width, const RandomResizedCropSpec& spec, SampleRng& rng) {
  RADCLEAR_CHECK(height > 0 && width > 0, "crop of a {}x{} image", width, height);
  const double area = static_cast<double>(height) * width;
  const double log_r0 = std::log(spec.ratio_min), log_r1 = std::log(spec.ratio_max);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * rng.uniform(spec.scale_min, spec.scale_max);
    const double aspect = std::exp(rng.uniform(log_r0, log_r1));
    const int w = round_half_even(std::sqrt(target_area * aspect));
    const int h = round_half_even(std::sqrt(target_area / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      CropParams p;
      p.height = h;
      p.width = w;
      p.top = static_cast<int>(rng.uniform_int(0, height - h));
      p.left = static_cast<int>(rng.uniform_int(0, width - w));
      return p;
    }
  }
  // Centre-crop fallback.
  const double in_ratio = static_cast<double>(width) / height;
  CropParams p;
  if (in_ratio < std::min(spec.ratio_min, spec.ratio_max)) {
    p.width = width;
    p.height = round_half_even(p.width / std::min(spec.ratio_min, spec.ratio_max));
  } else if (in_ratio > std::max(spec.ratio_min, spec.ratio_max)) {
    p.height = height;
    p.width = round_half_even(p.height * std::max(spec.ratio_min, spec.ratio_max));
  } else {
    p.width = width;
    p.height = height;
  }
  p.top = (height - p.height) / 2;
  p.left = (width - p.width) / 2;
  return p;
}

cv::Mat resized_crop(const cv::Mat& img, const CropParams& c, int out) {
  check_8bit(img, "resized_crop");
  RADCLEAR_CHECK(c.top >= 0 && c.left >= 0 && c.height > 0 && c.width > 0 && c.top + c.height <= img.rows &&
                     c.left + c.width <= img.cols,
                 "crop (top {}, left {}, {}x{}) outside the {}x{} image", c.top, c.left, c.width, c.height, img.cols,
                 img.rows);
  // torchvision crops first, so the filter never reaches outside the crop.
  return resize_bilinear(img(cv::Rect(c.left, c.top, c.width, c.height)), cv::Size(out, out));
}

// ---- Eval transform --------------------------------------------------------

cv::Mat resize_shorter(const cv::Mat& img, int size) {
  check_8bit(img, "resize_shorter");
  RADCLEAR_CHECK(size > 0, "resize to {}", size);
  const int w = img.cols, h = img.rows;
  const int short_side = std::min(w, h), long_side = std::max(w, h);
  if (short_side == size) return img;
  const int new_long = static_cast<int>(static_cast<int64_t>(size) * long_side / short_side);
  const cv::Size out = w <= h ? cv::Size(size, new_long) : cv::Size(new_long, size);
  return resize_bilinear(img, out);
}

cv::Mat center_crop(const cv::Mat& img, int size) {
  check_8bit(img, "center_crop");
  RADCLEAR_CHECK(img.rows >= size && img.cols >= size, "center crop {} of a {}x{} image", size, img.cols, img.rows);
  const int top = round_half_even((img.rows - size) / 2.0);
  const int left = round_half_even((img.cols - size) / 2.0);
  return img(cv::Rect(left, top, size, size)).clone();
}

cv::Mat eval_transform(const cv::Mat& img, int size) { return center_crop(resize_shorter(img, size), size); }

// ---- Colour ----------------------------------------------------------------

cv::Mat adjust_brightness(const cv::Mat& img, double factor) {
  check_8bit(img, "adjust_brightness");
  return apply_lut(img, brightness_lut(factor));
}

cv::Mat adjust_contrast(const cv::Mat& img, double factor) {
  check_8bit(img, "adjust_contrast");
  return apply_lut(img, contrast_lut(rounded_mean(luma_histogram(img)), factor));
}

cv::Mat adjust_saturation(const cv::Mat& img, double factor) {
  check_8bit(img, "adjust_saturation");
  if (img.channels() == 1) return img.clone();
  cv::Mat out(img.size(), img.type());
  const float a = static_cast<float>(factor);
  for (int y = 0; y < img.rows; ++y) {
    const uint8_t* s = img.ptr<uint8_t>(y);
    uint8_t* d = out.ptr<uint8_t>(y);
    for (int x = 0; x < img.cols; ++x) {
      const int l = luma(s + 3 * x);
      for (int c = 0; c < 3; ++c) d[3 * x + c] = blend_byte(l, s[3 * x + c], a);
    }
  }
  return out;
}

namespace {

inline uint8_t clip8i(int v) { return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v)); }

// Pillow's rgb2hsv_row / hsv2rgb (8-bit HSV, float arithmetic).
inline void rgb_to_hsv(const uint8_t* in, uint8_t* out) {
  const uint8_t r = in[0], g = in[1], b = in[2];
  const uint8_t maxc = std::max(r, std::max(g, b)), minc = std::min(r, std::min(g, b));
  out[2] = maxc;
  if (minc == maxc) {
    out[0] = 0;
    out[1] = 0;
    return;
  }
  const float cr = static_cast<float>(maxc - minc);
  const float s = cr / static_cast<float>(maxc);
  const float rc = static_cast<float>(maxc - r) / cr;
  const float gc = static_cast<float>(maxc - g) / cr;
  const float bc = static_cast<float>(maxc - b) / cr;
  // Pillow mixes float variables with double constants; keep its types.
  float h;
  if (r == maxc) {
    h = bc - gc;
  } else if (g == maxc) {
    h = static_cast<float>(2.0 + rc - bc);
  } else {
    h = static_cast<float>(4.0 + gc - rc);
  }
  h = static_cast<float>(std::fmod(h / 6.0 + 1.0, 1.0));
  out[0] = clip8i(static_cast<int>(h * 255.0));
  out[1] = clip8i(static_cast<int>(s * 255.0));
}

inline void hsv_to_rgb(const uint8_t* in, uint8_t* out) {
  const uint8_t h = in[0], s = in[1], v = in[2];
  if (s == 0) {
    out[0] = out[1] = out[2] = v;
    return;
  }
  const int i = static_cast<int>(std::floor(static_cast<float>(h) * 6.0 / 255.0));
  const float f = static_cast<float>(static_cast<float>(h) * 6.0 / 255.0 - static_cast<float>(i));
  const float fs = static_cast<float>(static_cast<float>(s) / 255.0);
  const uint8_t p = clip8i(static_cast<int>(std::round(static_cast<float>(v) * (1.0 - fs))));
  const uint8_t q = clip8i(static_cast<int>(std::round(static_cast<float>(v) * (1.0 - fs * f))));
  const uint8_t t = clip8i(static_cast<int>(std::round(static_cast<float>(v) * (1.0 - fs * (1.0 - f)))));
  switch (i % 6) {
    case 0: out[0] = v, out[1] = t, out[2] = p; break;
    case 1: out[0] = q, out[1] = v, out[2] = p; break;
    case 2: out[0] = p, out[1] = v, out[2] = t; break;
    case 3: out[0] = p, out[1] = q, out[2] = v; break;
    case 4: out[0] = t, out[1] = p, out[2] = v; break;
    default: out[0] = v, out[1] = p, out[2] = q; break;
  }
}

}  // namespace

cv::Mat adjust_hue(const cv::Mat& img, double factor) {
  check_8bit(img, "adjust_hue");
  RADCLEAR_CHECK(factor >= -0.5 && factor <= 0.5, "hue factor {} not in [-0.5, 0.5]", factor);
  if (img.channels() == 1) return img.clone();
  // numpy's uint8(f * 255): truncation toward zero, then modulo 256.
  const uint8_t shift = static_cast<uint8_t>(static_cast<int>(factor * 255.0));
  cv::Mat out(img.size(), img.type());
  for (int y = 0; y < img.rows; ++y) {
    const uint8_t* s = img.ptr<uint8_t>(y);
    uint8_t* d = out.ptr<uint8_t>(y);
    for (int x = 0; x < img.cols; ++x) {
      uint8_t hsv[3];
      rgb_to_hsv(s + 3 * x, hsv);
      hsv[0] = static_cast<uint8_t>(hsv[0] + shift);
      hsv_to_rgb(hsv, d + 3 * x);
    }
  }
  return out;
}

cv::Mat to_grayscale(const cv::Mat& img) {
  check_8bit(img, "to_grayscale");
  if (img.channels() == 1) return img.clone();
  cv::Mat out(img.size(), img.type());
  for (int y = 0; y < img.rows; ++y) {
    const uint8_t* s = img.ptr<uint8_t>(y);
    uint8_t* d = out.ptr<uint8_t>(y);
    for (int x = 0; x < img.cols; ++x) d[3 * x] = d[3 * x + 1] = d[3 * x + 2] = luma(s + 3 * x);
  }
  return out;
}

ColorJitterParams color_jitter_params(const ColorJitterSpec& spec, SampleRng& rng) {
  ColorJitterParams p;
  std::iota(p.order.begin(), p.order.end(), 0);
  for (int i = 3; i > 0; --i) std::swap(p.order[i], p.order[rng.uniform_int(0, i)]);
  auto factor = [&](double v) { return v > 0 ? rng.uniform(std::max(0.0, 1 - v), 1 + v) : 1.0; };
  p.brightness = factor(spec.brightness);
  p.contrast = factor(spec.contrast);
  p.saturation = factor(spec.saturation);
  p.hue = spec.hue > 0 ? rng.uniform(-spec.hue, spec.hue) : 0.0;
  return p;
}

cv::Mat apply_color_jitter(const cv::Mat& img, const ColorJitterParams& p) {
  check_8bit(img, "color jitter");
  if (img.channels() == 1) {
    // Brightness and contrast compose into one table; saturation and hue
    // leave gray untouched. The contrast mean is that of the image as
    // transformed so far, i.e. of the histogram pushed through the table.
    const auto hist = luma_histogram(img);
    Lut lut = identity_lut();
    for (int op : p.order) {
      Lut step;
      if (op == 0) {
        step = brightness_lut(p.brightness);
      } else if (op == 1) {
        std::array<int64_t, 256> cur{};
        for (int v = 0; v < 256; ++v) cur[lut[v]] += hist[v];
        step = contrast_lut(rounded_mean(cur), p.contrast);
      } else {
        continue;
      }
      for (auto& v : lut) v = step[v];
    }
    return apply_lut(img, lut);
  }
  cv::Mat out = img;
  for (int op : p.order) {
    switch (op) {
      case 0: out = adjust_brightness(out, p.brightness); break;
      case 1: out = adjust_contrast(out, p.contrast); break;
      case 2: out = adjust_saturation(out, p.saturation); break;
      default: out = adjust_hue(out, p.hue); break;
    }
  }
  return out;
}

// ---- Blur, solarize, flip --------------------------------------------------

int gaussian_kernel_size(double sigma) { return 2 * static_cast<int>(std::ceil(3.0 * sigma)) + 1; }

cv::Mat gaussian_blur(const cv::Mat& img, double sigma, int ksize) {
  check_8bit(img, "gaussian_blur");
  RADCLEAR_CHECK(sigma > 0, "blur sigma {} must be > 0", sigma);
  if (ksize <= 0) ksize = gaussian_kernel_size(sigma);
  RADCLEAR_CHECK(ksize % 2 == 1, "blur kernel size {} must be odd", ksize);
  // Reflect padding needs half the kernel to be smaller than the image.
  const int max_half = std::max(0, std::min(img.rows, img.cols) - 1);
  ksize = std::min(ksize, 2 * max_half + 1);
  const int half = ksize / 2;
  cv::Mat k(ksize, 1, CV_32F);
  double sum = 0;
  std::vector<float> pdf(ksize);
  for (int i = 0; i < ksize; ++i) {
    // torch.linspace(-half, half, ksize), in float32 as torchvision does.
    const float x = static_cast<float>(-half + i);
    pdf[i] = std::exp(-0.5f * (x / static_cast<float>(sigma)) * (x / static_cast<float>(sigma)));
    sum += pdf[i];
  }
  for (int i = 0; i < ksize; ++i) k.at<float>(i) = static_cast<float>(pdf[i] / sum);
  cv::Mat out;
  cv::sepFilter2D(img, out, CV_8U, k, k, cv::Point(-1, -1), 0, cv::BORDER_REFLECT_101);
  return out;
}

cv::Mat solarize(const cv::Mat& img, int threshold) {
  check_8bit(img, "solarize");
  Lut l;
  for (int v = 0; v < 256; ++v) l[v] = static_cast<uint8_t>(v >= threshold ? 255 - v : v);
  return apply_lut(img, l);
}

cv::Mat hflip(const cv::Mat& img) {
  check_8bit(img, "hflip");
  cv::Mat out;
  cv::flip(img, out, 1);
  return out;
}

// ---- To tensor + normalise ---------------------------------------------

void write_normalized(const cv::Mat& img, const Normalization& norm, bool flip, float* dst) {
  check_8bit(img, "write_normalized");
  const int h = img.rows, w = img.cols, ch = img.channels();
  const size_t plane = static_cast<size_t>(h) * w;
  // One table per channel with the same float32 operations as ToTensor
  // (v / 255) and Normalize ((x - mean) / std): bit-identical to torchvision.
  float table[3][256];
  for (int c = 0; c < 3; ++c) {
    for (int v = 0; v < 256; ++v) table[c][v] = (static_cast<float>(v) / 255.0f - norm.mean[c]) / norm.std[c];
  }
  const float *t0 = table[0], *t1 = table[1], *t2 = table[2];
  for (int y = 0; y < h; ++y) {
    const uint8_t* s = img.ptr<uint8_t>(y);
    float* d0 = dst + static_cast<size_t>(y) * w;
    float* d1 = d0 + plane;
    float* d2 = d1 + plane;
    // One pass over the source row writes all three planes.
    for (int x = 0; x < w; ++x) {
      const uint8_t* px = s + static_cast<size_t>(flip ? w - 1 - x : x) * ch;
      d0[x] = t0[px[0]];
      d1[x] = t1[px[ch == 1 ? 0 : 1]];
      d2[x] = t2[px[ch == 1 ? 0 : 2]];
    }
  }
}

at::Tensor to_normalized_tensor(const cv::Mat& img, const Normalization& norm, bool flip) {
  at::Tensor t = torch::empty({3, img.rows, img.cols}, torch::kFloat32);
  write_normalized(img, norm, flip, t.data_ptr<float>());
  return t;
}

// ---- The MoCo v3 augmentation -------------------------------------------

AugmentSpec augmentation1() { return AugmentSpec{}; }

AugmentSpec augmentation2() {
  AugmentSpec s;
  s.blur_p = 0.1;
  s.solarize_p = 0.2;
  return s;
}

AugmentDraw draw_augment(const AugmentSpec& spec, SampleRng& rng) {
  AugmentDraw d;
  d.jitter = rng.bernoulli(spec.jitter_p);
  if (d.jitter) d.jitter_params = color_jitter_params(spec.jitter, rng);
  d.grayscale = rng.bernoulli(spec.grayscale_p);
  d.blur = rng.bernoulli(spec.blur_p);
  if (d.blur) d.sigma = rng.uniform(spec.blur_sigma_min, spec.blur_sigma_max);
  d.solarize = rng.bernoulli(spec.solarize_p);
  d.solarize_threshold = spec.solarize_threshold;
  d.flip = rng.bernoulli(spec.flip_p);
  return d;
}

cv::Mat apply_augment(const cv::Mat& img, const AugmentDraw& d) {
  cv::Mat out = img;
  if (d.jitter) out = apply_color_jitter(out, d.jitter_params);
  if (d.grayscale && out.channels() == 3) out = to_grayscale(out);
  if (d.blur) out = gaussian_blur(out, d.sigma);
  if (d.solarize) out = solarize(out, d.solarize_threshold);
  return out;
}

}  // namespace radclear::data
