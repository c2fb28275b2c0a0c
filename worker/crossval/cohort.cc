#include "worker/crossval/cohort.h"

#include <algorithm>
#include <optional>
#include <unordered_set>

#include "common/check.h"
#include "common/csv.h"
#include "common/logging.h"

namespace radclear::crossval {

namespace {

float parse_binary(const std::string& text, const CsvReader& reader, const CsvRow& row, const std::string& column,
                   const std::string& study) {
  const auto v = parse_binary_label(text);
  if (!v) {
    throw InvalidArgument(fmt::format("{}: study '{}', column '{}': label must be 0/1 or no/yes, got '{}'",
                                      reader.where(row), study, column, text));
  }
  return *v ? 1.0f : 0.0f;
}

}  // namespace

Cohort read_clinical_table(const std::filesystem::path& csv, const ClinicalOptions& o) {
  CsvReader reader(csv, o.separator);
  const size_t study_col = reader.require_column(o.study_column);
  std::optional<size_t> patient_col = reader.column(o.patient_column);
  Cohort cohort;
  cohort.patient_from = o.patient_from;
  if (cohort.patient_from == PatientFrom::kAuto) {
    cohort.patient_from = patient_col ? PatientFrom::kColumn : o.index_given ? PatientFrom::kIndex : PatientFrom::kPrefix;
  }
  switch (cohort.patient_from) {
    case PatientFrom::kColumn:
      patient_col = reader.require_column(o.patient_column);
      spdlog::info("{}: patient of each study from column '{}' (patient_from: column)", csv.string(), o.patient_column);
      break;
    case PatientFrom::kPrefix:
      spdlog::info("{}: no '{}' column; patient of each study = its id up to the first '_', CLEAR's rule "
                   "(patient_from: prefix; --patient-from study folds by study)",
                   csv.string(), o.patient_column);
      break;
    case PatientFrom::kIndex:
      spdlog::info("{}: patient of each study from the slice index (patient_from: index)", csv.string());
      break;
    default:
      spdlog::warn("{}: every study is treated as its own patient (patient_from: study): a patient's studies may "
                   "sit in both training and test folds",
                   csv.string());
      break;
  }
  if (cohort.patient_from != PatientFrom::kColumn) patient_col.reset();
  std::vector<size_t> label_cols;
  std::optional<size_t> cat_col;
  if (!o.categorical.empty()) {
    cat_col = reader.require_column(o.categorical);
  } else {
    bool any_present = false;
    for (const auto& l : o.labels) any_present |= reader.column(l).has_value();
    if (!any_present && o.targets_optional) {
      cohort.has_targets = false;
    } else {
      for (const auto& l : o.labels) {
        label_cols.push_back(reader.require_column(l));
        cohort.label_names.push_back(l);
      }
    }
  }
  std::unordered_set<std::string> seen;
  std::vector<std::string> categories;  // per study, for the categorical case
  CsvRow row;
  while (reader.next(row)) {
    auto field = [&](size_t col) -> const std::string& {
      if (col >= row.fields.size()) {
        throw CorruptData(fmt::format("{}: row has {} fields, column '{}' is number {}", reader.where(row),
                                      row.fields.size(), reader.header()[col], col + 1));
      }
      return row.fields[col];
    };
    Study s;
    s.id = field(study_col);
    s.csv_line = row.line;
    if (s.id.empty()) throw CorruptData(fmt::format("{}: empty study id in column '{}'", reader.where(row), o.study_column));
    if (!seen.insert(s.id).second) {
      throw CorruptData(fmt::format("{}: study '{}' appears twice", reader.where(row), s.id));
    }
    s.patient = patient_col                                   ? field(*patient_col)
                : cohort.patient_from == PatientFrom::kPrefix ? patient_prefix(s.id)
                                                              : s.id;
    if (s.patient.empty()) {
      throw CorruptData(fmt::format("{}: study '{}' has an empty '{}'", reader.where(row), s.id, o.patient_column));
    }
    for (size_t i = 0; i < label_cols.size(); ++i) {
      s.targets.push_back(parse_binary(field(label_cols[i]), reader, row, cohort.label_names[i], s.id));
    }
    if (cat_col) {
      const std::string& v = field(*cat_col);
      if (v.empty()) {
        throw InvalidArgument(fmt::format("{}: study '{}', column '{}': empty category", reader.where(row), s.id,
                                          o.categorical));
      }
      categories.push_back(v);
    }
    cohort.studies.push_back(std::move(s));
  }
  if (cohort.studies.empty()) throw CorruptData(fmt::format("{}: no studies", csv.string()));
  if (cat_col) {
    std::vector<std::string> classes = categories;
    std::sort(classes.begin(), classes.end());
    classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
    if (classes.size() < 2 && !o.allow_single_category) {
      throw InvalidArgument(fmt::format("{}: column '{}' has a single value '{}'; nothing to classify", csv.string(),
                                        o.categorical, classes.front()));
    }
    for (const auto& c : classes) cohort.label_names.push_back(o.categorical + "=" + c);
    for (size_t i = 0; i < cohort.studies.size(); ++i) {
      auto& t = cohort.studies[i].targets;
      t.assign(classes.size(), 0.0f);
      t[std::lower_bound(classes.begin(), classes.end(), categories[i]) - classes.begin()] = 1.0f;
    }
  }
  return cohort;
}

std::string patient_prefix(const std::string& study_id) { return study_id.substr(0, study_id.find('_')); }

std::string slice_stem(const std::string& name) {
  std::string s = name;
  const size_t slash = s.find_last_of('/');
  if (slash != std::string::npos) s = s.substr(slash + 1);
  const size_t dot = s.find_last_of('.');
  if (dot != std::string::npos && dot > 0) s = s.substr(0, dot);
  return s;
}

std::map<std::string, std::set<std::string>> read_key_slices_csv(const std::filesystem::path& csv) {
  CsvReader reader(csv);
  const size_t sc = reader.require_column("study");
  const size_t lc = reader.require_column("slice");
  std::map<std::string, std::set<std::string>> out;
  CsvRow row;
  while (reader.next(row)) {
    if (std::max(sc, lc) >= row.fields.size()) {
      throw CorruptData(fmt::format("{}: expected columns 'study' and 'slice'", reader.where(row)));
    }
    out[row.fields[sc]].insert(slice_stem(row.fields[lc]));
  }
  return out;
}

}  // namespace radclear::crossval
