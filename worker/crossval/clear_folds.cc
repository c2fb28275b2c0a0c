#include "worker/crossval/clear_folds.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>

#include "common/check.h"
#include "common/csv.h"

namespace radclear::crossval {

namespace fs = std::filesystem;

FoldSplits import_clear_folds(const fs::path& dir, const Cohort& cohort, const std::string& study_column) {
  if (!fs::is_directory(dir / "fold-0")) {
    throw InvalidArgument(fmt::format("{}: no fold-0 directory; --splits-from takes CLEAR's fold directory "
                                      "(fold-0/valid.csv, fold-1/valid.csv, ...) or a splits.json",
                                      dir.string()));
  }
  int folds = 0;
  while (fs::is_directory(dir / fmt::format("fold-{}", folds))) ++folds;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("fold-", 0) != 0 || !entry.is_directory()) continue;
    const auto k = parse_int(name.substr(5));
    if (!k || *k < 0 || *k >= folds) {
      throw InvalidArgument(fmt::format("{}: {} does not follow fold-0 .. fold-{} without a gap", dir.string(),
                                        name, folds - 1));
    }
  }
  std::map<std::string, const Study*> studies;
  for (const auto& st : cohort.studies) studies.emplace(st.id, &st);

  FoldSplits s;
  s.folds = folds;
  s.label_names = cohort.label_names;
  s.test_patients.resize(folds);
  std::map<std::string, std::string> held_out_in;  // patient -> "file:line" that held it out first
  size_t unknown = 0;
  for (int f = 0; f < folds; ++f) {
    CsvReader csv(dir / fmt::format("fold-{}", f) / "valid.csv");
    const size_t col = csv.require_column(study_column);
    std::set<std::string> patients;
    CsvRow row;
    while (csv.next(row)) {
      const auto it = studies.find(row.fields.at(col));
      if (it == studies.end()) {
        ++unknown;
        continue;
      }
      const std::string& patient = it->second->patient;
      if (!patients.insert(patient).second) continue;  // several studies of one patient
      const auto [first, fresh] = held_out_in.emplace(patient, csv.where(row));
      if (!fresh) {
        throw InvalidArgument(fmt::format("{}: patient '{}' (study '{}') is already held out at {}; CLEAR's folds "
                                          "must hold out each patient once",
                                          csv.where(row), patient, row.fields.at(col), first->second));
      }
    }
    s.test_patients[f].assign(patients.begin(), patients.end());
  }
  if (unknown > 0) {
    spdlog::warn("crossval: {} row(s) of {}/fold-*/valid.csv name studies that are not in the clinical table; "
                 "they are left out",
                 unknown, dir.string());
  }
  return s;
}

FoldSplits bring_splits(const fs::path& from, const Cohort& cohort, int folds, const std::string& study_column) {
  FoldSplits s;
  if (fs::is_directory(from)) {
    s = import_clear_folds(from, cohort, study_column);
  } else {
    s = load_splits(from);
    if (s.label_names != cohort.label_names) {
      throw InvalidArgument(fmt::format("{} was made for labels [{}], this run has [{}]", from.string(),
                                        fmt::join(s.label_names, ","), fmt::join(cohort.label_names, ",")));
    }
  }
  if (s.folds != folds) {
    throw InvalidArgument(fmt::format("{} has {} folds but --folds is {}; pass --folds {}", from.string(), s.folds,
                                      folds, s.folds));
  }
  check_splits_cover(s, cohort, from.string(),
                     "the folds must hold out every patient of the clinical table exactly once");
  return s;
}

}  // namespace radclear::crossval
