#include "worker/crossval/splits.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <set>
#include <fstream>

#include "common/atomic_file.h"
#include "common/check.h"

namespace radclear::crossval {

namespace {

// Index of the maximum of `v` among `candidates`; ties broken by `tie`
// (larger wins), then uniformly at random.
template <typename Tie>
int argmax_with_ties(const std::vector<double>& v, int k, Tie tie, std::mt19937_64& rng) {
  std::vector<int> best;
  for (int j = 0; j < k; ++j) {
    if (best.empty() || v[j] > v[best[0]] + 1e-12) {
      best = {j};
    } else if (std::abs(v[j] - v[best[0]]) <= 1e-12) {
      best.push_back(j);
    }
  }
  if (best.size() > 1) {
    std::vector<int> best2;
    for (int j : best) {
      if (best2.empty() || tie(j) > tie(best2[0]) + 1e-12) {
        best2 = {j};
      } else if (std::abs(tie(j) - tie(best2[0])) <= 1e-12) {
        best2.push_back(j);
      }
    }
    best = best2;
  }
  return best[rng() % best.size()];
}

std::map<std::string, std::vector<float>> patient_labels(const Cohort& cohort) {
  std::map<std::string, std::vector<float>> out;
  for (const auto& s : cohort.studies) {
    auto& v = out[s.patient];
    if (v.empty()) v.assign(s.targets.size(), 0.0f);
    for (size_t l = 0; l < s.targets.size(); ++l) v[l] = std::max(v[l], s.targets[l]);
  }
  return out;
}

}  // namespace

std::vector<int> iterative_stratification(const std::vector<std::vector<float>>& labels, int k, uint64_t seed) {
  RADCLEAR_CHECK(k >= 1, "k = {}", k);
  const size_t n = labels.size();
  const size_t n_labels = n ? labels[0].size() : 0;
  std::mt19937_64 rng(seed);
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);

  std::vector<double> desired(k, static_cast<double>(n) / k);
  std::vector<std::vector<double>> desired_label(n_labels, std::vector<double>(k, 0.0));
  std::vector<int64_t> remaining_count(n_labels, 0);
  for (size_t i = 0; i < n; ++i) {
    RADCLEAR_CHECK_EQ(labels[i].size(), n_labels, "item {} has a different number of labels", i);
    for (size_t l = 0; l < n_labels; ++l) remaining_count[l] += labels[i][l] > 0.5f;
  }
  for (size_t l = 0; l < n_labels; ++l) {
    for (int j = 0; j < k; ++j) desired_label[l][j] = static_cast<double>(remaining_count[l]) / k;
  }
  std::vector<int> part(n, -1);
  auto assign = [&](size_t i, int j) {
    part[i] = j;
    desired[j] -= 1.0;
    for (size_t l = 0; l < n_labels; ++l) {
      if (labels[i][l] > 0.5f) {
        desired_label[l][j] -= 1.0;
        remaining_count[l] -= 1;
      }
    }
  };
  while (true) {
    // The label with the fewest (but some) unassigned positives goes first.
    int best_label = -1;
    for (size_t l = 0; l < n_labels; ++l) {
      if (remaining_count[l] > 0 && (best_label < 0 || remaining_count[l] < remaining_count[best_label])) {
        best_label = static_cast<int>(l);
      }
    }
    if (best_label < 0) break;
    for (size_t i : order) {
      if (part[i] >= 0 || labels[i][best_label] <= 0.5f) continue;
      const int j = argmax_with_ties(desired_label[best_label], k, [&](int f) { return desired[f]; }, rng);
      assign(i, j);
    }
  }
  for (size_t i : order) {
    if (part[i] >= 0) continue;
    const int j = argmax_with_ties(desired, k, [](int) { return 0.0; }, rng);
    assign(i, j);
  }
  return part;
}

FoldSplits make_patient_splits(const Cohort& cohort, int folds, uint64_t seed) {
  const auto by_patient = patient_labels(cohort);
  if (static_cast<int>(by_patient.size()) < folds) {
    throw InvalidArgument(fmt::format("crossval: {} patients cannot fill {} folds", by_patient.size(), folds));
  }
  std::vector<std::string> patients;
  std::vector<std::vector<float>> labels;
  for (const auto& [p, l] : by_patient) {
    patients.push_back(p);
    labels.push_back(l);
  }
  const auto part = iterative_stratification(labels, folds, seed);
  FoldSplits s;
  s.folds = folds;
  s.seed = seed;
  s.label_names = cohort.label_names;
  s.test_patients.resize(folds);
  for (size_t i = 0; i < patients.size(); ++i) s.test_patients[part[i]].push_back(patients[i]);
  for (auto& f : s.test_patients) std::sort(f.begin(), f.end());
  return s;
}

void save_splits(const std::filesystem::path& path, const FoldSplits& s) {
  nlohmann::json j;
  j["folds"] = s.folds;
  j["seed"] = s.seed;
  j["labels"] = s.label_names;
  j["test_patients"] = s.test_patients;
  write_file_atomic(path, j.dump(1) + "\n");
}

FoldSplits load_splits(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw NotFound(fmt::format("cannot read {}", path.string()));
  try {
    const auto j = nlohmann::json::parse(in);
    FoldSplits s;
    s.folds = j.at("folds").get<int>();
    s.seed = j.at("seed").get<uint64_t>();
    s.label_names = j.at("labels").get<std::vector<std::string>>();
    s.test_patients = j.at("test_patients").get<std::vector<std::vector<std::string>>>();
    if (static_cast<int>(s.test_patients.size()) != s.folds) {
      throw CorruptData(fmt::format("{}: {} folds declared, {} listed", path.string(), s.folds, s.test_patients.size()));
    }
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw CorruptData(fmt::format("{}: not a splits file: {}", path.string(), e.what()));
  }
}

void check_splits_cover(const FoldSplits& splits, const Cohort& cohort, const std::string& origin,
                        const std::string& fix) {
  std::map<std::string, int> fold_of;
  for (int f = 0; f < static_cast<int>(splits.test_patients.size()); ++f) {
    for (const auto& p : splits.test_patients[f]) {
      const auto [it, fresh] = fold_of.emplace(p, f);
      if (!fresh) {
        throw InvalidArgument(
            fmt::format("{}: patient '{}' is held out in folds {} and {}; {}", origin, p, it->second, f, fix));
      }
    }
  }
  for (const auto& st : cohort.studies) {
    if (!fold_of.count(st.patient)) {
      throw InvalidArgument(fmt::format("{}: patient '{}' (study '{}', line {} of the clinical table) is held out "
                                        "in no fold; {}",
                                        origin, st.patient, st.id, st.csv_line, fix));
    }
  }
}

FoldSplits load_or_make_splits(const std::filesystem::path& path, const Cohort& cohort, int folds, uint64_t seed) {
  if (!std::filesystem::exists(path)) {
    auto s = make_patient_splits(cohort, folds, seed);
    save_splits(path, s);
    return s;
  }
  auto s = load_splits(path);
  if (s.folds != folds) {
    throw InvalidArgument(fmt::format("{} has {} folds but {} were asked for; delete it to make a new split",
                                      path.string(), s.folds, folds));
  }
  check_splits_cover(s, cohort, path.string(),
                     "the cohort changed since the split was made: delete it and the fold outputs to start over");
  return s;
}

void train_valid_split(const Cohort& cohort, const std::vector<std::string>& patients, double valid_fraction,
                       uint64_t seed, std::vector<std::string>& train, std::vector<std::string>& valid) {
  const auto all = patient_labels(cohort);
  if (patients.size() < 2) {
    throw InvalidArgument(fmt::format("crossval: {} training patient(s) cannot be split into train and validation",
                                      patients.size()));
  }
  const int parts = std::max(2, static_cast<int>(std::lround(1.0 / valid_fraction)));
  std::vector<std::vector<float>> labels;
  for (const auto& p : patients) labels.push_back(all.at(p));
  const auto part = iterative_stratification(labels, std::min<int>(parts, static_cast<int>(patients.size())), seed);
  train.clear();
  valid.clear();
  for (size_t i = 0; i < patients.size(); ++i) (part[i] == 0 ? valid : train).push_back(patients[i]);
}

}  // namespace radclear::crossval
