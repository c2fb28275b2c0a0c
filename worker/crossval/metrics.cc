#include "worker/crossval/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <unordered_map>

#include "common/check.h"

namespace radclear::crossval {

namespace {

struct Counts {
  int64_t pos = 0, neg = 0;
};

Counts count_classes(const std::vector<float>& y, size_t n_scores) {
  RADCLEAR_CHECK_EQ(y.size(), n_scores, "labels and scores differ in length");
  Counts c;
  for (float v : y) (v > 0.5f ? c.pos : c.neg)++;
  return c;
}

// Indices sorted by descending score (stable, so equal scores keep order;
// ties are handled by grouping, never by order).
std::vector<size_t> order_desc(const std::vector<double>& score) {
  std::vector<size_t> idx(score.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return score[a] > score[b]; });
  return idx;
}

// Calls fn(tp, fp) after each group of equal scores, from the highest.
template <typename Fn>
void sweep_thresholds(const std::vector<float>& y, const std::vector<double>& score, Fn fn) {
  const auto idx = order_desc(score);
  int64_t tp = 0, fp = 0;
  for (size_t i = 0; i < idx.size(); ++i) {
    (y[idx[i]] > 0.5f ? tp : fp)++;
    if (i + 1 == idx.size() || score[idx[i + 1]] != score[idx[i]]) fn(tp, fp);
  }
}

double quantile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

}  // namespace

std::optional<double> auroc(const std::vector<float>& y, const std::vector<double>& score) {
  const Counts c = count_classes(y, score.size());
  if (c.pos == 0 || c.neg == 0) return std::nullopt;
  for (double s : score) {
    if (std::isnan(s)) return std::nullopt;
  }
  // Mann-Whitney U with midranks: tied scores share the average rank.
  std::vector<size_t> idx(score.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return score[a] < score[b]; });
  double rank_sum_pos = 0.0;
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j + 1 < idx.size() && score[idx[j + 1]] == score[idx[i]]) ++j;
    const double mid_rank = 0.5 * static_cast<double>(i + j) + 1.0;
    for (size_t k = i; k <= j; ++k) {
      if (y[idx[k]] > 0.5f) rank_sum_pos += mid_rank;
    }
    i = j + 1;
  }
  const double p = static_cast<double>(c.pos), n = static_cast<double>(c.neg);
  return (rank_sum_pos - p * (p + 1.0) / 2.0) / (p * n);
}

std::optional<double> average_precision(const std::vector<float>& y, const std::vector<double>& score) {
  const Counts c = count_classes(y, score.size());
  if (c.pos == 0) return std::nullopt;
  double ap = 0.0, prev_recall = 0.0;
  sweep_thresholds(y, score, [&](int64_t tp, int64_t fp) {
    const double recall = static_cast<double>(tp) / static_cast<double>(c.pos);
    const double precision = static_cast<double>(tp) / static_cast<double>(tp + fp);
    ap += (recall - prev_recall) * precision;
    prev_recall = recall;
  });
  return ap;
}

std::optional<double> balanced_accuracy(const std::vector<float>& y, const std::vector<double>& prob,
                                        double threshold) {
  const Counts c = count_classes(y, prob.size());
  if (c.pos == 0 || c.neg == 0) return std::nullopt;
  int64_t tp = 0, tn = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const bool pred = prob[i] >= threshold;
    if (y[i] > 0.5f && pred) ++tp;
    if (y[i] <= 0.5f && !pred) ++tn;
  }
  return 0.5 * (static_cast<double>(tp) / static_cast<double>(c.pos) +
                static_cast<double>(tn) / static_cast<double>(c.neg));
}

std::vector<CurvePoint> roc_curve(const std::vector<float>& y, const std::vector<double>& score) {
  const Counts c = count_classes(y, score.size());
  std::vector<CurvePoint> pts;
  if (c.pos == 0 || c.neg == 0) return pts;
  pts.push_back({0.0, 0.0});
  sweep_thresholds(y, score, [&](int64_t tp, int64_t fp) {
    pts.push_back({static_cast<double>(fp) / static_cast<double>(c.neg),
                   static_cast<double>(tp) / static_cast<double>(c.pos)});
  });
  return pts;
}

std::vector<CurvePoint> pr_curve(const std::vector<float>& y, const std::vector<double>& score) {
  const Counts c = count_classes(y, score.size());
  std::vector<CurvePoint> pts;
  if (c.pos == 0) return pts;
  pts.push_back({0.0, 1.0});
  sweep_thresholds(y, score, [&](int64_t tp, int64_t fp) {
    pts.push_back({static_cast<double>(tp) / static_cast<double>(c.pos),
                   static_cast<double>(tp) / static_cast<double>(tp + fp)});
  });
  return pts;
}

std::vector<double> interpolate_curve(const std::vector<CurvePoint>& curve, const std::vector<double>& xs) {
  std::vector<double> out;
  out.reserve(xs.size());
  for (double x : xs) {
    if (curve.empty()) {
      out.push_back(std::nan(""));
      continue;
    }
    // Last point with px <= x, then the next point with a larger px.
    size_t i = 0;
    while (i + 1 < curve.size() && curve[i + 1].x <= x) ++i;
    if (i + 1 >= curve.size() || curve[i].x >= x) {
      out.push_back(curve[i].y);
      continue;
    }
    const auto& a = curve[i];
    const auto& b = curve[i + 1];
    out.push_back(a.y + (b.y - a.y) * (x - a.x) / (b.x - a.x));
  }
  return out;
}

const char* metric_name(Metric m) {
  switch (m) {
    case Metric::kAuroc:
      return "auroc";
    case Metric::kAuprc:
      return "auprc";
    case Metric::kBalancedAccuracy:
      return "balanced_accuracy";
  }
  return "?";
}

std::optional<double> compute_metric(Metric m, const std::vector<float>& y, const std::vector<double>& prob) {
  switch (m) {
    case Metric::kAuroc:
      return auroc(y, prob);
    case Metric::kAuprc:
      return average_precision(y, prob);
    case Metric::kBalancedAccuracy:
      return balanced_accuracy(y, prob);
  }
  return std::nullopt;
}

ConfidenceInterval bootstrap_ci(Metric m, const std::vector<float>& y, const std::vector<double>& prob,
                                const std::vector<int64_t>& group, int resamples, uint64_t seed, double level) {
  RADCLEAR_CHECK_EQ(group.size(), y.size(), "bootstrap: one group per sample");
  ConfidenceInterval ci;
  if (resamples <= 0 || y.empty()) return ci;
  std::unordered_map<int64_t, size_t> slot;
  std::vector<std::vector<size_t>> members;
  for (size_t i = 0; i < group.size(); ++i) {
    auto [it, inserted] = slot.emplace(group[i], members.size());
    if (inserted) members.emplace_back();
    members[it->second].push_back(i);
  }
  std::mt19937_64 rng(seed);
  std::vector<double> values;
  std::vector<float> by;
  std::vector<double> bp;
  for (int r = 0; r < resamples; ++r) {
    by.clear();
    bp.clear();
    for (size_t g = 0; g < members.size(); ++g) {
      for (size_t i : members[rng() % members.size()]) {
        by.push_back(y[i]);
        bp.push_back(prob[i]);
      }
    }
    if (const auto v = compute_metric(m, by, bp)) values.push_back(*v);
  }
  ci.valid_resamples = static_cast<int>(values.size());
  if (values.empty() || 2 * values.size() < static_cast<size_t>(resamples)) return ci;
  std::sort(values.begin(), values.end());
  const double alpha = 1.0 - level;
  ci.low = quantile(values, alpha / 2.0);
  ci.high = quantile(values, 1.0 - alpha / 2.0);
  return ci;
}

MeanStd mean_std(const std::vector<std::optional<double>>& values) {
  MeanStd r;
  double sum = 0.0;
  for (const auto& v : values) {
    if (v) {
      sum += *v;
      ++r.n;
    }
  }
  if (r.n == 0) return r;
  r.mean = sum / r.n;
  if (r.n >= 2) {
    double ss = 0.0;
    for (const auto& v : values) {
      if (v) ss += (*v - *r.mean) * (*v - *r.mean);
    }
    r.std = std::sqrt(ss / (r.n - 1));
  }
  return r;
}

}  // namespace radclear::crossval
