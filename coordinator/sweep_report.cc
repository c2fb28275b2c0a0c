#include "coordinator/sweep_report.h"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>

#include "common/check.h"
#include "common/csv.h"
#include "stages/crossval_spec.h"
#include "stages/payload.h"

namespace radclear::coordinator {

namespace {

std::string join_overrides(const std::vector<std::string>& o) {
  std::string s;
  for (const auto& x : o) s += (s.empty() ? "" : "; ") + x;
  return s.empty() ? "(base)" : s;
}

TrialAuroc missing(const TrialSubmission& t, const std::string& why) {
  TrialAuroc r;
  r.trial = t.id;
  r.overrides = join_overrides(t.overrides);
  r.label = "-";
  r.mean = why;
  return r;
}

}  // namespace

std::vector<TrialAuroc> collect_sweep_aurocs(const SweepSubmission& sweep) {
  std::vector<TrialAuroc> rows;
  for (const TrialSubmission& t : sweep.trials) {
    const auto report = std::find_if(t.jobs.begin(), t.jobs.end(), [](const JobSubmission& j) {
      return j.stage == Stage::kReport;
    });
    if (report == t.jobs.end()) {
      rows.push_back(missing(t, "no crossval in this trial"));
      continue;
    }
    try {
      const auto spec = stages::from_payload<stages::CrossvalSpec>(report->payload);
      const auto path = spec.out_dir / "stats.csv";
      if (!std::filesystem::exists(path)) {
        rows.push_back(missing(t, "no stats.csv (" + path.string() + ")"));
        continue;
      }
      CsvReader csv(path);
      const size_t label = csv.require_column("label"), metric = csv.require_column("metric"),
                   mean = csv.require_column("mean"), sd = csv.require_column("std"),
                   lo = csv.require_column("ci95_low"), hi = csv.require_column("ci95_high");
      // The pooled column is named after the run ("pooled", "ensemble"): the one before ci95_low.
      const size_t pooled = lo - 1;
      CsvRow row;
      while (csv.next(row)) {
        if (row.fields.size() < csv.header().size() || row.fields[metric] != "auroc") continue;
        TrialAuroc r;
        r.trial = t.id;
        r.overrides = join_overrides(t.overrides);
        r.label = row.fields[label];
        r.mean = row.fields[mean];
        r.std = row.fields[sd];
        r.pooled = row.fields[pooled];
        r.ci95_low = row.fields[lo];
        r.ci95_high = row.fields[hi];
        r.stats_csv = path.string();
        rows.push_back(std::move(r));
      }
    } catch (const Error& e) {
      rows.push_back(missing(t, e.what()));
    }
  }
  return rows;
}

std::string sweep_report_csv(const std::vector<TrialAuroc>& rows) {
  std::ostringstream out;
  out << "trial,overrides,label,mean_auroc,std,pooled_auroc,ci95_low,ci95_high,stats_csv\n";
  for (const auto& r : rows) {
    out << csv_join({r.trial, r.overrides, r.label, r.mean, r.std, r.pooled, r.ci95_low, r.ci95_high, r.stats_csv})
        << "\n";
  }
  return out.str();
}

std::string sweep_report_table(const std::vector<TrialAuroc>& rows) {
  std::vector<std::vector<std::string>> cells = {
      {"trial", "overrides", "label", "AUROC mean", "std", "pooled", "95% CI"}};
  for (const auto& r : rows) {
    cells.push_back({r.trial, r.overrides, r.label, r.mean, r.std, r.pooled,
                     r.ci95_low.empty() ? "" : fmt::format("[{}, {}]", r.ci95_low, r.ci95_high)});
  }
  std::vector<size_t> width(cells[0].size(), 0);
  for (const auto& c : cells)
    for (size_t i = 0; i < c.size(); ++i) width[i] = std::max(width[i], c[i].size());
  std::ostringstream out;
  for (const auto& c : cells) {
    for (size_t i = 0; i < c.size(); ++i) out << fmt::format("{:<{}}", c[i], width[i] + 2);
    out << "\n";
  }
  return out.str();
}

}  // namespace radclear::coordinator
