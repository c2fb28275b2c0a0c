#pragma once
// Folds a run brings instead of making them (`--splits-from`): a splits.json
// of another run, or CLEAR's own fold directories. CLEAR's train_crossval.py
// writes, per fold k, `<base>/fold-k/train.csv` and `fold-k/valid.csv`: the
// clinical table's rows of the training and the held-out patients (its
// "valid" set is the fold's test set; it tests on a separate table).
#include <filesystem>
#include <string>

#include "worker/crossval/cohort.h"
#include "worker/crossval/splits.h"

namespace radclear::crossval {

// CLEAR's folds under `dir` (fold-0 .. fold-{k-1}, each with valid.csv): fold
// k holds out the cohort's patients of the studies that valid.csv lists in
// `study_column`. Studies the cohort lacks are counted and logged, not used.
// Throws InvalidArgument / CorruptData naming the file and line when: no
// fold-0, a gap in the numbering, a valid.csv or its study column missing,
// or a patient held out in two folds.
FoldSplits import_clear_folds(const std::filesystem::path& dir, const Cohort& cohort,
                              const std::string& study_column);

// `from` is a splits.json (its labels must be the cohort's) or a directory
// of CLEAR folds. The folds must number `folds` and hold out every patient
// of the cohort exactly once; the error names what is missing and the fix.
FoldSplits bring_splits(const std::filesystem::path& from, const Cohort& cohort, int folds,
                        const std::string& study_column);

}  // namespace radclear::crossval
