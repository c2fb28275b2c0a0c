#pragma once
// Outputs of crossval / deploy: prediction tables, metric tables (per fold,
// mean +- std, pooled with bootstrap CI by patient), metrics.json, and the
// ROC / PR / attention plots. Every file is written atomically.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "worker/crossval/feature_bank.h"
#include "worker/crossval/metrics.h"
#include "worker/crossval/train.h"

namespace radclear::crossval {

constexpr int kTopAttention = 5;

struct AttentionTop {
  std::string slice;  // slice name (or number when the file has no names)
  int32_t window = 0;
  double weight = 0.0;
};

struct PredRow {
  std::string study, patient;
  std::vector<float> truth;  // per label; empty without targets
  std::vector<double> prob, logit;
  std::vector<AttentionTop> top;  // up to kTopAttention, highest first
};

std::vector<PredRow> to_pred_rows(const FeatureBank& bank, const std::vector<StudyPrediction>& preds);

// patient-preds.csv: study, patient, per label <l>_true (when has_truth),
// <l>_prob, <l>_logit, then top<i>_slice, top<i>_window, top<i>_attention.
void write_predictions(const std::filesystem::path& path, const std::vector<std::string>& labels,
                       const std::vector<PredRow>& rows, bool has_truth);
// Throws NotFound / CorruptData (file:line, column) on a bad table.
std::vector<PredRow> read_predictions(const std::filesystem::path& path, const std::vector<std::string>& labels,
                                      bool has_truth);

// One metric of one label over groups (folds or models) and pooled.
struct MetricRow {
  std::string label;
  Metric metric = Metric::kAuroc;
  std::vector<std::optional<double>> per_group;
  MeanStd summary;
  std::optional<double> pooled;
  ConfidenceInterval ci;
};

// Metrics per group and on `pooled` (bootstrap by patient).
std::vector<MetricRow> compute_stats(const std::vector<std::string>& labels,
                                     const std::vector<std::vector<PredRow>>& groups, const std::vector<PredRow>& pooled,
                                     int bootstrap, uint64_t seed);
// stats.csv: label, metric, <group columns>, mean, std, n_defined,
// <pooled_name>, ci95_low, ci95_high; undefined values are "NA".
void write_stats_csv(const std::filesystem::path& path, const std::vector<std::string>& group_names,
                     const std::vector<MetricRow>& rows, const std::string& pooled_name = "pooled");
// metrics.json of one fold: per label the three metrics (null = undefined)
// and the class counts, plus training facts in `extra`.
nlohmann::json metrics_json(const std::vector<std::string>& labels, const std::vector<PredRow>& rows,
                            const nlohmann::json& extra);

// roc-<label>.png and pr-<label>.png in `dir`: one curve per group and the
// mean over the first `mean_of` groups (all when negative; deploy leaves
// the ensemble out of the mean).
void plot_curves(const std::filesystem::path& dir, const std::vector<std::string>& labels,
                 const std::vector<std::string>& group_names, const std::vector<std::vector<PredRow>>& groups,
                 const std::string& title_prefix, int mean_of = -1);
// Attention over slice position for one study: one line per CT window,
// key slices marked.
void plot_attention(const std::filesystem::path& path, const BankStudy& study, const StudyPrediction& pred,
                    const std::vector<std::string>& labels);

// File-name-safe form of a label ("site=lung" -> "site_lung").
std::string file_safe(const std::string& name);

}  // namespace radclear::crossval
