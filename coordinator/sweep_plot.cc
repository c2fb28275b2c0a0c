#include "coordinator/sweep_plot.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <sstream>

#include <fmt/format.h>

namespace radclear::coordinator {

namespace {

std::optional<double> number(const std::string& s) {
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// Trials keep one colour across labels (Tableau 10, colour-blind safe enough).
constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

// Layout, in px.
constexpr int kLeft = 360;     // row labels
constexpr int kPlot = 420;     // the AUROC axis
constexpr int kRight = 170;    // mean ± sd text
constexpr int kRow = 18;
constexpr int kTop = 48;
constexpr int kBottom = 44;

}  // namespace

std::string render_forest_svg(const std::vector<TrialAuroc>& rows, const std::string& title) {
  // Labels in order of first appearance; trials within each in sweep order.
  std::vector<std::string> labels;
  std::map<std::string, std::vector<const TrialAuroc*>> by_label;
  std::map<std::string, size_t> colour;
  for (const TrialAuroc& r : rows) {
    if (!by_label.count(r.label)) labels.push_back(r.label);
    by_label[r.label].push_back(&r);
    colour.emplace(r.trial, colour.size());
  }
  // The axis spans the data and chance, in steps of 0.1.
  double lo = 0.5, hi = 0.5;
  for (const TrialAuroc& r : rows) {
    for (const std::string* s : {&r.pooled, &r.ci95_low, &r.ci95_high}) {
      if (auto v = number(*s)) {
        lo = std::min(lo, *v);
        hi = std::max(hi, *v);
      }
    }
  }
  lo = std::max(0.0, std::floor(lo * 10 + 1e-9) / 10);  // an exact tenth stays
  hi = std::min(1.0, std::ceil(hi * 10 - 1e-9) / 10);
  if (hi - lo < 0.2) {
    hi = std::min(1.0, lo + 0.2);
    lo = hi - 0.2;
  }
  auto x = [&](double v) { return kLeft + (v - lo) / (hi - lo) * kPlot; };

  const int n_rows = static_cast<int>(rows.size() + labels.size());
  const int height = kTop + n_rows * kRow + kBottom;
  const int width = kLeft + kPlot + kRight;
  std::ostringstream svg;
  svg << fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n",
      width, height, width, height);
  svg << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg << fmt::format("<text x=\"{}\" y=\"20\" font-size=\"15\" font-weight=\"bold\">{}</text>\n", 10, escape(title));
  svg << fmt::format(
      "<text x=\"{}\" y=\"38\" fill=\"#555\">pooled out-of-fold AUROC with 95% CI (dot, bar); fold mean ± sd "
      "on the right</text>\n",
      10);
  const int axis_y = kTop + n_rows * kRow;
  // Grid, ticks and chance.
  for (int t = static_cast<int>(std::lround(lo * 10)); t <= static_cast<int>(std::lround(hi * 10)); ++t) {
    const double v = t / 10.0;
    svg << fmt::format("<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"{3}\"{4}/>\n", x(v), kTop,
                       axis_y, t == 5 ? "#999" : "#e5e5e5", t == 5 ? " stroke-dasharray=\"4 3\"" : "");
    svg << fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{:.1f}</text>\n", x(v), axis_y + 16, v);
  }
  svg << fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#333\"/>\n", kLeft, axis_y,
                     kLeft + kPlot, axis_y);
  svg << fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">AUROC (0.5 = chance)</text>\n",
                     kLeft + kPlot / 2.0, axis_y + 34);

  int y = kTop;
  for (const std::string& label : labels) {
    y += kRow;
    svg << fmt::format("<text x=\"10\" y=\"{}\" font-weight=\"bold\">{}</text>\n", y - 5, escape(label));
    for (const TrialAuroc* r : by_label[label]) {
      y += kRow;
      const int cy = y - 9;
      const char* c = kPalette[colour[r->trial] % std::size(kPalette)];
      svg << fmt::format("<text x=\"22\" y=\"{}\" fill=\"{}\">{} {}</text>\n", y - 5, c, escape(r->trial),
                         escape(r->overrides));
      const auto pooled = number(r->pooled), low = number(r->ci95_low), high = number(r->ci95_high);
      if (low && high)
        svg << fmt::format(
            "<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\"/>\n", x(*low), cy,
            x(*high), cy, c);
      if (pooled)
        svg << fmt::format("<circle cx=\"{:.1f}\" cy=\"{}\" r=\"4\" fill=\"{}\"><title>{} {}: {}</title></circle>\n",
                           x(*pooled), cy, c, escape(r->trial), escape(label), escape(r->pooled));
      const std::string side = pooled ? (r->std.empty() ? r->mean : r->mean + " ± " + r->std) : r->mean;
      svg << fmt::format("<text x=\"{}\" y=\"{}\" fill=\"#333\">{}</text>\n", kLeft + kPlot + 10, y - 5,
                         escape(side.size() > 40 ? side.substr(0, 39) + "…" : side));
    }
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace radclear::coordinator
