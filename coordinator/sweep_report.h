#pragma once
// The sweep report: per trial, the AUROC of each label from its crossval
// run's stats.csv (the report job's output directory), as a table for
// people and one CSV.
#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"
#include "coordinator/scheduler.h"

namespace radclear::coordinator {

struct TrialAuroc {
  std::string trial;
  std::string overrides;  // "crossval.model=pma; pretrain.lr=0.0003"
  std::string label;
  std::string mean;       // over folds ("NA" when undefined)
  std::string std;
  std::string pooled;     // out-of-fold predictions pooled
  std::string ci95_low;   // bootstrap CI of the pooled AUROC
  std::string ci95_high;
  std::string stats_csv;  // where it came from
};

// One row per trial and label. A trial without a report job or whose
// stats.csv is missing gets one row with label "-" and the reason in `mean`.
std::vector<TrialAuroc> collect_sweep_aurocs(const SweepSubmission& sweep);

// The CSV: trial,overrides,label,mean_auroc,std,pooled_auroc,ci95_low,ci95_high,stats_csv
std::string sweep_report_csv(const std::vector<TrialAuroc>& rows);
// An aligned text table of the same.
std::string sweep_report_table(const std::vector<TrialAuroc>& rows);

}  // namespace radclear::coordinator
