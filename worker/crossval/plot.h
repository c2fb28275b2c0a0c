#pragma once
// Line charts as PNG (OpenCV drawing): axes with ticks, grid, title, axis
// labels, a legend, optional chance diagonal and vertical markers. Enough
// for ROC / PR curves and attention-over-slice plots; OpenCV stays out of
// this header.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace radclear::crossval {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
};
// A colour-blind-friendly palette (Okabe-Ito), cycling.
Rgb palette(int i);

struct Series {
  std::string name;  // legend entry; empty: not in the legend
  std::vector<double> x, y;
  Rgb color;
  int thickness = 2;
  bool dashed = false;
  bool markers = false;  // small dots at the points
};

enum class LegendCorner { kLowerRight, kLowerLeft, kUpperRight, kUpperLeft };

struct Chart {
  std::string title, x_label, y_label;
  double x_min = 0.0, x_max = 1.0, y_min = 0.0, y_max = 1.0;
  std::vector<Series> series;
  bool diagonal = false;           // dashed grey y = x (chance for ROC)
  std::vector<double> x_markers;   // vertical dashed lines (key slices)
  std::string x_marker_label;      // legend entry for the markers
  LegendCorner legend = LegendCorner::kLowerRight;
  int width = 900, height = 700;
};

// PNG bytes of the chart.
std::vector<uint8_t> render_chart_png(const Chart& chart);
// Writes the PNG atomically.
void save_chart_png(const Chart& chart, const std::filesystem::path& path);

}  // namespace radclear::crossval
