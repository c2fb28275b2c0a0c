// Crossval outputs under failing writes (EFBIG from a file-size limit, as on
// a full disk or quota): each run stops with an error naming the file that
// did not fit and the cause, never leaves a temporary or partial file, and
// the rerun without the limit ends with the uninterrupted run's splits,
// predictions and stats.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/ranges.h>

#include "common/check.h"
#include "tests/file_size_limit.h"
#include "tests/read_file.h"
#include "tests/temp_dir.h"
#include "tests/worker/synthetic_cohort.h"
#include "worker/crossval/crossval.h"

namespace radclear::crossval {
namespace {
namespace fs = std::filesystem;
using radclear::testing::read_file;

CrossvalSpec small_spec(const fs::path& dir, const std::string& out) {
  CrossvalSpec s = testing::cohort_spec(dir, out);
  s.folds = 3;
  s.hidden = 16;
  s.bag_size = 8;
  s.batch_size = 16;
  s.epochs = 3;
  s.lr = 3e-3;
  s.bootstrap = 50;
  s.attention_plots = 1;
  return s;
}

// Outputs that depend only on the data and the seed (training.csv holds
// timings; model.pt is checked through the predictions it makes).
std::vector<fs::path> deterministic_outputs(const CrossvalSpec& s) {
  std::vector<fs::path> out = {"splits.json", "oof-preds.csv", "stats.csv"};
  for (int k = 0; k < s.folds; ++k) out.push_back(fs::path(fmt::format("fold-{}", k)) / "patient-preds.csv");
  return out;
}

std::vector<fs::path> temp_files(const fs::path& dir) {
  std::vector<fs::path> found;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path().filename().string().find(".tmp.") != std::string::npos) found.push_back(e.path());
  }
  return found;
}

TEST(CrossvalFaults, FailedWritesNameFileAndCauseLeaveNoPartialFileAndTheRerunEqualsAnUninterruptedRun) {
  radclear::testing::TempDir dir("radclear_cv_faults");
  crossval::testing::SyntheticOptions so;
  so.patients = 160;  // splits.json (~1.8 KB) outgrows crossval.resolved.yaml, written before it
  so.dim = 4;
  so.min_rows = 2;
  so.max_rows = 6;
  crossval::testing::write_synthetic_cohort(dir.path(), so);
  const CrossvalSpec straight = small_spec(dir.path(), "straight");
  run_crossval(straight);

  // Limits just under the size of outputs written at different points: the
  // splits, a fold's model, a fold's predictions, a summary plot, the stats.
  std::set<uintmax_t> limits;
  for (const char* f : {"splits.json", "fold-0/model.pt", "fold-0/patient-preds.csv", "plots/roc-a.png", "stats.csv"}) {
    ASSERT_TRUE(fs::exists(straight.out_dir / f)) << f;
    limits.insert(fs::file_size(straight.out_dir / f) - 1);
  }
  const CrossvalSpec spec = small_spec(dir.path(), "out");
  const std::regex failed_write("writing (\\S+) failed: File too large");
  std::set<std::string> failed_files;
  for (const uintmax_t limit : limits) {
    SCOPED_TRACE(fmt::format("file-size limit {} bytes", limit));
    std::string error;
    try {
      radclear::testing::FileSizeLimit fsize(limit);
      run_crossval(spec);
    } catch (const IoError& e) {
      error = e.what();
    }
    std::smatch m;
    ASSERT_TRUE(std::regex_search(error, m, failed_write)) << "no write failure named: '" << error << "'";
    const fs::path named = m[1].str();
    const auto rel = named.lexically_relative(spec.out_dir);
    ASSERT_FALSE(rel.empty() || rel.string().rfind("..", 0) == 0) << named << " is not an output of " << spec.out_dir;
    EXPECT_GT(fs::file_size(straight.out_dir / rel), limit) << rel << " fits the limit, yet its write failed";
    EXPECT_FALSE(fs::exists(named)) << "a partial " << named << " was left";
    failed_files.insert(rel.string());
    EXPECT_EQ(temp_files(spec.out_dir), std::vector<fs::path>{});
    for (const auto& f : deterministic_outputs(spec)) {
      if (fs::exists(spec.out_dir / f)) {
        EXPECT_EQ(read_file(spec.out_dir / f), read_file(straight.out_dir / f)) << f;
      }
    }
  }
  const std::string failed_list = fmt::format("{}", fmt::join(failed_files, ", "));
  std::printf("writes that failed under %zu limits: %s\n", limits.size(), failed_list.c_str());
  // splits.json, a model and a plot among the writes that failed.
  EXPECT_TRUE(failed_files.count("splits.json")) << failed_list;
  EXPECT_TRUE(failed_files.count("fold-0/model.pt")) << failed_list;
  EXPECT_TRUE(std::any_of(failed_files.begin(), failed_files.end(),
                          [](const std::string& f) { return f.size() > 4 && f.substr(f.size() - 4) == ".png"; }))
      << failed_list;

  const auto summary = run_crossval(spec);
  EXPECT_FALSE(summary.cancelled);
  for (const auto& f : deterministic_outputs(spec)) {
    ASSERT_TRUE(fs::exists(spec.out_dir / f)) << f;
    EXPECT_EQ(read_file(spec.out_dir / f), read_file(straight.out_dir / f)) << f << " differs from the uninterrupted run's";
  }
  EXPECT_EQ(temp_files(spec.out_dir), std::vector<fs::path>{});
}

}  // namespace
}  // namespace radclear::crossval
