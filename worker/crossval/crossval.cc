#include "worker/crossval/crossval.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "common/atomic_file.h"
#include "common/check.h"
#include "common/csv.h"
#include "common/logging.h"
#include "common/parallel.h"
#include "common/yaml_fields.h"
#include "models/mil/mil.h"
#include "storage/index.h"
#include "worker/comm/communicator.h"
#include "worker/crossval/bags.h"
#include "worker/crossval/cohort.h"
#include "worker/crossval/feature_bank.h"
#include "worker/crossval/input_scaler.h"
#include "worker/crossval/report.h"
#include "worker/crossval/clear_folds.h"
#include "worker/crossval/splits.h"
#include "worker/crossval/train.h"
#include "worker/device.h"

namespace radclear::crossval {
namespace fs = std::filesystem;

namespace {

// Salts for mix_seed so the streams never coincide.
constexpr uint64_t kSaltInit = 11, kSaltInner = 23, kSaltPredict = 37, kSaltTrain = 41;

// Key slices of the cohort's studies: from the slice index (slices marked
// as lesion slices) when `db` is given, else from the CSV, else none. With
// an index, studies whose table row had no patient column take the
// index's patient id.
std::map<std::string, std::set<std::string>> load_key_slices(const fs::path& csv, const fs::path& db,
                                                             Cohort* cohort, bool fill_patients) {
  std::map<std::string, std::set<std::string>> keys;
  if (!csv.empty()) keys = read_key_slices_csv(csv);
  if (db.empty()) return keys;
  storage::IndexOptions io;
  io.read_only = true;
  auto index = storage::SliceIndex::Open(db, io);
  throw_if_error(index.status());
  int64_t indexed = 0;
  for (auto& st : cohort->studies) {
    auto slices = index.value()->SlicesOfStudy(st.id);
    if (!slices.ok()) {
      if (slices.status().code() == StatusCode::kNotFound) continue;
      throw_if_error(slices.status());
    }
    ++indexed;
    for (const auto& s : slices.value()) {
      if (s.lesion) keys[st.id].insert(s.id.name);
    }
    if (fill_patients) {
      auto patient = index.value()->PatientOfStudy(st.id);
      if (patient.ok()) st.patient = patient.value();
    }
  }
  spdlog::info("crossval: index {} knows {} of {} studies; {} have key slices", db.string(), indexed,
               cohort->studies.size(), keys.size());
  return keys;
}


void write_skipped(const fs::path& path, const std::vector<SkippedStudy>& skipped) {
  std::ostringstream out;
  out << "study,reason\n";
  for (const auto& s : skipped) out << csv_join({s.study, s.reason}) << "\n";
  write_file_atomic(path, out.str());
}

void write_training_csv(const fs::path& path, const std::vector<EpochRecord>& curve) {
  std::ostringstream out;
  out << "epoch,train_loss,valid_loss,seconds,best\n";
  for (const auto& r : curve) {
    out << fmt::format("{},{:.6f},{:.6f},{:.3f},{}\n", r.epoch, r.train_loss, r.valid_loss, r.seconds, r.best ? 1 : 0);
  }
  write_file_atomic(path, out.str());
}

std::vector<std::string> unique_patients(const FeatureBank& bank, const std::vector<size_t>& idx) {
  std::set<std::string> s;
  for (size_t i : idx) s.insert(bank.studies()[i].patient);
  return {s.begin(), s.end()};
}

models::MilOptions mil_options(const CrossvalSpec& spec, int64_t in_dim, size_t n_labels) {
  models::MilOptions o;
  o.kind = spec.model;
  o.in_dim = in_dim;
  o.n_labels = static_cast<int64_t>(n_labels);
  o.hidden = spec.hidden;
  o.attention_dim = spec.hidden;
  o.dropout = spec.dropout;
  o.linear_hidden = spec.hidden;
  return o;
}

// True when `path` holds predictions for exactly the studies `expected`.
bool predictions_complete(const fs::path& path, const std::vector<std::string>& labels,
                          const std::set<std::string>& expected) {
  if (!fs::exists(path)) return false;
  try {
    const auto rows = read_predictions(path, labels, true);
    std::set<std::string> got;
    for (const auto& r : rows) got.insert(r.study);
    if (got == expected) return true;
    spdlog::warn("{}: holds {} studies, the fold has {}; predicting again", path.string(), got.size(),
                 expected.size());
  } catch (const Error& e) {
    spdlog::warn("{}: unreadable ({}); predicting again", path.string(), e.what());
  }
  return false;
}

void plot_fold_attention(const fs::path& dir, const FeatureBank& bank, const std::vector<StudyPrediction>& preds,
                         const std::vector<std::string>& labels, int count) {
  // The studies with the highest predicted probability of any label: the
  // ones a reader wants to check.
  std::vector<size_t> order(preds.size());
  std::iota(order.begin(), order.end(), 0);
  auto max_logit = [&](size_t i) { return *std::max_element(preds[i].logits.begin(), preds[i].logits.end()); };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return max_logit(a) > max_logit(b); });
  for (int k = 0; k < count && k < static_cast<int>(order.size()); ++k) {
    const auto& p = preds[order[k]];
    const auto& st = bank.studies()[p.study];
    plot_attention(dir / fmt::format("attention-{}.png", file_safe(st.id)), st, p, labels);
  }
}

struct FoldOutcome {
  enum Kind { kTrained, kPredicted, kSkipped } kind = kTrained;
};

// --splits-from: the first run copies the brought folds into splits.json; a
// rerun checks that they are still the same folds.
void bring_splits_once(const CrossvalSpec& spec, const Cohort& cohort, const fs::path& splits_path) {
  const FoldSplits brought = bring_splits(spec.splits_from, cohort, spec.folds, spec.study_column);
  if (!fs::exists(splits_path)) {
    save_splits(splits_path, brought);
    size_t patients = 0;
    for (const auto& f : brought.test_patients) patients += f.size();
    spdlog::info("crossval: {} folds over {} patients from {}", brought.folds, patients, spec.splits_from.string());
  } else if (load_splits(splits_path).test_patients != brought.test_patients) {
    throw InvalidArgument(fmt::format("{} holds other folds than {}; use another --out or delete it",
                                      splits_path.string(), spec.splits_from.string()));
  }
}

FoldOutcome run_fold(const CrossvalSpec& spec, const Compute& compute, const Cohort& cohort, const FoldSplits& splits,
                     const FeatureBank& bank,
                     int fold) {
  const fs::path dir = spec.out_dir / fmt::format("fold-{}", fold);
  fs::create_directories(dir);
  const auto& labels = cohort.label_names;
  std::vector<std::string> train_patients;
  for (int g = 0; g < splits.folds; ++g) {
    if (g != fold) train_patients.insert(train_patients.end(), splits.test_patients[g].begin(), splits.test_patients[g].end());
  }
  const auto test_idx = bank.studies_of(splits.test_patients[fold]);
  const auto train_all = bank.studies_of(train_patients);
  std::set<std::string> expected;
  for (size_t i : test_idx) expected.insert(bank.studies()[i].id);

  const fs::path preds_path = dir / "patient-preds.csv";
  const fs::path metrics_path = dir / "metrics.json";
  if (predictions_complete(preds_path, labels, expected)) {
    if (!fs::exists(metrics_path)) {
      const auto rows = read_predictions(preds_path, labels, true);
      write_file_atomic(metrics_path, metrics_json(labels, rows, {{"fold", fold}}).dump(1) + "\n");
    }
    spdlog::info("fold {}: predictions complete, skipped", fold);
    return {FoldOutcome::kSkipped};
  }

  const fs::path model_path = dir / "model.pt";
  std::shared_ptr<models::MilModelImpl> model;
  InputScaler scaler;
  nlohmann::json extra = {{"fold", fold}, {"test_studies", test_idx.size()}};
  FoldOutcome outcome;
  if (fs::exists(model_path)) {
    auto loaded = load_mil_checkpoint(model_path);
    if (loaded.label_names != labels || loaded.model->options().in_dim != bank.dim()) {
      throw InvalidArgument(fmt::format("{}: the saved model predicts [{}] from {}-wide features, this run has [{}] "
                                        "and {}; delete {} to retrain",
                                        model_path.string(), fmt::join(loaded.label_names, ","),
                                        loaded.model->options().in_dim, fmt::join(labels, ","), bank.dim(),
                                        dir.string()));
    }
    model = loaded.model;
    model->to(compute.device);
    scaler = loaded.scaler;
    outcome.kind = FoldOutcome::kPredicted;
    spdlog::info("fold {}: model.pt found, predicting only", fold);
  } else {
    std::vector<std::string> inner_train, inner_valid;
    train_valid_split(cohort, unique_patients(bank, train_all), spec.valid_fraction,
                      mix_seed(spec.seed, kSaltInner + fold), inner_train, inner_valid);
    const auto train_idx = bank.studies_of(inner_train);
    const auto valid_idx = bank.studies_of(inner_valid);
    torch::manual_seed(mix_seed(spec.seed, kSaltInit + fold));
    model = models::make_mil_model(mil_options(spec, bank.dim(), labels.size()));
    model->to(compute.device);
    const auto pw = pos_weights(bank, train_idx, labels);
    if (spec.standardize) scaler = fit_input_scaler(bank, train_idx);
    TrainOptions to;
    to.bag_size = spec.bag_size;
    to.batch_size = spec.batch_size;
    to.epochs = spec.epochs;
    to.patience = spec.patience;
    to.lr = spec.lr;
    to.weight_decay = spec.weight_decay;
    to.seed = mix_seed(spec.seed, kSaltTrain + fold);
    to.progress = spec.progress;
    to.label = fmt::format("fold {}", fold);
    to.compute = compute;
    spdlog::info("fold {}: {} train / {} valid / {} test studies", fold, train_idx.size(), valid_idx.size(),
                 test_idx.size());
    const auto result = train_mil(*model, scaler, bank, train_idx, valid_idx, pw, to, [&](const EpochRecord& r) {
      spdlog::info("fold {} epoch {}: train {:.4f} valid {:.4f} ({:.1f}s){}", fold, r.epoch, r.train_loss,
                   r.valid_loss, r.seconds, r.best ? " *" : "");
    });
    write_training_csv(dir / "training.csv", result.curve);
    save_mil_checkpoint(model_path, *model, scaler, labels);
    extra["train_studies"] = train_idx.size();
    extra["valid_studies"] = valid_idx.size();
    extra["best_epoch"] = result.best_epoch;
    extra["best_valid_loss"] = result.best_valid_loss;
    extra["epochs_run"] = result.curve.size();
    extra["stopped_early"] = result.stopped_early;
    extra["pos_weight"] = pw;
  }
  const auto preds =
      predict(*model, scaler, bank, test_idx, spec.bag_size, spec.batch_size, mix_seed(spec.seed, kSaltPredict),
              compute);
  const auto rows = to_pred_rows(bank, preds);
  write_predictions(preds_path, labels, rows, true);
  write_file_atomic(metrics_path, metrics_json(labels, rows, extra).dump(1) + "\n");
  plot_fold_attention(dir, bank, preds, labels, spec.attention_plots);
  return outcome;
}

void log_stats(const std::vector<MetricRow>& stats, const char* groups, const char* pooled) {
  for (const auto& r : stats) {
    if (r.metric != Metric::kAuroc) continue;
    auto f = [](const std::optional<double>& v) { return v ? fmt::format("{:.3f}", *v) : std::string("NA"); };
    spdlog::info("{:>20}: AUROC {} +- {} over {} {}; {} {} [95% CI {}, {}]", r.label, f(r.summary.mean),
                 f(r.summary.std), r.summary.n, groups, pooled, f(r.pooled), f(r.ci.low), f(r.ci.high));
  }
}

}  // namespace

CrossvalSummary run_crossval(const CrossvalSpec& spec, const stages::RankContext& group) {
  spec.validate();
  if (group.world > 1 && group.comm == nullptr) throw InvalidArgument("crossval: a multi-rank run needs a communicator");
  auto barrier = [&] {
    if (group.world > 1) group.comm->barrier();
  };
  const int threads = spec.threads > 0 ? spec.threads : group.compute_threads();
  Compute compute;
  compute.device = worker::resolve_device(spec.device, group.local_rank, "crossval");
  compute.precision = spec.precision;
  worker::check_precision(compute.device, compute.precision, "crossval", group.rank == 0);
  fs::create_directories(spec.out_dir);

  ClinicalOptions co;
  co.study_column = spec.study_column;
  co.patient_column = spec.patient_column;
  co.patient_from = spec.patient_from;
  co.index_given = !spec.db.empty();
  co.separator = parse_csv_separator(spec.csv_separator, "crossval: csv_separator");
  co.labels = spec.labels;
  co.categorical = spec.categorical;
  Cohort cohort = read_clinical_table(spec.clini_csv, co);
  if (cohort.patient_from == stages::PatientFrom::kIndex && spec.db.empty()) {
    throw InvalidArgument("crossval: --patient-from index needs --db");
  }
  const auto keys =
      load_key_slices(spec.key_slices_csv, spec.db, &cohort, cohort.patient_from == stages::PatientFrom::kIndex);

  const fs::path splits_path = spec.out_dir / "splits.json";
  FoldSplits splits;
  if (group.rank == 0) {
    // The directory's settings, whichever fold job writes them: every fold
    // of one run shares them (deploy reads folds and models from here).
    CrossvalSpec resolved = spec;
    resolved.fold = -1;
    resolved.patient_from = cohort.patient_from;  // the rule this run used, never auto
    write_file_atomic(spec.out_dir / "crossval.resolved.yaml", YAML::Dump(stages::to_yaml(resolved)) + "\n");
    if (!spec.splits_from.empty()) bring_splits_once(spec, cohort, splits_path);
    splits = load_or_make_splits(splits_path, cohort, spec.folds, spec.seed);
  }
  barrier();
  if (group.rank != 0) splits = load_or_make_splits(splits_path, cohort, spec.folds, spec.seed);
  if (splits.label_names != cohort.label_names) {
    throw InvalidArgument(fmt::format("{} was made for labels [{}], this run has [{}]; use another --out or delete it",
                                      splits_path.string(), fmt::join(splits.label_names, ","),
                                      fmt::join(cohort.label_names, ",")));
  }

  const FeatureBank bank = FeatureBank::load(cohort, spec.features_dir, keys, threads);
  spdlog::info("crossval: {} studies with {}-wide features ({} skipped), {} labels, {} folds, model {}, rank {}/{}",
               bank.studies().size(), bank.dim(), bank.skipped().size(), cohort.label_names.size(), spec.folds,
               stages::enum_name(spec.model), group.rank, group.world);
  if (group.rank == 0) write_skipped(spec.out_dir / "skipped-studies.csv", bank.skipped());

  CrossvalSummary summary;
  summary.label_names = cohort.label_names;
  summary.studies_used = bank.studies().size();
  summary.studies_skipped = bank.skipped().size();
  // Every fold, or the one fold a coordinator fold job names.
  std::vector<int> todo;
  for (int f = 0; f < spec.folds; ++f) {
    if (spec.fold < 0 || f == spec.fold) todo.push_back(f);
  }
  for (size_t i = group.rank; i < todo.size(); i += group.world) {
    const int f = todo[i];
    if (group.cancel.requested()) {
      summary.cancelled = true;  // finished folds stay; a rerun skips them
      break;
    }
    group.report("crossval", "folds", static_cast<int64_t>(i), static_cast<int64_t>(todo.size()));
    switch (run_fold(spec, compute, cohort, splits, bank, f).kind) {
      case FoldOutcome::kTrained:
        ++summary.folds_trained;
        break;
      case FoldOutcome::kPredicted:
        ++summary.folds_predicted_only;
        break;
      case FoldOutcome::kSkipped:
        ++summary.folds_skipped;
        break;
    }
  }
  // Every rank learns whether any rank stopped early: aggregation needs all folds.
  int stopped = summary.cancelled ? 1 : 0;
  if (group.world > 1) group.comm->allreduce(&stopped, 1, worker::DType::kInt32, worker::ReduceOp::kMax);
  barrier();
  summary.cancelled = stopped != 0;
  // A single fold's job leaves the pooled stats to the run over every fold.
  if (group.rank != 0 || summary.cancelled || spec.fold >= 0) return summary;

  std::vector<std::vector<PredRow>> groups;
  std::vector<std::string> names;
  std::vector<PredRow> pooled;
  for (int f = 0; f < spec.folds; ++f) {
    const fs::path p = spec.out_dir / fmt::format("fold-{}", f) / "patient-preds.csv";
    if (!fs::exists(p)) {
      throw NotFound(fmt::format("{} is missing after all ranks finished (did rank {} fail?)", p.string(),
                                 f % group.world));
    }
    groups.push_back(read_predictions(p, cohort.label_names, true));
    names.push_back(fmt::format("fold_{}", f));
    pooled.insert(pooled.end(), groups.back().begin(), groups.back().end());
  }
  write_predictions(spec.out_dir / "oof-preds.csv", cohort.label_names, pooled, true);
  const auto stats = compute_stats(cohort.label_names, groups, pooled, spec.bootstrap, spec.seed);
  write_stats_csv(spec.out_dir / "stats.csv", names, stats);
  plot_curves(spec.out_dir / "plots", cohort.label_names, names, groups, "");
  log_stats(stats, "folds", "pooled");
  for (const auto& r : stats) {
    if (r.metric == Metric::kAuroc) summary.pooled_auroc.push_back(r.pooled);
  }
  return summary;
}

DeploySummary run_deploy(const DeploySpec& spec, const stages::RankContext& ctx) {
  spec.validate();
  CrossvalSpec trained;
  const fs::path resolved = spec.models_dir / "crossval.resolved.yaml";
  stages::merge_yaml(trained, load_yaml_file(resolved), resolved.string());
  const int threads = spec.threads > 0 ? spec.threads : ctx.compute_threads();
  Compute compute;
  compute.device = worker::resolve_device(spec.device, ctx.local_rank, "deploy");
  compute.precision = spec.precision;
  worker::check_precision(compute.device, compute.precision, "deploy", true);
  fs::create_directories(spec.out_dir);

  std::vector<LoadedMil> models;
  std::vector<std::string> names;
  for (int f = 0; f < trained.folds; ++f) {
    const fs::path p = spec.models_dir / fmt::format("fold-{}", f) / "model.pt";
    models.push_back(load_mil_checkpoint(p));
    models.back().model->to(compute.device);
    names.push_back(fmt::format("fold_{}", f));
    if (models.back().label_names != models.front().label_names ||
        models.back().model->options().in_dim != models.front().model->options().in_dim) {
      throw InvalidArgument(fmt::format("{} predicts other labels or widths than fold 0's model", p.string()));
    }
  }
  const auto& labels = models.front().label_names;

  ClinicalOptions co;
  co.study_column = trained.study_column;
  co.patient_column = trained.patient_column;
  // The trained run's rule, except that a test table may lack its column.
  co.patient_from = trained.patient_from == stages::PatientFrom::kColumn ? stages::PatientFrom::kAuto
                                                                         : trained.patient_from;
  co.index_given = !spec.db.empty();
  co.separator = parse_csv_separator(spec.csv_separator, "deploy: csv_separator");
  co.targets_optional = true;
  Cohort cohort;
  if (trained.categorical.empty()) {
    co.labels = labels;
    cohort = read_clinical_table(spec.clini_csv, co);
  } else {
    co.categorical = trained.categorical;
    co.allow_single_category = true;
    Cohort raw = read_clinical_table(spec.clini_csv, co);
    // Re-map the test set's classes onto the trained ones.
    cohort = raw;
    cohort.label_names = labels;
    for (size_t s = 0; s < raw.studies.size(); ++s) {
      auto& t = cohort.studies[s].targets;
      t.assign(labels.size(), 0.0f);
      for (size_t c = 0; c < raw.label_names.size(); ++c) {
        if (raw.studies[s].targets[c] < 0.5f) continue;
        const auto it = std::find(labels.begin(), labels.end(), raw.label_names[c]);
        if (it == labels.end()) {
          throw InvalidArgument(fmt::format("{}:{}: study '{}' has class '{}', unknown to the models (they know {})",
                                            spec.clini_csv.string(), raw.studies[s].csv_line, raw.studies[s].id,
                                            raw.label_names[c], fmt::join(labels, ", ")));
        }
        t[it - labels.begin()] = 1.0f;
      }
    }
  }
  const auto keys = load_key_slices(spec.key_slices_csv, spec.db, &cohort,
                                    !spec.db.empty() && cohort.patient_from == stages::PatientFrom::kIndex);
  const FeatureBank bank =
      FeatureBank::load(cohort, spec.features_dir, keys, threads, models.front().model->options().in_dim);
  write_skipped(spec.out_dir / "skipped-studies.csv", bank.skipped());
  std::vector<size_t> all(bank.studies().size());
  std::iota(all.begin(), all.end(), 0);

  DeploySummary summary;
  summary.label_names = labels;
  summary.models = static_cast<int>(models.size());
  summary.studies = all.size();
  const uint64_t seed = mix_seed(trained.seed, kSaltPredict);
  std::vector<std::vector<PredRow>> groups;
  std::vector<StudyPrediction> ensemble;
  for (size_t m = 0; m < models.size(); ++m) {
    auto preds =
        predict(*models[m].model, models[m].scaler, bank, all, trained.bag_size, trained.batch_size, seed, compute);
    groups.push_back(to_pred_rows(bank, preds));
    write_predictions(spec.out_dir / fmt::format("fold-{}-preds.csv", m), labels, groups.back(), cohort.has_targets);
    if (ensemble.empty()) {
      ensemble = preds;
      for (auto& e : ensemble) {
        for (auto& l : e.logits) l = static_cast<float>(1.0 / (1.0 + std::exp(-l)));  // sum probabilities
      }
    } else {
      for (size_t i = 0; i < preds.size(); ++i) {
        for (size_t l = 0; l < labels.size(); ++l) {
          ensemble[i].logits[l] += static_cast<float>(1.0 / (1.0 + std::exp(-preds[i].logits[l])));
        }
        for (size_t r = 0; r < preds[i].attention.size(); ++r) ensemble[i].attention[r] += preds[i].attention[r];
      }
    }
  }
  // Mean probability; stored as its logit so to_pred_rows gives it back.
  for (auto& e : ensemble) {
    for (auto& l : e.logits) {
      const double p = std::clamp(static_cast<double>(l) / models.size(), 1e-7, 1.0 - 1e-7);
      l = static_cast<float>(std::log(p / (1.0 - p)));
    }
    for (auto& a : e.attention) a /= static_cast<float>(models.size());
  }
  const auto ens_rows = to_pred_rows(bank, ensemble);
  write_predictions(spec.out_dir / "ensemble-preds.csv", labels, ens_rows, cohort.has_targets);
  if (cohort.has_targets) {
    const auto stats = compute_stats(labels, groups, ens_rows, spec.bootstrap, trained.seed);
    write_stats_csv(spec.out_dir / "stats.csv", names, stats, "ensemble");
    auto plot_groups = groups;
    plot_groups.push_back(ens_rows);
    auto plot_names = names;
    plot_names.push_back("ensemble");
    plot_curves(spec.out_dir / "plots", labels, plot_names, plot_groups, "Test set: ",
                static_cast<int>(groups.size()));
    log_stats(stats, "fold models", "ensemble");
    for (const auto& r : stats) {
      if (r.metric == Metric::kAuroc) summary.ensemble_auroc.push_back(r.pooled);
    }
  }
  return summary;
}

}  // namespace radclear::crossval
