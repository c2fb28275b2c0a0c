// Metrics against scikit-learn on golden cases with ties
// (scripts/golden/metrics.py), and the undefined cases.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <nlohmann/json.hpp>

#include "worker/crossval/metrics.h"

namespace radclear::crossval {
namespace {

TEST(Metrics, MatchScikitLearnIncludingTies) {
  std::ifstream in(std::string(RADCLEAR_SOURCE_DIR) + "/tests/golden/mil/metrics.json");
  ASSERT_TRUE(in.good()) << "run /usr/bin/python3 scripts/golden/metrics.py";
  const auto g = nlohmann::json::parse(in);
  ASSERT_GE(g["cases"].size(), 5u);
  for (const auto& c : g["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    std::vector<float> y;
    for (int v : c["y"]) y.push_back(static_cast<float>(v));
    const auto s = c["score"].get<std::vector<double>>();
    ASSERT_TRUE(auroc(y, s).has_value());
    EXPECT_NEAR(*auroc(y, s), c["auroc"].get<double>(), 1e-12);
    EXPECT_NEAR(*average_precision(y, s), c["auprc"].get<double>(), 1e-12);
    EXPECT_NEAR(*balanced_accuracy(y, s), c["balanced_accuracy"].get<double>(), 1e-12);
    const auto roc = roc_curve(y, s);
    const auto fpr = c["roc_fpr"].get<std::vector<double>>();
    const auto tpr = c["roc_tpr"].get<std::vector<double>>();
    ASSERT_EQ(roc.size(), fpr.size());
    for (size_t i = 0; i < roc.size(); ++i) {
      EXPECT_NEAR(roc[i].x, fpr[i], 1e-12);
      EXPECT_NEAR(roc[i].y, tpr[i], 1e-12);
    }
  }
}

TEST(Metrics, TiesCountOneHalfNotThresholded) {
  // All tied: 0.5 exactly; thresholding first (the reference bug) would give
  // something else for the second case.
  EXPECT_DOUBLE_EQ(*auroc({0, 1, 0, 1}, {0.3, 0.3, 0.3, 0.3}), 0.5);
  EXPECT_DOUBLE_EQ(*auroc({0, 0, 1, 1}, {0.1, 0.4, 0.35, 0.45}), 0.75);
}

TEST(Metrics, SingleClassIsUndefinedNeverANumber) {
  EXPECT_FALSE(auroc({1, 1, 1}, {0.1, 0.5, 0.9}).has_value());
  EXPECT_FALSE(auroc({0, 0}, {0.1, 0.5}).has_value());
  EXPECT_FALSE(balanced_accuracy({0, 0}, {0.1, 0.5}).has_value());
  EXPECT_FALSE(average_precision({0, 0}, {0.1, 0.5}).has_value());
  EXPECT_TRUE(roc_curve({1, 1}, {0.1, 0.2}).empty());
  EXPECT_FALSE(auroc({}, {}).has_value());
  const auto ms = mean_std({0.5, std::nullopt, 0.7});
  EXPECT_EQ(ms.n, 2);
  EXPECT_NEAR(*ms.mean, 0.6, 1e-12);
  EXPECT_NEAR(*ms.std, std::sqrt(0.02), 1e-12);
  EXPECT_FALSE(mean_std({std::nullopt}).mean.has_value());
}

TEST(Metrics, BootstrapByPatientBracketsTheEstimate) {
  std::vector<float> y;
  std::vector<double> p;
  std::vector<int64_t> g;
  std::mt19937 rng(3);
  std::normal_distribution<double> nd;
  for (int i = 0; i < 200; ++i) {
    const float yi = static_cast<float>(i % 2);
    y.push_back(yi);
    p.push_back(1.0 / (1.0 + std::exp(-(2.0 * yi - 1.0 + nd(rng)))));
    g.push_back(i / 2);  // two studies per patient
  }
  const double point = *auroc(y, p);
  const auto ci = bootstrap_ci(Metric::kAuroc, y, p, g, 300, 9);
  ASSERT_TRUE(ci.low && ci.high);
  EXPECT_LT(*ci.low, point);
  EXPECT_GT(*ci.high, point);
  EXPECT_GT(*ci.high - *ci.low, 0.02);
  EXPECT_EQ(ci.valid_resamples, 300);
  // Deterministic for a seed.
  const auto again = bootstrap_ci(Metric::kAuroc, y, p, g, 300, 9);
  EXPECT_EQ(*again.low, *ci.low);
  // One class only: no CI.
  std::vector<float> ones(y.size(), 1.0f);
  EXPECT_FALSE(bootstrap_ci(Metric::kAuroc, ones, p, g, 50, 1).low.has_value());
}

TEST(Metrics, InterpolateCurve) {
  const std::vector<CurvePoint> c = {{0, 0}, {0, 0.5}, {0.5, 0.5}, {1, 1}};
  const auto v = interpolate_curve(c, {0.0, 0.25, 0.75, 1.0});
  EXPECT_DOUBLE_EQ(v[0], 0.5);
  EXPECT_DOUBLE_EQ(v[1], 0.5);
  EXPECT_DOUBLE_EQ(v[2], 0.75);
  EXPECT_DOUBLE_EQ(v[3], 1.0);
}

}  // namespace
}  // namespace radclear::crossval
