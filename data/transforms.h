#pragma once
// Image transforms of the LeCL / MoCo v3 pipeline on 8-bit cv::Mat images
// (CV_8UC1 gray or CV_8UC3 RGB), with torchvision 0.14's semantics on PIL
// images, which is what the reference runs. Conversion to a float tensor
// happens once, at the end (write_normalized / to_normalized_tensor).
//
// Gray images stay single-channel until the end: under PIL semantics a gray
// RGB image is invariant under saturation, hue and grayscale (its luma is
// exact), so those are identities for CV_8UC1 and the result equals the
// 3-channel computation on the replicated image.
//
// Randomness comes from a SampleRng; the draw order is ours (it does not
// reproduce torch's generator), the distributions are torchvision's.
#include <array>
#include <cstdint>

#include <opencv2/core/mat.hpp>

#include "data/rng.h"

namespace at {
class Tensor;
}

namespace radclear::data {

// ---- RandomResizedCrop --------------------------------------------------
struct CropParams {
  int top = 0, left = 0, height = 0, width = 0;
};

struct RandomResizedCropSpec {
  double scale_min = 0.08, scale_max = 1.0;            // fraction of the area
  double ratio_min = 3.0 / 4.0, ratio_max = 4.0 / 3.0;  // width / height
};

// torchvision's get_params: 10 attempts of (area fraction ~ U(scale),
// log aspect ~ U(log ratio)), w = round(sqrt(A r)), h = round(sqrt(A / r))
// (Python's round half to even), accepted when it fits; then a centre crop
// clamped to the ratio range.
CropParams random_resized_crop_params(int height, int width, const RandomResizedCropSpec& spec, SampleRng& rng);
// Crop (inside the image) then resize to out x out, bilinear, antialiased.
cv::Mat resized_crop(const cv::Mat& img, const CropParams& crop, int out);

// ---- Eval transform --------------------------------------------------------
// Resize(size): shorter side to `size`, longer side int(size * long / short).
cv::Mat resize_shorter(const cv::Mat& img, int size);
// CenterCrop(size): top = round((h - size) / 2) (half to even). The image
// must be at least size x size.
cv::Mat center_crop(const cv::Mat& img, int size);
// resize_shorter(224) then center_crop(224).
cv::Mat eval_transform(const cv::Mat& img, int size = 224);

// ---- Colour ----------------------------------------------------------------
// Pillow ImageEnhance semantics: out = trunc(clamp(d + f (img - d))) with d
// black (brightness), the rounded mean luma (contrast) or the luma image
// (saturation).
cv::Mat adjust_brightness(const cv::Mat& img, double factor);
cv::Mat adjust_contrast(const cv::Mat& img, double factor);
cv::Mat adjust_saturation(const cv::Mat& img, double factor);
// torchvision's PIL hue path: Pillow's 8-bit HSV, H += uint8(f * 255).
// factor in [-0.5, 0.5].
cv::Mat adjust_hue(const cv::Mat& img, double factor);
// Pillow's luma L = (19595 R + 38470 G + 7471 B + 2^15) >> 16, kept with the
// input's channel count (torchvision's Grayscale(3) for RGB input).
cv::Mat to_grayscale(const cv::Mat& img);

struct ColorJitterSpec {
  double brightness = 0.4;  // factor ~ U(max(0, 1 - b), 1 + b)
  double contrast = 0.4;
  double saturation = 0.2;
  double hue = 0.1;  // factor ~ U(-h, h)
};
struct ColorJitterParams {
  std::array<int, 4> order{0, 1, 2, 3};  // 0 brightness, 1 contrast, 2 saturation, 3 hue
  double brightness = 1, contrast = 1, saturation = 1, hue = 0;
};
ColorJitterParams color_jitter_params(const ColorJitterSpec& spec, SampleRng& rng);
// Applies the four adjustments in params.order. On CV_8UC1 input brightness
// and contrast fold into one lookup table (the contrast mean is taken from
// the histogram), which is exact and one pass over the image.
cv::Mat apply_color_jitter(const cv::Mat& img, const ColorJitterParams& params);

// ---- Blur, solarize, flip --------------------------------------------------
// Gaussian kernel size used for a sigma: 2 * ceil(3 sigma) + 1.
int gaussian_kernel_size(double sigma);
// torchvision F.gaussian_blur(img, k, sigma): normalised sampled Gaussian,
// reflect padding (no edge repeat), rounded to 8 bits. k <= 0 picks
// gaussian_kernel_size(sigma); k is clamped to the image size (odd).
// (MoCo v3 blurs with PIL's GaussianBlur(radius = sigma), an extended-box
// approximation of the same Gaussian; we use the exact kernel.)
cv::Mat gaussian_blur(const cv::Mat& img, double sigma, int ksize = 0);
// Values >= threshold become 255 - value.
cv::Mat solarize(const cv::Mat& img, int threshold = 128);
cv::Mat hflip(const cv::Mat& img);

// ---- To tensor + normalise ---------------------------------------------
struct Normalization {
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};  // ImageNet
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};
};
// Writes ((v / 255) - mean_c) / std_c in float32 as CHW (3 x H x W) to
// `dst`, replicating a gray image over the three channels, optionally
// mirrored left-right (so a flip costs nothing).
void write_normalized(const cv::Mat& img, const Normalization& norm, bool flip, float* dst);
// Same into a new [3, H, W] float tensor.
at::Tensor to_normalized_tensor(const cv::Mat& img, const Normalization& norm = {}, bool flip = false);

// ---- The MoCo v3 augmentation -------------------------------------------
struct AugmentSpec {
  double jitter_p = 0.8;
  ColorJitterSpec jitter;
  double grayscale_p = 0.2;
  double blur_p = 1.0;
  double blur_sigma_min = 0.1, blur_sigma_max = 2.0;
  double solarize_p = 0.0;
  int solarize_threshold = 128;
  double flip_p = 0.5;
};
// reference.md §2: augmentation 1 (blur p = 1, no solarize) and 2 (blur
// p = 0.1, solarize p = 0.2).
AugmentSpec augmentation1();
AugmentSpec augmentation2();

// What one application of an AugmentSpec drew (tests check these rates).
struct AugmentDraw {
  bool jitter = false;
  ColorJitterParams jitter_params;
  bool grayscale = false;
  bool blur = false;
  double sigma = 0;
  bool solarize = false;
  int solarize_threshold = 128;
  bool flip = false;
};
AugmentDraw draw_augment(const AugmentSpec& spec, SampleRng& rng);
// Applies a draw except the flip, which write_normalized performs.
cv::Mat apply_augment(const cv::Mat& img, const AugmentDraw& draw);

}  // namespace radclear::data
