#include "worker/crossval/feature_bank.h"

#include <torch/torch.h>

#include <mutex>
#include <optional>
#include <unordered_set>

#include "common/check.h"
#include "common/csv.h"
#include "common/logging.h"
#include "common/parallel.h"
#include "storage/feature_store.h"
#include "worker/crossval/bags.h"

namespace radclear::crossval {

namespace {

std::vector<int64_t> key_rows_of(const storage::StudyFeatures& f, const std::set<std::string>& keys) {
  std::vector<int64_t> rows;
  if (keys.empty()) return rows;
  for (int64_t r = 0; r < f.rows; ++r) {
    const bool by_name = !f.slice_names[r].empty() && keys.count(slice_stem(f.slice_names[r]));
    const bool by_number = keys.count(std::to_string(f.slice_of(r))) > 0;
    if (by_name || by_number) rows.push_back(r);
  }
  return rows;
}

}  // namespace

FeatureBank FeatureBank::load(const Cohort& cohort, const std::filesystem::path& dir,
                              const std::map<std::string, std::set<std::string>>& key_slices, int threads,
                              int64_t expected_dim) {
  const size_t n = cohort.studies.size();
  std::vector<std::optional<storage::FeatureFileInfo>> infos(n);
  std::vector<std::string> reasons(n);
  parallel_for(static_cast<int64_t>(n), threads, [&](int64_t i) {
    const auto path = storage::feature_file_path(dir, cohort.studies[i].id);
    try {
      infos[i] = storage::read_feature_info(path);
    } catch (const NotFound&) {
      reasons[i] = fmt::format("no feature file {}", path.string());
    } catch (const CorruptData& e) {
      reasons[i] = e.what();
    }
  });
  int64_t dim = expected_dim;
  if (dim <= 0) {
    std::map<int64_t, int64_t> widths;
    for (const auto& info : infos) {
      if (info) widths[info->dim]++;
    }
    for (const auto& [w, c] : widths) {
      if (dim <= 0 || c > widths[dim]) dim = w;
    }
  }
  FeatureBank bank;
  bank.dim_ = dim;
  std::vector<std::optional<BankStudy>> loaded(n);
  parallel_for(static_cast<int64_t>(n), threads, [&](int64_t i) {
    const auto& st = cohort.studies[i];
    if (!infos[i]) return;
    if (infos[i]->dim != dim) {
      reasons[i] = fmt::format("features are {} wide, the cohort's are {}", infos[i]->dim, dim);
      return;
    }
    if (infos[i]->rows == 0) {
      reasons[i] = "feature file has no rows";
      return;
    }
    auto f = storage::read_study_features(storage::feature_file_path(dir, st.id), dim);
    BankStudy b;
    b.id = st.id;
    b.patient = st.patient;
    b.targets = st.targets;
    const auto it = key_slices.find(st.id);
    if (it != key_slices.end()) b.key_rows = key_rows_of(f, it->second);
    auto t = torch::from_blob(f.feats.data(), {f.rows, f.dim}, torch::kFloat32);
    b.feats = f.attrs.dtype == storage::FeatureDtype::kFloat16 ? t.to(torch::kHalf) : t.clone();
    b.windows = f.attrs.windows;
    b.coords = std::move(f.coords);
    b.slice_names = std::move(f.slice_names);
    loaded[i] = std::move(b);
  });
  int warned = 0;
  for (size_t i = 0; i < n; ++i) {
    if (loaded[i]) {
      bank.studies_.push_back(std::move(*loaded[i]));
    } else {
      bank.skipped_.push_back({cohort.studies[i].id, reasons[i]});
      if (warned++ < 10) spdlog::warn("study '{}' skipped: {}", cohort.studies[i].id, reasons[i]);
    }
  }
  if (warned > 10) spdlog::warn("... {} studies skipped in all (see skipped-studies.csv)", warned);
  if (bank.studies_.empty()) {
    throw NotFound(fmt::format("none of the {} studies of the clinical table has usable features in {}", n,
                               dir.string()));
  }
  return bank;
}

FeatureBank FeatureBank::from_studies(std::vector<BankStudy> studies, int64_t dim) {
  for (const auto& st : studies) {
    if (!st.feats.defined() || st.feats.dim() != 2 || st.feats.size(1) != dim || st.feats.size(0) < 1 ||
        st.coords.size() != static_cast<size_t>(2 * st.feats.size(0)) ||
        st.slice_names.size() != static_cast<size_t>(st.feats.size(0))) {
      throw InvalidArgument(fmt::format("study '{}': feats must be [rows >= 1, {}] with coords and slice names per row",
                                        st.id, dim));
    }
  }
  FeatureBank bank;
  bank.dim_ = dim;
  bank.studies_ = std::move(studies);
  return bank;
}

std::vector<size_t> FeatureBank::studies_of(const std::vector<std::string>& patients) const {
  const std::unordered_set<std::string> set(patients.begin(), patients.end());
  std::vector<size_t> out;
  for (size_t i = 0; i < studies_.size(); ++i) {
    if (set.count(studies_[i].patient)) out.push_back(i);
  }
  return out;
}

Batch FeatureBank::make_batch(const std::vector<size_t>& idx, int64_t bag_size, uint64_t seed) const {
  const auto b = static_cast<int64_t>(idx.size());
  Batch batch;
  batch.rows.resize(idx.size());
  int64_t width = 1;
  for (int64_t i = 0; i < b; ++i) {
    const auto& st = studies_[idx[i]];
    batch.rows[i] = select_bag_rows(st.rows(), st.key_rows, bag_size, mix_seed(seed, idx[i]));
    width = std::max(width, static_cast<int64_t>(batch.rows[i].size()));
  }
  // Padded to the longest bag of the batch, not to bag_size: the padding is
  // masked out either way, and a quickstart bag of 24 rows padded to 512
  // made the MIL step 20x the work.
  batch.feats = torch::zeros({b, width, dim_}, torch::kFloat32);
  batch.mask = torch::zeros({b, width}, torch::kBool);
  const bool has_targets = b > 0 && !studies_[idx[0]].targets.empty();
  const int64_t n_labels = has_targets ? static_cast<int64_t>(studies_[idx[0]].targets.size()) : 0;
  std::vector<float> targets;
  auto mask_acc = batch.mask.accessor<bool, 2>();
  for (int64_t i = 0; i < b; ++i) {
    const auto& st = studies_[idx[i]];
    const auto& rows = batch.rows[i];
    const auto n = static_cast<int64_t>(rows.size());
    if (n == st.rows()) {
      batch.feats[i].narrow(0, 0, n).copy_(st.feats);
    } else {
      batch.feats[i].narrow(0, 0, n).copy_(st.feats.index_select(0, torch::tensor(rows, torch::kInt64)));
    }
    for (int64_t r = 0; r < n; ++r) mask_acc[i][r] = true;
    targets.insert(targets.end(), st.targets.begin(), st.targets.end());
  }
  if (has_targets) {
    RADCLEAR_CHECK_EQ(static_cast<int64_t>(targets.size()), b * n_labels, "studies with different label counts");
    batch.targets = torch::from_blob(targets.data(), {b, n_labels}, torch::kFloat32).clone();
  }
  return batch;
}

}  // namespace radclear::crossval
