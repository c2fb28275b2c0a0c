// metrics.csv under a failing write (EFBIG from a file-size limit, as on a
// full disk): the error names the file and the cause, the rows before it
// stay, and the resumed run cuts the torn row off and appends whole rows.
#include "worker/pretrain/metrics_log.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "common/check.h"
#include "tests/file_size_limit.h"
#include "tests/read_file.h"
#include "tests/temp_dir.h"

namespace radclear::worker {
namespace {
namespace fs = std::filesystem;

constexpr const char* kHeader = "epoch,step,loss";

std::string row(int epoch, int step) { return fmt::format("{},{},{:.6f}", epoch, step, 1.0 / (1 + epoch * 8 + step)); }

TEST(MetricsLog, FailedWriteNamesFileAndCauseKeepsRowsAndTheRerunCutsTheTornRow) {
  testing::TempDir dir("radclear_metrics_log");
  const fs::path path = dir.path() / "metrics.csv";
  // Epoch 0, then the run that fails in epoch 1.
  { MetricsLog log(path, kHeader); for (int s = 0; s < 8; ++s) log.append(row(0, s)); }
  const std::string epoch0 = testing::read_file(path);
  int written = 0;
  try {
    testing::FileSizeLimit limit(epoch0.size() + 100);  // room for one row and part of the next
    MetricsLog log(path, kHeader);
    for (int s = 0; s < 8; ++s, ++written) log.append(row(1, s));
    FAIL() << "8 rows fitted under a file-size limit of 100 more bytes";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(path.string() + ": writing a metrics row failed: File too large"),
              std::string::npos)
        << e.what();
  }
  EXPECT_GE(written, 1);
  const std::string failed = testing::read_file(path);
  EXPECT_EQ(failed.substr(0, epoch0.size()), epoch0) << "rows before the failure changed";
  EXPECT_NE(failed.back(), '\n') << "expected a torn row at the limit";

  // The rerun resumes from the epoch-0 checkpoint: the torn row is cut off,
  // epoch 1 is written again, every line is whole.
  { MetricsLog log(path, kHeader); for (int s = 0; s < 8; ++s) log.append(row(1, s)); }
  std::string want = epoch0;
  for (int s = 0; s < written; ++s) want += row(1, s) + "\n";
  for (int s = 0; s < 8; ++s) want += row(1, s) + "\n";
  EXPECT_EQ(testing::read_file(path), want);
}

}  // namespace
}  // namespace radclear::worker
