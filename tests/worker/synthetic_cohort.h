#pragma once
// Tiny synthetic MIL cohorts for the crossval tests: per-study HDF5 feature
// files plus a CLEAR-style clinical table. Label "a" is present when a few
// rows carry +signal in feature 0, label "b" likewise in feature 1, so a
// MIL head can learn both; everything else is N(0, 1) noise.
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "storage/feature_store.h"
#include "worker/crossval/spec.h"

namespace radclear::crossval::testing {

struct SyntheticOptions {
  int patients = 40;
  int dim = 8;
  int min_rows = 6, max_rows = 24;
  float signal = 3.0f;
  uint64_t seed = 5;
  storage::FeatureDtype dtype = storage::FeatureDtype::kFloat32;
};

// Writes <dir>/features/<study>.h5 and <dir>/clini.csv (image, patient_id,
// a, b). Patients have one or two studies. Returns the number of studies.
inline int write_synthetic_cohort(const std::filesystem::path& dir, const SyntheticOptions& o) {
  namespace fs = std::filesystem;
  fs::create_directories(dir / "features");
  std::mt19937_64 rng(o.seed);
  std::normal_distribution<float> noise;
  std::ofstream clini(dir / "clini.csv");
  clini << "image,patient_id,a,b\n";
  int studies = 0;
  for (int p = 0; p < o.patients; ++p) {
    const int n_studies = 1 + static_cast<int>(rng() % 2);
    for (int s = 0; s < n_studies; ++s) {
      const std::string id = "P" + std::to_string(p) + "_S" + std::to_string(s);
      const int a = static_cast<int>(rng() % 2), b = static_cast<int>(rng() % 3 == 0);
      storage::StudyFeatures f;
      f.attrs.study_id = id;
      f.attrs.extractor_arch = "synthetic";
      f.attrs.windows = {"abdomen", "chest"};
      f.attrs.dtype = o.dtype;
      f.rows = o.min_rows + static_cast<int64_t>(rng() % (o.max_rows - o.min_rows + 1));
      f.dim = o.dim;
      for (int64_t r = 0; r < f.rows; ++r) {
        for (int d = 0; d < o.dim; ++d) f.feats.push_back(noise(rng));
        f.coords.push_back(static_cast<int32_t>(100 + r / 2));
        f.coords.push_back(static_cast<int32_t>(r % 2));
        f.slice_names.push_back(std::to_string(100 + r / 2) + ".png");
      }
      // The signal sits on 2 rows (one slice, both windows) in the middle.
      const int64_t key = (f.rows / 2) & ~int64_t{1};
      for (int64_t r = key; r < key + 2 && r < f.rows; ++r) {
        if (a) f.row(r)[0] += o.signal;
        if (b) f.row(r)[1] += o.signal;
      }
      storage::write_study_features(storage::feature_file_path(dir / "features", id), f);
      clini << id << ",P" << p << "," << a << "," << b << "\n";
      ++studies;
    }
  }
  return studies;
}

// A cross-validation of the cohort in `dir` into `dir`/`out`: both labels,
// one thread, no progress bars. Training settings are each test's own.
inline CrossvalSpec cohort_spec(const std::filesystem::path& dir, const std::string& out) {
  CrossvalSpec s;
  s.features_dir = dir / "features";
  s.clini_csv = dir / "clini.csv";
  s.out_dir = dir / out;
  s.labels = {"a", "b"};
  s.threads = 1;
  s.progress = false;
  return s;
}

}  // namespace radclear::crossval::testing
