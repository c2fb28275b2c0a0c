#include "common/atomic_file.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "common/check.h"
#include "tests/file_size_limit.h"
#include "tests/read_file.h"

namespace radclear {
namespace {
namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("radclear_atomic_" + std::to_string(::getpid()) + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TEST(AtomicFile, ReplacesContentsAndLeavesNoTemp) {
  auto d = fresh_dir("a");
  write_file_atomic(d / "x.txt", "one");
  write_file_atomic(d / "x.txt", "two");
  EXPECT_EQ(testing::read_file(d / "x.txt"), "two");
  int n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(d)) ++n;
  EXPECT_EQ(n, 1);
  fs::remove_all(d);
}

using testing::FileSizeLimit;

TEST(AtomicFile, FailedWriteNamesTargetAndCauseAndKeepsTheOldFile) {
  auto d = fresh_dir("efbig");
  write_file_atomic(d / "x.bin", "old");
  try {
    FileSizeLimit limit(4096);
    write_file_atomic(d / "x.bin", std::string(1 << 20, 'x'));
    FAIL() << "a 1 MiB write under a 4 KiB file-size limit succeeded";
  } catch (const IoError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("writing " + (d / "x.bin").string() + " failed: File too large"), std::string::npos) << msg;
  }
  EXPECT_EQ(testing::read_file(d / "x.bin"), "old");
  int n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(d)) ++n;
  EXPECT_EQ(n, 1) << "a temporary file was left";
  fs::remove_all(d);
}

TEST(AtomicFile, UncommittedWriteKeepsTheOldFile) {
  auto d = fresh_dir("b");
  write_file_atomic(d / "x.txt", "old");
  {
    AtomicOutputFile f(d / "x.txt");
    f.stream() << "half-written";
    EXPECT_TRUE(fs::exists(f.temp_path()));
  }  // destroyed without commit, as when an exception unwinds
  EXPECT_EQ(testing::read_file(d / "x.txt"), "old");
  int n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(d)) ++n;
  EXPECT_EQ(n, 1);
  fs::remove_all(d);
}

TEST(AtomicFile, UnwritableDirectoryIsAnIoError) {
  EXPECT_THROW(write_file_atomic("/nonexistent-dir/x.txt", "x"), IoError);
}

}  // namespace
}  // namespace radclear
