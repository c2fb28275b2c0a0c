#pragma once
// Patient-level folds stratified over the label set with iterative
// multi-label stratification (Sechidis, Tsoumakas & Vlahavas 2011), seeded.
// The split is saved as splits.json once and reused by every rerun.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "worker/crossval/cohort.h"

namespace radclear::crossval {

// Assigns each of n items (rows of 0/1 `labels`, all the same width) to one
// of k parts so that every label is spread as evenly as possible; items
// without labels fill the parts that are short. Deterministic for a seed.
// Returns the part index per item.
std::vector<int> iterative_stratification(const std::vector<std::vector<float>>& labels, int k, uint64_t seed);

struct FoldSplits {
  int folds = 0;
  uint64_t seed = 0;
  std::vector<std::string> label_names;
  // test_patients[f]: the patients held out in fold f (sorted).
  std::vector<std::vector<std::string>> test_patients;
};

// Folds over the cohort's patients; a patient's label vector is the OR of
// its studies'. Throws InvalidArgument when there are fewer patients than
// folds.
FoldSplits make_patient_splits(const Cohort& cohort, int folds, uint64_t seed);

// splits.json: {"folds", "seed", "labels", "test_patients": [[...], ...]}.
void save_splits(const std::filesystem::path& path, const FoldSplits& splits);
// Throws CorruptData naming the file on a malformed file.
FoldSplits load_splits(const std::filesystem::path& path);

// Throws InvalidArgument naming `origin`, ending with `fix`, when a cohort
// patient is held out in no fold or a patient in two folds.
void check_splits_cover(const FoldSplits& splits, const Cohort& cohort, const std::string& origin,
                        const std::string& fix);

// Loads `path` when it exists (checking that it covers every patient of the
// cohort once and has `folds` folds, else throws
// InvalidArgument telling to delete it), else makes and saves it.
FoldSplits load_or_make_splits(const std::filesystem::path& path, const Cohort& cohort, int folds, uint64_t seed);

// Splits `patients` (with their OR-ed labels from the cohort) into train and
// validation: round(1 / valid_fraction) stratified parts, part 0 is validation.
void train_valid_split(const Cohort& cohort, const std::vector<std::string>& patients, double valid_fraction,
                       uint64_t seed, std::vector<std::string>& train, std::vector<std::string>& valid);

}  // namespace radclear::crossval
