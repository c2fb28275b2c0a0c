#pragma once
// How closely two extractions of the same studies agree (bf16 against fp32,
// say): the cosine of each feature row with its counterpart.
#include <cstdint>
#include <filesystem>

namespace radclear::worker {

struct FeatureAgreement {
  int64_t studies = 0;
  int64_t rows = 0;
  double min_cosine = 1.0;
  double mean_cosine = 1.0;
};

// Every <study>.h5 of `a` against the same file in `b`. Throws NotFound for
// a study missing from `b`, CorruptData for files of different shapes.
FeatureAgreement compare_feature_dirs(const std::filesystem::path& a, const std::filesystem::path& b);

}  // namespace radclear::worker
