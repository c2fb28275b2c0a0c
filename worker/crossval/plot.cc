#include "worker/crossval/plot.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

#include "common/atomic_file.h"
#include "common/check.h"

namespace radclear::crossval {

namespace {

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
const cv::Scalar kBlack(0, 0, 0), kGrid(225, 225, 225), kGrey(140, 140, 140), kWhite(255, 255, 255);

cv::Scalar bgr(Rgb c) { return cv::Scalar(c.b, c.g, c.r); }

// 1, 2 or 5 times a power of ten, about range / 5.
double nice_step(double range) {
  const double raw = range / 5.0;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= raw) return m * p;
  }
  return 10.0 * p;
}

std::string tick_label(double v, double step) {
  if (std::abs(v) < step * 1e-6) v = 0.0;
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  return fmt::format("{:.{}f}", v, decimals);
}

void dashed_line(cv::Mat& img, cv::Point2d a, cv::Point2d b, const cv::Scalar& c, int thickness) {
  const double len = std::hypot(b.x - a.x, b.y - a.y);
  const double dash = 9.0, gap = 6.0;
  for (double t = 0.0; t < len; t += dash + gap) {
    const double t1 = std::min(len, t + dash);
    const cv::Point2d p0 = a + (b - a) * (t / len), p1 = a + (b - a) * (t1 / len);
    cv::line(img, p0, p1, c, thickness, cv::LINE_AA);
  }
}

void put_text(cv::Mat& img, const std::string& text, cv::Point org, double scale, int thick, const cv::Scalar& c) {
  cv::putText(img, text, org, kFont, scale, c, thick, cv::LINE_AA);
}

cv::Size text_size(const std::string& text, double scale, int thick) {
  int base = 0;
  return cv::getTextSize(text, kFont, scale, thick, &base);
}

}  // namespace

Rgb palette(int i) {
  static const Rgb colors[] = {{0, 114, 178}, {230, 159, 0}, {0, 158, 115}, {204, 121, 167},
                               {86, 180, 233}, {213, 94, 0},  {240, 228, 66}, {0, 0, 0}};
  return colors[((i % 8) + 8) % 8];
}

std::vector<uint8_t> render_chart_png(const Chart& ch) {
  RADCLEAR_CHECK(ch.x_max > ch.x_min && ch.y_max > ch.y_min, "empty axis range for '{}'", ch.title);
  cv::Mat img(ch.height, ch.width, CV_8UC3, kWhite);
  const int left = 95, right = 30, top = 60, bottom = 80;
  const cv::Rect area(left, top, ch.width - left - right, ch.height - top - bottom);
  auto px = [&](double x, double y) {
    return cv::Point2d(area.x + (x - ch.x_min) / (ch.x_max - ch.x_min) * area.width,
                       area.y + area.height - (y - ch.y_min) / (ch.y_max - ch.y_min) * area.height);
  };
  // Grid and ticks.
  const double xs = nice_step(ch.x_max - ch.x_min), ys = nice_step(ch.y_max - ch.y_min);
  for (double v = std::ceil(ch.x_min / xs - 1e-9) * xs; v <= ch.x_max + xs * 1e-9; v += xs) {
    const auto p = px(v, ch.y_min);
    cv::line(img, cv::Point2d(p.x, area.y), p, kGrid, 1);
    cv::line(img, p, p + cv::Point2d(0, 6), kBlack, 1);
    const auto label = tick_label(v, xs);
    const auto sz = text_size(label, 0.5, 1);
    put_text(img, label, cv::Point(static_cast<int>(p.x) - sz.width / 2, static_cast<int>(p.y) + 24), 0.5, 1, kBlack);
  }
  for (double v = std::ceil(ch.y_min / ys - 1e-9) * ys; v <= ch.y_max + ys * 1e-9; v += ys) {
    const auto p = px(ch.x_min, v);
    cv::line(img, p, cv::Point2d(area.x + area.width, p.y), kGrid, 1);
    cv::line(img, p, p - cv::Point2d(6, 0), kBlack, 1);
    const auto label = tick_label(v, ys);
    const auto sz = text_size(label, 0.5, 1);
    put_text(img, label, cv::Point(area.x - 10 - sz.width, static_cast<int>(p.y) + sz.height / 2), 0.5, 1, kBlack);
  }
  if (ch.diagonal) dashed_line(img, px(ch.x_min, ch.y_min), px(ch.x_max, ch.y_max), kGrey, 1);
  for (double m : ch.x_markers) {
    if (m >= ch.x_min && m <= ch.x_max) {
      dashed_line(img, px(m, ch.y_min), px(m, ch.y_max), cv::Scalar(60, 60, 200), 1);
    }
  }
  // Series, clipped to the plot area.
  cv::Mat plot = img(area);
  const cv::Point2d origin(area.x, area.y);
  for (const auto& s : ch.series) {
    RADCLEAR_CHECK_EQ(s.x.size(), s.y.size(), "series '{}' of '{}'", s.name, ch.title);
    for (size_t i = 0; i + 1 < s.x.size(); ++i) {
      if (std::isnan(s.y[i]) || std::isnan(s.y[i + 1])) continue;
      const auto a = px(s.x[i], s.y[i]) - origin, b = px(s.x[i + 1], s.y[i + 1]) - origin;
      if (s.dashed) {
        dashed_line(plot, a, b, bgr(s.color), s.thickness);
      } else {
        cv::line(plot, a, b, bgr(s.color), s.thickness, cv::LINE_AA);
      }
    }
    if (s.markers || s.x.size() == 1) {
      for (size_t i = 0; i < s.x.size(); ++i) {
        if (!std::isnan(s.y[i])) cv::circle(plot, px(s.x[i], s.y[i]) - origin, 3, bgr(s.color), cv::FILLED, cv::LINE_AA);
      }
    }
  }
  cv::rectangle(img, area, kBlack, 1);
  // Title and axis labels (the y label rotated).
  {
    const auto sz = text_size(ch.title, 0.7, 2);
    put_text(img, ch.title, cv::Point((ch.width - sz.width) / 2, 38), 0.7, 2, kBlack);
    const auto xs_sz = text_size(ch.x_label, 0.6, 1);
    put_text(img, ch.x_label, cv::Point(area.x + (area.width - xs_sz.width) / 2, ch.height - 22), 0.6, 1, kBlack);
    const auto ys_sz = text_size(ch.y_label, 0.6, 1);
    cv::Mat label(ys_sz.height + 10, ys_sz.width + 4, CV_8UC3, kWhite);
    put_text(label, ch.y_label, cv::Point(2, ys_sz.height + 2), 0.6, 1, kBlack);
    cv::Mat rotated;
    cv::rotate(label, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
    const int y0 = std::max(0, area.y + (area.height - rotated.rows) / 2);
    if (y0 + rotated.rows <= img.rows && rotated.cols + 12 <= left) {
      rotated.copyTo(img(cv::Rect(12, y0, rotated.cols, rotated.rows)));
    }
  }
  // Legend.
  std::vector<std::pair<std::string, const Series*>> entries;
  for (const auto& s : ch.series) {
    if (!s.name.empty()) entries.emplace_back(s.name, &s);
  }
  if (!ch.x_marker_label.empty() && !ch.x_markers.empty()) entries.emplace_back(ch.x_marker_label, nullptr);
  if (!entries.empty()) {
    const double scale = 0.5;
    int w = 0;
    for (const auto& e : entries) w = std::max(w, text_size(e.first, scale, 1).width);
    const int row_h = 22, box_w = w + 60, box_h = static_cast<int>(entries.size()) * row_h + 12;
    const bool right_side = ch.legend == LegendCorner::kLowerRight || ch.legend == LegendCorner::kUpperRight;
    const bool lower = ch.legend == LegendCorner::kLowerRight || ch.legend == LegendCorner::kLowerLeft;
    const int bx = right_side ? area.x + area.width - box_w - 10 : area.x + 10;
    const int by = lower ? area.y + area.height - box_h - 10 : area.y + 10;
    const cv::Rect box(bx, by, box_w, box_h);
    cv::Mat roi = img(box);
    cv::Mat overlay(roi.size(), roi.type(), kWhite);
    cv::addWeighted(overlay, 0.85, roi, 0.15, 0.0, roi);
    cv::rectangle(img, box, kGrey, 1);
    for (size_t i = 0; i < entries.size(); ++i) {
      const int y = by + 6 + static_cast<int>(i) * row_h + row_h / 2;
      const cv::Point a(bx + 8, y), b(bx + 40, y);
      if (entries[i].second) {
        const auto& s = *entries[i].second;
        if (s.dashed) {
          dashed_line(img, a, b, bgr(s.color), s.thickness);
        } else {
          cv::line(img, a, b, bgr(s.color), s.thickness, cv::LINE_AA);
        }
      } else {
        dashed_line(img, a, b, cv::Scalar(60, 60, 200), 1);
      }
      put_text(img, entries[i].first, cv::Point(bx + 48, y + 5), scale, 1, kBlack);
    }
  }
  std::vector<uint8_t> png;
  if (!cv::imencode(".png", img, png)) throw IoError(fmt::format("cannot encode chart '{}' as PNG", ch.title));
  return png;
}

void save_chart_png(const Chart& chart, const std::filesystem::path& path) {
  const auto png = render_chart_png(chart);
  write_file_atomic(path, std::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
}

}  // namespace radclear::crossval
