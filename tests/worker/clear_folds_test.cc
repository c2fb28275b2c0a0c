// Folds brought from CLEAR's fold directories or another run's splits.json.
#include "worker/crossval/clear_folds.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "common/check.h"

namespace radclear::crossval {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;

fs::path temp_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("radclear_clear_folds_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// CLEAR's clinical table (README): `image` = study, label columns, no
// patient column; the patient is the image name's prefix. 9 patients, the
// odd ones with two studies.
fs::path write_table(const fs::path& dir) {
  std::ofstream out(dir / "clini.csv");
  out << "image,all,liver\n";
  for (int p = 0; p < 9; ++p) {
    for (int s = 0; s < 1 + p % 2; ++s) out << "P" << p << "_0" << s << "," << (p + s) % 2 << "," << p % 3 / 2 << "\n";
  }
  return dir / "clini.csv";
}

Cohort table_cohort(const fs::path& csv) {
  ClinicalOptions o;
  o.labels = {"all", "liver"};
  return read_clinical_table(csv, o);
}

// What CLEAR's train_crossval.py leaves: fold-k/train.csv and valid.csv,
// the table's rows with a `patient` column appended (pandas, index=False).
// `fold_of` says where each patient is held out (-1: nowhere, -2: in folds
// 0 and 1).
void write_clear_folds(const fs::path& dir, const fs::path& table, int folds, const std::function<int(int)>& fold_of) {
  std::vector<std::string> rows;
  std::ifstream in(table);
  std::string header, line;
  std::getline(in, header);
  while (std::getline(in, line)) rows.push_back(line);
  for (int f = 0; f < folds; ++f) {
    fs::create_directories(dir / ("fold-" + std::to_string(f)));
    std::ofstream train(dir / ("fold-" + std::to_string(f)) / "train.csv");
    std::ofstream valid(dir / ("fold-" + std::to_string(f)) / "valid.csv");
    train << header << ",patient\n";
    valid << header << ",patient\n";
    for (const auto& r : rows) {
      const std::string patient = r.substr(0, r.find('_'));
      const int home = fold_of(std::stoi(patient.substr(1)));
      const bool held_out = home == f || (home == -2 && f < 2);
      (held_out ? valid : train) << r << "," << patient << "\n";
    }
  }
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(ClearFolds, ValidCsvsBecomeTheHeldOutPatientsOfEachFold) {
  const auto dir = temp_dir("import");
  const auto cohort = table_cohort(write_table(dir));
  write_clear_folds(dir / "cv", dir / "clini.csv", 3, [](int p) { return p % 3; });
  const auto s = bring_splits(dir / "cv", cohort, 3, "image");
  ASSERT_EQ(s.folds, 3);
  EXPECT_EQ(s.label_names, cohort.label_names);
  EXPECT_EQ(s.test_patients[0], (std::vector<std::string>{"P0", "P3", "P6"}));
  EXPECT_EQ(s.test_patients[1], (std::vector<std::string>{"P1", "P4", "P7"}));
  EXPECT_EQ(s.test_patients[2], (std::vector<std::string>{"P2", "P5", "P8"}));
  EXPECT_THAT(error_of([&] { bring_splits(dir / "cv", cohort, 5, "image"); }),
              HasSubstr("has 3 folds but --folds is 5; pass --folds 3"));
  // Another run's splits.json is brought the same way.
  save_splits(dir / "splits.json", s);
  EXPECT_EQ(bring_splits(dir / "splits.json", cohort, 3, "image").test_patients, s.test_patients);
  fs::remove_all(dir);
}

TEST(ClearFolds, APatientHeldOutTwiceOrNeverIsNamed) {
  const auto dir = temp_dir("cover");
  const auto cohort = table_cohort(write_table(dir));
  write_clear_folds(dir / "twice", dir / "clini.csv", 3, [](int p) { return p == 4 ? -2 : p % 3; });
  const auto twice = error_of([&] { bring_splits(dir / "twice", cohort, 3, "image"); });
  EXPECT_THAT(twice, HasSubstr("fold-1/valid.csv:"));
  EXPECT_THAT(twice, HasSubstr("patient 'P4'"));
  EXPECT_THAT(twice, HasSubstr("already held out at"));
  EXPECT_THAT(twice, HasSubstr("fold-0/valid.csv:"));
  write_clear_folds(dir / "never", dir / "clini.csv", 3, [](int p) { return p == 5 ? -1 : p % 3; });
  const auto never = error_of([&] { bring_splits(dir / "never", cohort, 3, "image"); });
  EXPECT_THAT(never, HasSubstr("patient 'P5' (study 'P5_00'"));
  EXPECT_THAT(never, HasSubstr("held out in no fold"));
  // A hand-written splits.json that lists a patient twice is refused too.
  FoldSplits s = bring_splits([&] {
    write_clear_folds(dir / "ok", dir / "clini.csv", 3, [](int p) { return p % 3; });
    return dir / "ok";
  }(), cohort, 3, "image");
  s.test_patients[2].push_back("P0");
  save_splits(dir / "splits.json", s);
  EXPECT_THAT(error_of([&] { load_or_make_splits(dir / "splits.json", cohort, 3, 1); }),
              HasSubstr("patient 'P0' is held out in folds 0 and 2"));
  fs::remove_all(dir);
}

TEST(ClearFolds, LayoutErrorsNameTheDirectoryAndFile) {
  const auto dir = temp_dir("layout");
  const auto cohort = table_cohort(write_table(dir));
  fs::create_directories(dir / "empty");
  EXPECT_THAT(error_of([&] { bring_splits(dir / "empty", cohort, 3, "image"); }), HasSubstr("no fold-0 directory"));
  write_clear_folds(dir / "gap", dir / "clini.csv", 3, [](int p) { return p % 3; });
  fs::rename(dir / "gap" / "fold-2", dir / "gap" / "fold-4");
  EXPECT_THAT(error_of([&] { bring_splits(dir / "gap", cohort, 3, "image"); }),
              HasSubstr("fold-4 does not follow fold-0 .. fold-1 without a gap"));
  write_clear_folds(dir / "nocol", dir / "clini.csv", 2, [](int p) { return p % 2; });
  EXPECT_THAT(error_of([&] { bring_splits(dir / "nocol", cohort, 2, "study"); }), HasSubstr("valid.csv"));
  fs::remove(dir / "nocol" / "fold-1" / "valid.csv");
  EXPECT_THAT(error_of([&] { bring_splits(dir / "nocol", cohort, 2, "image"); }),
              HasSubstr("fold-1/valid.csv"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace radclear::crossval
