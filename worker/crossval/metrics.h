#pragma once
// Binary classification metrics on probabilities (never on thresholded
// predictions, the reference's bug), with sklearn's semantics:
//   auroc              = roc_auc_score (ties count one half: midranks)
//   average_precision  = average_precision_score (step sum, no interpolation)
//   balanced_accuracy  = balanced_accuracy_score at threshold 0.5
// A metric that is undefined for the data (a single class present) is
// std::nullopt, never a made-up number. y holds 0/1.
#include <cstdint>
#include <optional>
#include <vector>

namespace radclear::crossval {

std::optional<double> auroc(const std::vector<float>& y, const std::vector<double>& score);
// Undefined without positives.
std::optional<double> average_precision(const std::vector<float>& y, const std::vector<double>& score);
std::optional<double> balanced_accuracy(const std::vector<float>& y, const std::vector<double>& prob,
                                        double threshold = 0.5);

struct CurvePoint {
  double x = 0.0;
  double y = 0.0;
};
// ROC curve (x = FPR, y = TPR) with one point per distinct score, starting
// at (0, 0); sklearn's roc_curve(drop_intermediate=False). Empty when
// undefined.
std::vector<CurvePoint> roc_curve(const std::vector<float>& y, const std::vector<double>& score);
// Precision-recall curve (x = recall, y = precision), one point per
// distinct score from the highest, starting at (0, 1). Empty without
// positives.
std::vector<CurvePoint> pr_curve(const std::vector<float>& y, const std::vector<double>& score);
// Piecewise-linear interpolation of a curve (x ascending) at `xs`; for
// averaging ROC curves over folds (last y at equal x wins).
std::vector<double> interpolate_curve(const std::vector<CurvePoint>& curve, const std::vector<double>& xs);

enum class Metric { kAuroc, kAuprc, kBalancedAccuracy };
const char* metric_name(Metric m);  // "auroc", "auprc", "balanced_accuracy"
std::optional<double> compute_metric(Metric m, const std::vector<float>& y, const std::vector<double>& prob);

struct ConfidenceInterval {
  std::optional<double> low, high;
  int valid_resamples = 0;  // resamples where the metric was defined
};
// Percentile bootstrap CI resampling groups (patients) with replacement:
// group[i] is the group of sample i. Undefined resamples are dropped; with
// fewer than half defined, the CI is undefined.
ConfidenceInterval bootstrap_ci(Metric m, const std::vector<float>& y, const std::vector<double>& prob,
                                const std::vector<int64_t>& group, int resamples, uint64_t seed,
                                double level = 0.95);

// Mean and sample standard deviation of the defined values.
struct MeanStd {
  std::optional<double> mean, std;
  int n = 0;
};
MeanStd mean_std(const std::vector<std::optional<double>>& values);

}  // namespace radclear::crossval
