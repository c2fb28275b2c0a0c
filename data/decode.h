#pragma once
// Decoding slice images with OpenCV. Three kinds come in:
//  - 16-bit grayscale PNG (DeepLesion): stored value = HU + 32768, so the
//    decoder returns Hounsfield units as CV_16SC1 (value - 32768, exact);
//  - 8-bit grayscale PNG/JPEG (CLEAR's own exports): CV_8UC1;
//  - 8-bit colour PNG/JPEG: CV_8UC3 in RGB order (OpenCV's BGR is swapped).
// Anything else (16-bit colour, alpha, empty, truncated) is CorruptData
// naming the path.
#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

namespace radclear::data {

enum class PixelKind {
  kHounsfield,  // CV_16SC1, HU
  kGray8,       // CV_8UC1
  kRgb8,        // CV_8UC3, RGB
};

const char* pixel_kind_name(PixelKind kind);

struct DecodedImage {
  cv::Mat pixels;
  PixelKind kind = PixelKind::kGray8;
};

// Reads the whole file. Throws NotFound / IoError naming the path.
std::vector<uint8_t> read_file_bytes(const std::string& path);

// Decodes an encoded PNG/JPEG buffer; `path` is only used in messages.
// Throws CorruptData when the buffer does not decode to a supported image.
DecodedImage decode_image(const std::vector<uint8_t>& bytes, const std::string& path);

// read_file_bytes + decode_image.
DecodedImage decode_file(const std::string& path);

// Stored 16-bit PNG value -> HU (value - 32768) and back, in place of a copy.
cv::Mat png16_to_hounsfield(const cv::Mat& raw16);  // CV_16UC1 -> CV_16SC1
cv::Mat hounsfield_to_png16(const cv::Mat& hu16);   // CV_16SC1 -> CV_16UC1

}  // namespace radclear::data
