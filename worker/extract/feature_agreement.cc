#include "worker/extract/feature_agreement.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/check.h"
#include "storage/feature_store.h"

namespace radclear::worker {

namespace fs = std::filesystem;

FeatureAgreement compare_feature_dirs(const fs::path& a, const fs::path& b) {
  FeatureAgreement r;
  double sum = 0;
  for (const auto& entry : fs::directory_iterator(a)) {
    if (entry.path().extension() != ".h5") continue;
    const fs::path other = b / entry.path().filename();
    if (!fs::exists(other)) throw NotFound(fmt::format("{} has no counterpart in {}", entry.path().string(), b.string()));
    const auto fa = storage::read_study_features(entry.path());
    const auto fb = storage::read_study_features(other);
    if (fa.rows != fb.rows || fa.dim != fb.dim) {
      throw CorruptData(fmt::format("{} is {}x{} but {} is {}x{}", entry.path().string(), fa.rows, fa.dim,
                                    other.string(), fb.rows, fb.dim));
    }
    for (int64_t i = 0; i < fa.rows; ++i) {
      double dot = 0, na = 0, nb = 0;
      const float* x = fa.row(i);
      const float* y = fb.row(i);
      for (int64_t k = 0; k < fa.dim; ++k) {
        dot += static_cast<double>(x[k]) * y[k];
        na += static_cast<double>(x[k]) * x[k];
        nb += static_cast<double>(y[k]) * y[k];
      }
      const double c = (na == 0 && nb == 0) ? 1.0 : dot / std::sqrt(std::max(na * nb, 1e-300));
      r.min_cosine = std::min(r.min_cosine, c);
      sum += c;
      ++r.rows;
    }
    ++r.studies;
  }
  r.mean_cosine = r.rows > 0 ? sum / static_cast<double>(r.rows) : 1.0;
  return r;
}

}  // namespace radclear::worker
