#pragma once
// Bilinear resampling with Pillow's semantics (what torchvision 0.14 does to
// PIL images in Resize and RandomResizedCrop): a triangle filter whose
// support widens with the downscale factor (antialiasing), coefficients in
// 22-bit fixed point, horizontal pass first into an 8-bit intermediate, then
// vertical. cv::resize(INTER_LINEAR) does not antialias, so a 512 -> 224
// downscale would alias and differ from the reference by tens of levels.
#include <opencv2/core/mat.hpp>

namespace radclear::data {

// Resamples the region `box` (x0, y0, x1, y1 in source pixel coordinates,
// fractional allowed, inside the image) of `src` (CV_8UC1 or CV_8UC3) to
// `out_size`.
cv::Mat resize_bilinear(const cv::Mat& src, cv::Size out_size, const cv::Rect2d& box);
// Whole image.
cv::Mat resize_bilinear(const cv::Mat& src, cv::Size out_size);

}  // namespace radclear::data
