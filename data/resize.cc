#include "data/resize.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

#include "common/check.h"

namespace radclear::data {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

struct Coeffs {
  int ksize = 0;
  std::vector<int> bounds;  // per output: first input index, tap count
  std::vector<int32_t> k;   // per output: ksize fixed-point weights
};

double triangle(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

Coeffs precompute(int in_size, double in0, double in1, int out_size) {
  double scale = (in1 - in0) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = 1.0 * filterscale;
  Coeffs c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.bounds.resize(2 * out_size);
  c.k.assign(static_cast<size_t>(out_size) * c.ksize, 0);
  std::vector<double> w(c.ksize);
  const double ss = 1.0 / filterscale;
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = in0 + (xx + 0.5) * scale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      w[x] = triangle((x + xmin - center + 0.5) * ss);
      ww += w[x];
    }
    int32_t* k = &c.k[static_cast<size_t>(xx) * c.ksize];
    for (int x = 0; x < xmax; ++x) {
      const double v = ww != 0.0 ? w[x] / ww : w[x];
      k[x] = static_cast<int32_t>(v < 0 ? -0.5 + v * (1 << kPrecisionBits) : 0.5 + v * (1 << kPrecisionBits));
    }
    c.bounds[2 * xx] = xmin;
    c.bounds[2 * xx + 1] = xmax;
  }
  return c;
}

inline uint8_t clip8(int32_t v) {
  v >>= kPrecisionBits;
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

// The hot loop is an 8-bit x 32-bit multiply-accumulate along rows. The
// x86-64 baseline (SSE2) has no 32-bit vector multiply, so an AVX2 clone is
// compiled too and picked at load time on CPUs that have it.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void vertical(const cv::Mat& src, cv::Mat& dst, int row_shift, const Coeffs& c) {
  const int width = dst.cols * dst.channels();
  std::vector<int32_t> acc(width);
  for (int yy = 0; yy < dst.rows; ++yy) {
    const int ymin = c.bounds[2 * yy] - row_shift, ymax = c.bounds[2 * yy + 1];
    const int32_t* k = &c.k[static_cast<size_t>(yy) * c.ksize];
    std::fill(acc.begin(), acc.end(), int32_t{1} << (kPrecisionBits - 1));
    for (int y = 0; y < ymax; ++y) {
      const uint8_t* in = src.ptr<uint8_t>(y + ymin);
      const int32_t ky = k[y];
      for (int x = 0; x < width; ++x) acc[x] += in[x] * ky;
    }
    uint8_t* out = dst.ptr<uint8_t>(yy);
    for (int x = 0; x < width; ++x) out[x] = clip8(acc[x]);
  }
}

// The horizontal pass is the vertical pass on the transposed rows: same
// arithmetic, but the inner loop runs along contiguous memory and
// vectorises, where a direct horizontal pass gathers a few taps per pixel.
void horizontal(const cv::Mat& src, cv::Mat& dst, int row0, int rows, const Coeffs& c) {
  cv::Mat t;
  cv::transpose(src.rowRange(row0, row0 + rows), t);
  cv::Mat out_t(dst.cols, rows, src.type());
  vertical(t, out_t, 0, c);
  cv::transpose(out_t, dst);
}

}  // namespace

cv::Mat resize_bilinear(const cv::Mat& src, cv::Size out_size, const cv::Rect2d& box) {
  RADCLEAR_CHECK(src.type() == CV_8UC1 || src.type() == CV_8UC3, "resize expects CV_8UC1/CV_8UC3, got type {}",
                 src.type());
  RADCLEAR_CHECK(out_size.width > 0 && out_size.height > 0, "resize to {}x{}", out_size.width, out_size.height);
  RADCLEAR_CHECK(box.x >= 0 && box.y >= 0 && box.x + box.width <= src.cols + 1e-9 &&
                     box.y + box.height <= src.rows + 1e-9 && box.width > 0 && box.height > 0,
                 "resize box ({}, {}, {}x{}) outside the {}x{} image", box.x, box.y, box.width, box.height, src.cols,
                 src.rows);
  const bool need_h = out_size.width != src.cols || box.x != 0 || box.width != out_size.width;
  const bool need_v = out_size.height != src.rows || box.y != 0 || box.height != out_size.height;
  const Coeffs ch = precompute(src.cols, box.x, box.x + box.width, out_size.width);
  const Coeffs cv_ = precompute(src.rows, box.y, box.y + box.height, out_size.height);
  const int ybox_first = cv_.bounds[0];
  const int ybox_last = cv_.bounds[2 * out_size.height - 2] + cv_.bounds[2 * out_size.height - 1];

  cv::Mat cur = src;
  int row_shift = 0;
  if (need_h) {
    cv::Mat tmp(ybox_last - ybox_first, out_size.width, src.type());
    horizontal(src, tmp, ybox_first, ybox_last - ybox_first, ch);
    cur = tmp;
    row_shift = ybox_first;
  }
  if (need_v) {
    cv::Mat out(out_size, src.type());
    vertical(cur, out, row_shift, cv_);
    return out;
  }
  return need_h ? cur : src.clone();
}

cv::Mat resize_bilinear(const cv::Mat& src, cv::Size out_size) {
  return resize_bilinear(src, out_size, cv::Rect2d(0, 0, src.cols, src.rows));
}

}  // namespace radclear::data
