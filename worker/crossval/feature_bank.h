#pragma once
// All feature bags of a cohort in memory (float16 files stay float16), and
// the padded, masked batches the MIL heads train on.
#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "worker/crossval/cohort.h"

namespace radclear::crossval {

struct BankStudy {
  std::string id;
  std::string patient;
  std::vector<float> targets;
  torch::Tensor feats;                   // [rows, D], float32 or float16
  std::vector<int32_t> coords;           // rows * 2: slice number, window
  std::vector<std::string> slice_names;  // rows
  std::vector<int64_t> key_rows;         // rows of key slices
  std::vector<std::string> windows;      // CT window names (file attribute)
  int64_t rows() const { return feats.size(0); }
};

// A study left out, and why ("no feature file", "features are 512 wide, ...").
struct SkippedStudy {
  std::string study;
  std::string reason;
};

struct Batch {
  torch::Tensor feats;  // [B, bag, D] float32, zero padded
  torch::Tensor mask;   // [B, bag] bool
  torch::Tensor targets;  // [B, L] float32 (empty tensor without targets)
  std::vector<std::vector<int64_t>> rows;  // the study rows in each bag
};

class FeatureBank {
 public:
  // Loads `<dir>/<study>.h5` for every cohort study on `threads` threads.
  // The feature width is `expected_dim` when > 0, else the most common
  // width; studies without a file, with another width or without rows are
  // skipped and listed in skipped() (and warned about). Throws NotFound when
  // no study remains.
  static FeatureBank load(const Cohort& cohort, const std::filesystem::path& dir,
                          const std::map<std::string, std::set<std::string>>& key_slices, int threads,
                          int64_t expected_dim = -1);

  // A bank from studies already in memory (benchmarks, tests). Throws
  // InvalidArgument when a study's feats are not [rows >= 1, dim].
  static FeatureBank from_studies(std::vector<BankStudy> studies, int64_t dim);

  int64_t dim() const { return dim_; }
  const std::vector<BankStudy>& studies() const { return studies_; }
  const std::vector<SkippedStudy>& skipped() const { return skipped_; }
  // Indices of the studies whose patient is in `patients`.
  std::vector<size_t> studies_of(const std::vector<std::string>& patients) const;

  // Bags of the studies `idx`, at most `bag_size` rows each (longer studies
  // are subsampled with seed mix_seed(seed, study index)), padded and masked
  // to the longest bag of the batch.
  Batch make_batch(const std::vector<size_t>& idx, int64_t bag_size, uint64_t seed) const;

 private:
  int64_t dim_ = 0;
  std::vector<BankStudy> studies_;
  std::vector<SkippedStudy> skipped_;
};

}  // namespace radclear::crossval
