#include "data/decode.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "common/check.h"

namespace radclear::data {

const char* pixel_kind_name(PixelKind kind) {
  switch (kind) {
    case PixelKind::kHounsfield: return "hounsfield16";
    case PixelKind::kGray8: return "gray8";
    case PixelKind::kRgb8: return "rgb8";
  }
  return "?";
}

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) {
    const int err = errno;
    if (err == ENOENT) throw NotFound(fmt::format("{}: no such file", path));
    throw IoError(fmt::format("{}: cannot open: {}", path, std::strerror(err)));
  }
  std::vector<uint8_t> bytes;
  uint8_t buf[1 << 16];
  for (;;) {
    const size_t n = std::fread(buf, 1, sizeof(buf), f.get());
    bytes.insert(bytes.end(), buf, buf + n);
    if (n < sizeof(buf)) break;
  }
  if (std::ferror(f.get())) throw IoError(fmt::format("{}: read error", path));
  return bytes;
}

namespace {

// x - 32768 for uint16 equals flipping the top bit and reading as int16.
void flip_sign_bit(const cv::Mat& in, cv::Mat& out, int out_type) {
  out.create(in.size(), out_type);
  for (int y = 0; y < in.rows; ++y) {
    const uint16_t* src = in.ptr<uint16_t>(y);
    uint16_t* dst = reinterpret_cast<uint16_t*>(out.ptr(y));
    for (int x = 0; x < in.cols; ++x) dst[x] = src[x] ^ 0x8000u;
  }
}

}  // namespace

cv::Mat png16_to_hounsfield(const cv::Mat& raw16) {
  RADCLEAR_CHECK(raw16.type() == CV_16UC1, "expected CV_16UC1, got type {}", raw16.type());
  cv::Mat hu;
  flip_sign_bit(raw16, hu, CV_16SC1);
  return hu;
}

cv::Mat hounsfield_to_png16(const cv::Mat& hu16) {
  RADCLEAR_CHECK(hu16.type() == CV_16SC1, "expected CV_16SC1, got type {}", hu16.type());
  cv::Mat raw;
  flip_sign_bit(hu16, raw, CV_16UC1);
  return raw;
}

DecodedImage decode_image(const std::vector<uint8_t>& bytes, const std::string& path) {
  if (bytes.empty()) throw CorruptData(fmt::format("{}: empty file", path));
  cv::Mat raw;
  try {
    raw = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<uint8_t*>(bytes.data())),
                       cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw CorruptData(fmt::format("{}: cannot decode image: {}", path, e.what()));
  }
  if (raw.empty()) {
    throw CorruptData(fmt::format("{}: cannot decode image ({} bytes; truncated or not PNG/JPEG)", path,
                                  bytes.size()));
  }
  DecodedImage out;
  switch (raw.type()) {
    case CV_16UC1:
      out.kind = PixelKind::kHounsfield;
      flip_sign_bit(raw, out.pixels, CV_16SC1);
      break;
    case CV_8UC1:
      out.kind = PixelKind::kGray8;
      out.pixels = raw;
      break;
    case CV_8UC3:
      out.kind = PixelKind::kRgb8;
      cv::cvtColor(raw, out.pixels, cv::COLOR_BGR2RGB);
      break;
    default:
      throw CorruptData(fmt::format("{}: unsupported image: {}x{}, {} channel(s), depth {} (expected 16-bit gray, "
                                    "8-bit gray or 8-bit RGB)",
                                    path, raw.cols, raw.rows, raw.channels(), raw.depth()));
  }
  return out;
}

DecodedImage decode_file(const std::string& path) { return decode_image(read_file_bytes(path), path); }

}  // namespace radclear::data
