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

#include "stages/enums.h"

namespace radclear::crossval {

using stages::PatientFrom;

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
  // The rule that gave each study its patient (never kAuto). kIndex: the
  // patients are still the study ids; the caller fills them from the index.
  PatientFrom patient_from = PatientFrom::kColumn;
};

struct ClinicalOptions {
  std::string study_column = "image";
  std::string patient_column = "patient_id";
  // Where the patient comes from (stages/enums.h). kAuto: the patient column
  // when the table has it, else the index when `index_given`, else the
  // study id's prefix up to the first '_' (CLEAR's image.split('_')[0]).
  // kColumn with no such column is an error. The rule used is logged.
  PatientFrom patient_from = PatientFrom::kAuto;
  bool index_given = false;
  // Field separator. Default: ','
  char separator = ',';
  // Binary columns; values 0 or 1 (also "0.0"/"1.0"), or no/yes
  // (false/true; CLEAR's true_labels).
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

// CLEAR's patient of a study: the id up to its first '_' ("P7_ct1" -> "P7"),
// the whole id when it has none.
std::string patient_prefix(const std::string& study_id);

// "109.png" -> "109"; "000001_01_01/109.png" -> "109".
std::string slice_stem(const std::string& name);

}  // namespace radclear::crossval
