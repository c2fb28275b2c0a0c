#pragma once
// The embedded mode, `radclear run`'s engine and the quickstart's: a
// coordinator on a loopback port in a thread of this process, the sweep
// submitted to it, one local worker group (ranks 1: this process; N > 1: an
// `mpirun -np N radclear worker` child, started again if it dies before the
// sweep ends) until every job of the sweep is DONE, FAILED or CANCELLED;
// then the sweep report (CSV, table, SVG plot). The coordinator's DB makes
// a rerun resume: finished jobs are shared, not run again.
#include <filesystem>
#include <string>
#include <vector>

#include "cli/sweep_submit.h"
#include "coordinator/sweep_report.h"

namespace radclear::cli {

struct EmbeddedRunOptions {
  int ranks = 1;
  std::filesystem::path db;      // default: <data.out>/coordinator.db
  std::filesystem::path report;  // default: <data.out>/<sweep>-report.csv; the plot beside it as .svg
  double lease_ttl_s = 30;
  double heartbeat_s = 2;
  std::string launcher = "mpirun";
  bool quiet = false;  // no progress bars
};

struct EmbeddedRunResult {
  int exit_code = 0;  // 0: every job DONE; 1: not; 3: interrupted (cli/exit_code.h)
  std::vector<coordinator::TrialAuroc> aurocs;
  std::filesystem::path report;  // the CSV written
};

EmbeddedRunResult run_embedded(const PreparedSweep& p, const EmbeddedRunOptions& o);

}  // namespace radclear::cli
