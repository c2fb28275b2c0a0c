#pragma once
// The cohort of a cross-validation run: studies with patient ids and 0/1
// targets, read from a clinical CSV (CLEAR format: one row per study,
// `image` = study id, label columns 0/1), or with one categorical column
// expanded into binary classes.
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace radclear::crossval {

struct Study {
  std::string id;
  std::string patient;
  std::vector<float> targets;  // one 0/1 per label; empty when the table has none (deploy)
  int64_t csv_line = 0;
};

struct Cohort {
  std::vector<std::string> label_names;
  std::vector<Study> studies;  // in table order
  bool has_targets = true;
};

struct ClinicalOptions {
  std::string study_column = "image";
  // A missing patient column makes every study its own patient (warned).
  std::string patient_column = "patient_id";
  // Binary columns; values must be 0 or 1 (also "0.0"/"1.0").
  std::vector<std::string> labels;
  // Or one categorical column: class `<column>=<value>` per distinct value
  // (sorted), one-hot targets.
  std::string categorical;
  // Deploy: when no requested label column is present, read studies only
  // (has_targets = false) instead of failing.
  bool targets_optional = false;
  // Deploy: a categorical column may hold a single value in a test set.
  bool allow_single_category = false;
};

// Throws InvalidArgument / CorruptData naming file:line and column for: a
// missing study/label column, an empty or duplicate study id, a label that
// is not 0/1, an empty categorical value.
Cohort read_clinical_table(const std::filesystem::path& csv, const ClinicalOptions& options);

// Key slices per study from a CSV with columns `study,slice` (slice number
// "109" or file name "109.png"). Throws on a missing column.
std::map<std::string, std::set<std::string>> read_key_slices_csv(const std::filesystem::path& csv);

// "109.png" -> "109"; "000001_01_01/109.png" -> "109".
std::string slice_stem(const std::string& name);

}  // namespace radclear::crossval
