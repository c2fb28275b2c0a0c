#pragma once
// The crossval and deploy stages (library calls; the CLI and, later, a
// coordinator worker call them). Outputs under spec.out_dir:
//
//   crossval.resolved.yaml   the spec as run
//   splits.json              patient folds (made once, reused)
//   skipped-studies.csv      studies left out and why
//   fold-k/model.pt          best-validation weights + options
//   fold-k/training.csv      epoch, train_loss, valid_loss, seconds, best
//   fold-k/patient-preds.csv held-out predictions (report.h)
//   fold-k/metrics.json      per label metrics (null = undefined)
//   fold-k/attention-*.png   attention over slice position
//   oof-preds.csv            all folds' predictions with a fold column
//   stats.csv                per label x metric: folds, mean, std, pooled, 95% CI
//   plots/roc-<label>.png, plots/pr-<label>.png
//
// Resuming: a fold whose predictions file is complete is skipped; a fold
// with model.pt but no (complete) predictions only predicts.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "stages/rank_context.h"
#include "worker/crossval/spec.h"

namespace radclear::crossval {

struct CrossvalSummary {
  std::vector<std::string> label_names;
  int folds_trained = 0;         // on this rank
  int folds_predicted_only = 0;  // on this rank
  int folds_skipped = 0;         // complete already, on this rank
  size_t studies_used = 0;
  size_t studies_skipped = 0;
  // Rank 0: pooled out-of-fold AUROC per label (nullopt: undefined).
  std::vector<std::optional<double>> pooled_auroc;
  bool cancelled = false;  // stopped at the cancel token before every fold was done
};

// Fold f runs on rank f % world; rank 0 writes the shared files and
// aggregates after a barrier (ctx.comm, needed when world > 1). A cancel
// request stops between folds (summary.cancelled; finished folds are kept
// and a rerun skips them).
CrossvalSummary run_crossval(const CrossvalSpec& spec, const stages::RankContext& ctx = {});

struct DeploySummary {
  std::vector<std::string> label_names;
  int models = 0;
  size_t studies = 0;
  // Ensemble AUROC per label on the test set (empty without targets).
  std::vector<std::optional<double>> ensemble_auroc;
};

// Outputs under spec.out_dir: fold-k-preds.csv per model, ensemble-preds.csv
// (mean probability of the fold models), and with targets stats.csv and
// plots/ (one curve per model plus the ensemble).
DeploySummary run_deploy(const DeploySpec& spec, const stages::RankContext& ctx = {});

}  // namespace radclear::crossval
