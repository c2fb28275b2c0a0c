// `radclear index` and `radclear index-stats` run as a user runs them, on a
// small `radclear synth` data set (both CSV formats it writes).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/cli/run_cli.h"

namespace {
namespace fs = std::filesystem;

using IndexCliRun = radclear::test_util::CliRun;

IndexCliRun radclear(const std::string& args) { return radclear::test_util::run_radclear(args); }

TEST(IndexCli, SynthIndexStatsRerunVerify) {
  const fs::path dir = fs::temp_directory_path() / ("radclear_cli_index_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const std::string data = (dir / "synth").string();
  const std::string db = (dir / "db").string();
  IndexCliRun r = radclear("synth --out " + data +
                           " --patients 3 --studies-per-patient 2 --slices 6 --size 32 --seed 5 --quiet");
  ASSERT_EQ(r.code, 0) << r.out;

  const std::string index_args = "index --data " + data + " --db " + db + " --dl-info " + data +
                                 "/DL_info.csv --lesion-csv " + data + "/lesions.csv --clinical " +
                                 data + "/clinical.csv --quiet";
  r = radclear(index_args + " --verify --strict");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("slices new 36"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("verify: 36 files checked, 0 missing"), std::string::npos) << r.out;

  r = radclear("index-stats --db " + db + " --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["patients"], 3);
  EXPECT_EQ(j["studies"], 6);
  EXPECT_EQ(j["slices"], 36);
  EXPECT_GE(j["lesions"].get<int>(), 6);  // 1..3 lesions per study
  EXPECT_GE(j["lesion_slices"].get<int>(), 1);
  int64_t by_type = 0;
  for (const auto& [name, n] : j["lesions_by_type"].items()) by_type += n.get<int64_t>();
  EXPECT_EQ(by_type, j["lesions"].get<int64_t>());

  // Rerun: nothing new.
  r = radclear(index_args);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("slices new 0, updated 0, unchanged 36"), std::string::npos) << r.out;

  // A bad row is fatal with --strict: exit 2 and file:line (skipping is
  // covered by the storage tests).
  {
    std::ofstream out(data + "/clinical.csv", std::ios::app);
    out << "no_such_study,1,0,0,0,0,0,0,0,1000000\n";
  }
  r = radclear(index_args + " --strict");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("clinical.csv:8"), std::string::npos) << r.out;

  // A vanished file makes --verify fail (exit 1) and name it.
  fs::remove(fs::path(data) / "Images_png" / "000001_01_01" / "002.png");
  r = radclear("index --data " + data + " --db " + db + " --quiet --verify");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("000001_01_01/002.png: missing"), std::string::npos) << r.out;

  fs::remove_all(dir);
}

// CLEAR's README tables through the binary: `<folder>_<file>` names with a
// ';' separator and underscore flags index the lesions; a table whose every
// row fails exits 2 naming the file and its first bad rows (issue #21: it
// used to write 0 lesions and exit 0).
TEST(IndexCli, ClearReadmeLesionTable) {
  const fs::path dir = fs::temp_directory_path() / ("radclear_cli_clear_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  for (const char* p : {"patient_001", "patient_002"}) {
    fs::create_directories(dir / "root" / p);
    for (int k = 1; k <= 2; ++k) std::ofstream(dir / "root" / p / ("slice_00" + std::to_string(k) + ".png")) << "x";
  }
  std::ofstream(dir / "lesions.csv") << "image;lesion_present;patient_id\n"
                                        "patient_001_slice_001.png;1;patient_001\n"
                                        "patient_002_slice_002.png;yes;patient_002\n";
  const std::string base = "index --data " + (dir / "root").string() + " --db " + (dir / "db").string();
  IndexCliRun r = radclear(base + " --lesion_csv " + (dir / "lesions.csv").string() + " --csv_separator ';' --quiet");
  ASSERT_EQ(r.code, 0) << r.out;
  r = radclear("index-stats --db " + (dir / "db").string() + " --json");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out)["lesion_slices"], 2);

  std::ofstream(dir / "wrong.csv") << "image,lesion_present,patient_id\n"
                                      "patient_009_slice_001.png,1,patient_009\n"
                                      "patient_001_slice_007.png,1,patient_001\n";
  r = radclear(base + " --lesion-csv " + (dir / "wrong.csv").string() + " --quiet");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("wrong.csv:2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("every one of its 2 lesion rows failed"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

}  // namespace
