#include "coordinator/sweep_plot.h"

#include <regex>

#include <gtest/gtest.h>

namespace radclear::coordinator {
namespace {

TrialAuroc row(const std::string& trial, const std::string& label, const std::string& pooled, const std::string& lo,
               const std::string& hi) {
  TrialAuroc r;
  r.trial = trial;
  r.overrides = "crossval.model=" + trial;
  r.label = label;
  r.mean = pooled;
  r.std = "0.03";
  r.pooled = pooled;
  r.ci95_low = lo;
  r.ci95_high = hi;
  return r;
}

int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

TEST(SweepPlot, OneMarkerAndCiPerTrialAndLabelPlacedOnTheAurocAxis) {
  const std::vector<TrialAuroc> rows = {row("t000", "lung", "0.70", "0.60", "0.80"),
                                        row("t001", "lung", "0.90", "0.85", "0.95"),
                                        row("t000", "liver", "0.50", "0.40", "0.60"),
                                        row("t001", "liver", "NA", "", "")};
  const std::string svg = render_forest_svg(rows, "sweep <tiny> & co");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_EQ(count(svg, "<circle"), 3) << "NA has no marker";
  // Axis 0.4..1.0 over 420 px from x=360: 0.7 -> 570, 0.9 -> 710, 0.5 -> 430.
  EXPECT_NE(svg.find("cx=\"570.0\""), std::string::npos) << svg;
  EXPECT_NE(svg.find("cx=\"710.0\""), std::string::npos);
  EXPECT_NE(svg.find("cx=\"430.0\""), std::string::npos);
  // CI bars: 0.60..0.80 -> 500..640.
  EXPECT_NE(svg.find("x1=\"500.0\" y1=\"75\" x2=\"640.0\""), std::string::npos) << svg;
  // Labels group the trials: "lung" comes first, once.
  EXPECT_EQ(count(svg, ">lung<"), 1);
  EXPECT_LT(svg.find(">lung<"), svg.find(">liver<"));
  // A trial keeps its colour across labels.
  const std::regex t1_colour("fill=\"(#[0-9a-f]{6})\">t001");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(svg, m, t1_colour));
  EXPECT_EQ(count(svg, "fill=\"" + m[1].str() + "\">t001"), 2);
  // Text is escaped.
  EXPECT_NE(svg.find("sweep &lt;tiny&gt; &amp; co"), std::string::npos);
  EXPECT_EQ(svg.find("<tiny>"), std::string::npos);
  EXPECT_NE(svg.find("0.70 ± 0.03"), std::string::npos);
}

TEST(SweepPlot, AMissingReportIsListedWithItsReason) {
  TrialAuroc r;
  r.trial = "t002";
  r.overrides = "(base)";
  r.label = "-";
  r.mean = "no stats.csv (runs/crossval-1/stats.csv)";
  const std::string svg = render_forest_svg({r}, "s");
  EXPECT_EQ(count(svg, "<circle"), 0);
  EXPECT_NE(svg.find("no stats.csv"), std::string::npos);
}

}  // namespace
}  // namespace radclear::coordinator
