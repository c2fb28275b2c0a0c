// End-to-end crossval / deploy on tiny synthetic features, resume
// behaviour, bad input, and the two-rank run (under mpirun).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include <torch/torch.h>

#include "common/check.h"
#include "common/csv.h"
#include "common/yaml_fields.h"
#include "storage/index.h"
#include "tests/read_file.h"
#include "tests/worker/synthetic_cohort.h"
#include "worker/crossval/crossval.h"
#include "worker/crossval/feature_bank.h"
#include "worker/comm/mpi_communicator.h"
#include "worker/crossval/train.h"
#include "worker/mpi_scope.h"

namespace radclear::crossval {
namespace {
namespace fs = std::filesystem;
using radclear::testing::read_file;
using testing::SyntheticOptions;
using testing::write_synthetic_cohort;

fs::path temp_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("radclear_cv_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// Key slices of the synthetic cohort: the slice carrying the signal.
void write_key_slices(const fs::path& dir) {
  std::ofstream out(dir / "keys.csv");
  out << "study,slice\n";
  for (const auto& e : fs::directory_iterator(dir / "features")) {
    const auto f = storage::read_study_features(e.path());
    const int64_t key = (f.rows / 2) & ~int64_t{1};
    out << f.attrs.study_id << "," << f.slice_names[key] << "\n";
  }
}

CrossvalSpec fast_spec(const fs::path& dir, const std::string& out) {
  CrossvalSpec s = testing::cohort_spec(dir, out);
  s.hidden = 32;
  s.dropout = 0.1;
  s.bag_size = 16;
  s.batch_size = 8;
  s.epochs = 25;
  s.patience = 8;
  s.lr = 3e-3;
  s.bootstrap = 200;
  s.attention_plots = 2;
  return s;
}

bool is_png(const fs::path& p) { return read_file(p).rfind("\x89PNG", 0) == 0 && fs::file_size(p) > 5000; }

// CLEAR's clinical table: no patient column, the patient is the image
// name's prefix (train_crossval.py: image.split('_')[0]); here also yes/no
// labels and a ';' separator. The rule goes into crossval.resolved.yaml and
// splits.json holds patients, so P3_S0 and P3_S1 share one fold.
TEST(Crossval, ClearTableWithoutPatientColumnFoldsByImagePrefix) {
  const auto dir = temp_dir("prefix");
  SyntheticOptions so;
  so.patients = 12;
  write_synthetic_cohort(dir, so);
  std::ifstream in(dir / "clini.csv");
  std::ostringstream clear;
  std::string line;
  std::getline(in, line);
  clear << "image;a;b\n";
  int two_study_patients = 0;
  std::map<std::string, int> studies_of;
  while (std::getline(in, line)) {
    const auto f = split_csv_line(line);  // image,patient_id,a,b
    clear << f[0] << ";" << (f[2] == "1" ? "yes" : "no") << ";" << (f[3] == "1" ? "Yes" : "No") << "\n";
    if (++studies_of[f[1]] == 2) ++two_study_patients;
  }
  in.close();
  ASSERT_GT(two_study_patients, 0);
  std::ofstream(dir / "clini.csv", std::ios::trunc) << clear.str();
  auto spec = fast_spec(dir, "out");
  spec.csv_separator = ";";
  spec.fold = 0;
  spec.epochs = 1;
  spec.bootstrap = 0;
  spec.attention_plots = 0;
  run_crossval(spec);
  const auto resolved = YAML::LoadFile((spec.out_dir / "crossval.resolved.yaml").string());
  EXPECT_EQ(resolved["patient_from"].as<std::string>(), "prefix");
  const auto splits = nlohmann::json::parse(read_file(spec.out_dir / "splits.json"));
  std::map<std::string, int> fold_of;
  for (size_t f = 0; f < splits["test_patients"].size(); ++f) {
    for (const auto& p : splits["test_patients"][f]) fold_of[p.get<std::string>()] = static_cast<int>(f);
  }
  EXPECT_EQ(fold_of.size(), studies_of.size());  // one entry per patient, none per study
  for (const auto& [patient, n] : studies_of) EXPECT_TRUE(fold_of.count(patient)) << patient;
  fs::remove_all(dir);
}

// CLEAR's own folds (fold-k/valid.csv, as its train_crossval.py writes
// them) are brought with --splits-from: splits.json holds exactly them, and
// a rerun against changed folds is refused instead of mixing two splits.
TEST(Crossval, BringsClearFoldDirectories) {
  const auto dir = temp_dir("clear_folds");
  SyntheticOptions so;
  so.patients = 9;
  write_synthetic_cohort(dir, so);
  auto write_folds = [&](int moved_patient) {
    std::ifstream in(dir / "clini.csv");
    std::string header, line;
    std::getline(in, header);
    std::vector<std::vector<std::string>> rows;
    while (std::getline(in, line)) rows.push_back(split_csv_line(line));  // image,patient_id,a,b
    for (int f = 0; f < 3; ++f) {
      const fs::path fold = dir / "clear" / ("fold-" + std::to_string(f));
      fs::create_directories(fold);
      std::ofstream train(fold / "train.csv"), valid(fold / "valid.csv");
      train << header << ",patient\n";
      valid << header << ",patient\n";
      for (const auto& r : rows) {
        const int p = std::stoi(r[1].substr(1));
        const int home = p == moved_patient ? (p + 1) % 3 : p % 3;
        (home == f ? valid : train) << csv_join(r) << "," << r[1] << "\n";
      }
    }
  };
  write_folds(-1);
  auto spec = fast_spec(dir, "out");
  spec.folds = 3;
  spec.splits_from = dir / "clear";
  spec.fold = 0;
  spec.epochs = 1;
  spec.bootstrap = 0;
  spec.attention_plots = 0;
  run_crossval(spec);
  const auto splits = nlohmann::json::parse(read_file(spec.out_dir / "splits.json"));
  ASSERT_EQ(splits["test_patients"].size(), 3u);
  for (int f = 0; f < 3; ++f) {
    std::vector<std::string> expected;
    for (int p = f; p < 9; p += 3) expected.push_back("P" + std::to_string(p));
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(splits["test_patients"][f].get<std::vector<std::string>>(), expected) << "fold " << f;
  }
  write_folds(4);
  try {
    run_crossval(spec);
    ADD_FAILURE() << "changed folds were accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("holds other folds than"));
  }
  fs::remove_all(dir);
}

TEST(Crossval, LearnsSyntheticLabelsResumesAndDeploys) {
  const auto dir = temp_dir("e2e");
  SyntheticOptions so;
  so.patients = 50;
  so.signal = 5.0f;
  write_synthetic_cohort(dir, so);
  write_key_slices(dir);
  auto spec = fast_spec(dir, "out");
  spec.key_slices_csv = dir / "keys.csv";
  const auto summary = run_crossval(spec);
  EXPECT_EQ(summary.folds_trained, 5);
  ASSERT_EQ(summary.pooled_auroc.size(), 2u);
  ASSERT_TRUE(summary.pooled_auroc[0] && summary.pooled_auroc[1]);
  EXPECT_GT(*summary.pooled_auroc[0], 0.9);
  EXPECT_GT(*summary.pooled_auroc[1], 0.9);

  const auto out = spec.out_dir;
  for (const char* f : {"crossval.resolved.yaml", "splits.json", "stats.csv", "oof-preds.csv", "skipped-studies.csv"}) {
    EXPECT_TRUE(fs::exists(out / f)) << f;
  }
  for (int k = 0; k < 5; ++k) {
    const auto fold = out / ("fold-" + std::to_string(k));
    for (const char* f : {"model.pt", "patient-preds.csv", "metrics.json", "training.csv"}) {
      EXPECT_TRUE(fs::exists(fold / f)) << fold << "/" << f;
    }
    const auto m = nlohmann::json::parse(read_file(fold / "metrics.json"));
    EXPECT_TRUE(m["labels"]["a"]["auroc"].is_number()) << m.dump();
    EXPECT_GE(m["best_epoch"].get<int>(), 1);
  }
  EXPECT_TRUE(is_png(out / "plots" / "roc-a.png"));
  EXPECT_TRUE(is_png(out / "plots" / "pr-b.png"));
  int attention_pngs = 0;
  for (const auto& e : fs::directory_iterator(out / "fold-0")) attention_pngs += e.path().filename().string().rfind("attention-", 0) == 0;
  EXPECT_EQ(attention_pngs, 2);

  // stats.csv: 2 labels x 3 metrics, CI brackets the pooled AUROC.
  CsvReader stats(out / "stats.csv");
  EXPECT_EQ(stats.header().size(), 2u + 5u + 6u);
  CsvRow row;
  int rows = 0;
  while (stats.next(row)) {
    ++rows;
    if (row.fields[1] != "auroc") continue;
    const double pooled = *parse_double(row.fields[*stats.column("pooled")]);
    EXPECT_LE(*parse_double(row.fields[*stats.column("ci95_low")]), pooled);
    EXPECT_GE(*parse_double(row.fields[*stats.column("ci95_high")]), pooled);
  }
  EXPECT_EQ(rows, 6);
  // Predictions name the top attention slices, and the key slice is there.
  CsvReader preds(out / "fold-0" / "patient-preds.csv");
  for (const char* c : {"study", "patient", "a_true", "a_prob", "a_logit", "b_prob", "top1_slice", "top5_attention"}) {
    EXPECT_TRUE(preds.column(c).has_value()) << c;
  }

  // Rerun: everything is complete, nothing is retrained.
  const auto model_time = fs::last_write_time(out / "fold-2" / "model.pt");
  const std::string preds1 = read_file(out / "fold-1" / "patient-preds.csv");
  auto again = run_crossval(spec);
  EXPECT_EQ(again.folds_skipped, 5);
  EXPECT_EQ(again.folds_trained, 0);
  EXPECT_EQ(fs::last_write_time(out / "fold-2" / "model.pt"), model_time);
  // A fold with a model but no predictions only predicts, identically.
  fs::remove(out / "fold-1" / "patient-preds.csv");
  again = run_crossval(spec);
  EXPECT_EQ(again.folds_predicted_only, 1);
  EXPECT_EQ(again.folds_skipped, 4);
  EXPECT_EQ(read_file(out / "fold-1" / "patient-preds.csv"), preds1);
  // The resolved config round-trips.
  CrossvalSpec reread;
  stages::merge_yaml(reread, load_yaml_file(out / "crossval.resolved.yaml"), "resolved");
  EXPECT_EQ(reread.bag_size, 16);
  EXPECT_EQ(reread.patient_from, stages::PatientFrom::kColumn);  // the rule used, not auto
  EXPECT_EQ(reread.labels, spec.labels);

  // Deploy on an external cohort made the same way (other seed).
  const auto ext = dir / "external";
  SyntheticOptions eo = so;
  eo.seed = 77;
  eo.patients = 25;
  write_synthetic_cohort(ext, eo);
  DeploySpec ds;
  ds.features_dir = ext / "features";
  ds.clini_csv = ext / "clini.csv";
  ds.models_dir = out;
  ds.out_dir = dir / "deploy";
  ds.bootstrap = 100;
  ds.threads = 1;
  ds.progress = false;
  const auto dsum = run_deploy(ds);
  EXPECT_EQ(dsum.models, 5);
  ASSERT_EQ(dsum.ensemble_auroc.size(), 2u);
  EXPECT_GT(dsum.ensemble_auroc[0].value_or(0), 0.85);
  for (const char* f : {"ensemble-preds.csv", "fold-0-preds.csv", "fold-4-preds.csv", "stats.csv", "plots/roc-a.png"}) {
    EXPECT_TRUE(fs::exists(ds.out_dir / f)) << f;
  }
  if (!std::getenv("RADCLEAR_KEEP_TEST_DIRS")) fs::remove_all(dir);
}

// --precision bf16: the heads train and infer under CPU bf16 autocast, reach
// the fp32 run's AUROC, and deploy's probabilities stay within 0.02 of fp32
// inference of the same models (but are not bit-equal: autocast ran).
TEST(Crossval, Bf16TrainsAndInfersLikeFp32) {
  const auto dir = temp_dir("bf16");
  SyntheticOptions so;
  so.patients = 50;
  so.signal = 5.0f;
  const int studies = write_synthetic_cohort(dir, so);
  auto spec = fast_spec(dir, "fp32");
  spec.epochs = 12;
  spec.attention_plots = 0;
  const auto fp32 = run_crossval(spec);
  spec.out_dir = dir / "bf16";
  spec.precision = Precision::kBFloat16;
  const auto bf16 = run_crossval(spec);
  ASSERT_EQ(bf16.pooled_auroc.size(), 2u);
  for (size_t l = 0; l < 2; ++l) {
    ASSERT_TRUE(fp32.pooled_auroc[l] && bf16.pooled_auroc[l]);
    EXPECT_GT(*bf16.pooled_auroc[l], 0.9);
    EXPECT_NEAR(*bf16.pooled_auroc[l], *fp32.pooled_auroc[l], 0.05);
  }
  EXPECT_EQ(YAML::LoadFile((dir / "bf16" / "crossval.resolved.yaml").string())["precision"].as<std::string>(), "bf16");

  DeploySpec ds;
  ds.features_dir = dir / "features";
  ds.clini_csv = dir / "clini.csv";
  ds.models_dir = dir / "fp32";
  ds.bootstrap = 50;
  ds.threads = 1;
  ds.progress = false;
  ds.out_dir = dir / "deploy-fp32";
  run_deploy(ds);
  ds.out_dir = dir / "deploy-bf16";
  ds.precision = Precision::kBFloat16;
  run_deploy(ds);
  CsvReader a(dir / "deploy-fp32" / "ensemble-preds.csv"), b(dir / "deploy-bf16" / "ensemble-preds.csv");
  const size_t col = *a.column("a_prob");
  CsvRow ra, rb;
  double max_diff = 0;
  int n = 0;
  while (a.next(ra) && b.next(rb)) {
    max_diff = std::max(max_diff, std::abs(*parse_double(ra.fields[col]) - *parse_double(rb.fields[col])));
    ++n;
  }
  EXPECT_EQ(n, studies);
  EXPECT_LT(max_diff, 0.02);
  EXPECT_GT(max_diff, 0.0) << "bf16 inference equals fp32 bit for bit: autocast did not run";
  if (!std::getenv("RADCLEAR_KEEP_TEST_DIRS")) fs::remove_all(dir);
}

TEST(Crossval, BadInputIsReportedAndSkippedNeverMisreported) {
  const auto dir = temp_dir("bad");
  SyntheticOptions so;
  so.patients = 20;
  write_synthetic_cohort(dir, so);
  // A study without features, one with the wrong width, and a rare label.
  {
    std::ofstream clini(dir / "clini.csv", std::ios::app);
    clini << "GHOST,P900,1,0\n";
    clini << "WIDE,P901,0,1\n";
  }
  storage::StudyFeatures wide;
  wide.attrs.study_id = "WIDE";
  wide.rows = 2;
  wide.dim = 5;
  wide.feats.assign(10, 0.0f);
  wide.coords = {1, 0, 2, 0};
  wide.slice_names = {"1.png", "2.png"};
  storage::write_study_features(storage::feature_file_path(dir / "features", "WIDE"), wide);
  // Rewrite the table with a label "c" positive for one patient only.
  CsvReader in(dir / "clini.csv");
  std::ostringstream rewritten;
  rewritten << "image,patient_id,a,b,c\n";
  CsvRow row;
  while (in.next(row)) rewritten << csv_join(row.fields) << "," << (row.fields[1] == "P3" ? 1 : 0) << "\n";
  std::ofstream(dir / "clini.csv") << rewritten.str();

  auto spec = fast_spec(dir, "out");
  spec.labels = {"a", "b", "c"};
  spec.epochs = 2;
  const auto summary = run_crossval(spec);
  EXPECT_EQ(summary.studies_skipped, 2u);
  const auto skipped = read_file(spec.out_dir / "skipped-studies.csv");
  EXPECT_NE(skipped.find("GHOST,no feature file"), std::string::npos) << skipped;
  EXPECT_NE(skipped.find("WIDE,\"features are 5 wide, the cohort's are 8\""), std::string::npos) << skipped;
  // Label c: at most one fold holds its positive, so AUROC is undefined
  // (null / NA) in at least 4 folds and never a made-up number.
  int undefined = 0;
  for (int k = 0; k < 5; ++k) {
    const auto m = nlohmann::json::parse(read_file(spec.out_dir / ("fold-" + std::to_string(k)) / "metrics.json"));
    undefined += m["labels"]["c"]["auroc"].is_null();
  }
  EXPECT_GE(undefined, 4);
  CsvReader stats(spec.out_dir / "stats.csv");
  while (stats.next(row)) {
    if (row.fields[0] == "c" && row.fields[1] == "auroc") {
      int na = 0;
      for (int k = 0; k < 5; ++k) na += row.fields[2 + k] == "NA";
      EXPECT_GE(na, 4);
      EXPECT_EQ(row.fields[*stats.column("std")], "NA");  // fewer than 2 defined folds
    }
  }

  // Labels that are not 0/1 (or no/yes) stop the run with the study and column named.
  std::ofstream(dir / "clini2.csv") << "image,patient_id,a,b\nP0_S0,P0,1,0\nP1_S0,P1,maybe,0\n";
  spec.clini_csv = dir / "clini2.csv";
  spec.labels = {"a", "b"};
  spec.out_dir = dir / "out2";
  try {
    run_crossval(spec);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("'P1_S0', column 'a'"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

// With --db the index supplies the key slices (its lesion slices) and the
// patients of a table without a patient column. A bag of 2 rows then holds
// exactly the key slice's two windows.
TEST(Crossval, KeySlicesAndPatientsFromTheIndex) {
  const auto dir = temp_dir("db");
  SyntheticOptions so;
  so.patients = 10;
  write_synthetic_cohort(dir, so);
  std::map<std::string, std::string> key_of;
  {
    auto index = storage::SliceIndex::Open(dir / "db");
    ASSERT_TRUE(index.ok()) << index.status().to_string();
    auto batch = index.value()->NewBatch();
    for (const auto& e : fs::directory_iterator(dir / "features")) {
      const auto f = storage::read_study_features(e.path());
      const int64_t key = (f.rows / 2) & ~int64_t{1};
      key_of[f.attrs.study_id] = f.slice_names[key];
      for (int64_t r = 0; r < f.rows; r += 2) {
        storage::SliceRecord sr;
        sr.id.study_id = f.attrs.study_id;
        sr.id.slice_number = static_cast<uint32_t>(f.slice_of(r));
        sr.id.name = std::to_string(f.slice_of(r));
        sr.lesion = r == key;
        batch.PutSlice(sr);
      }
      storage::StudyRecord st;
      st.study_id = f.attrs.study_id;
      st.patient_id = "IDX_" + f.attrs.study_id.substr(0, f.attrs.study_id.find('_'));
      batch.PutStudy(st, nullptr);
    }
    ASSERT_TRUE(index.value()->Write(&batch).ok());
  }
  // The table without its patient column.
  CsvReader in(dir / "clini.csv");
  std::ostringstream t;
  t << "image,a,b\n";
  CsvRow row;
  while (in.next(row)) t << row.fields[0] << "," << row.fields[2] << "," << row.fields[3] << "\n";
  std::ofstream(dir / "clini.csv") << t.str();

  auto spec = fast_spec(dir, "out");
  spec.db = dir / "db";
  spec.bag_size = 2;
  spec.folds = 2;
  spec.epochs = 1;
  run_crossval(spec);
  const auto splits = read_file(spec.out_dir / "splits.json");
  EXPECT_NE(splits.find("IDX_P3"), std::string::npos) << splits;
  CsvReader preds(spec.out_dir / "fold-0" / "patient-preds.csv");
  int checked = 0;
  while (preds.next(row)) {
    EXPECT_EQ(row.fields[*preds.column("top1_slice")], key_of.at(row.fields[0])) << row.fields[0];
    EXPECT_EQ(row.fields[*preds.column("top2_slice")], key_of.at(row.fields[0])) << row.fields[0];
    ++checked;
  }
  EXPECT_GT(checked, 0);
  fs::remove_all(dir);
}

class CrossvalModels : public ::testing::TestWithParam<std::string> {};

TEST_P(CrossvalModels, EveryHeadRunsThePipelineWithCategoricalTargets) {
  const auto dir = temp_dir("model_" + GetParam());
  SyntheticOptions so;
  so.patients = 12;
  so.dtype = storage::FeatureDtype::kFloat16;
  write_synthetic_cohort(dir, so);
  auto spec = fast_spec(dir, "out");
  spec.labels.clear();
  spec.categorical = "a";
  spec.model = stages::parse_enum<stages::MilModel>(GetParam());
  spec.folds = 3;
  spec.epochs = 2;
  spec.attention_plots = 1;
  const auto summary = run_crossval(spec);
  EXPECT_EQ(summary.label_names, (std::vector<std::string>{"a=0", "a=1"}));
  EXPECT_EQ(summary.folds_trained, 3);
  EXPECT_TRUE(fs::exists(spec.out_dir / "plots" / "roc-a_0.png"));
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(AllHeads, CrossvalModels, ::testing::Values("abmil_gated", "pma", "linear"));

TEST(InputScaler, FitsTrainingRowsOnlyZeroesPaddingAndTravelsWithTheModel) {
  auto study = [](const char* id, std::vector<float> v) {
    BankStudy s;
    s.id = id;
    s.patient = id;
    s.targets = {1.0f};
    s.feats = torch::tensor(v).reshape({-1, 3});
    for (int64_t r = 0; r < s.rows(); ++r) {
      s.coords.insert(s.coords.end(), {static_cast<int32_t>(r + 1), 0});
      s.slice_names.push_back(fmt::format("{:03d}.png", r + 1));
    }
    return s;
  };
  std::vector<BankStudy> studies;
  studies.push_back(study("s0", {1, 10, 0, 3, 10, 4}));
  studies.push_back(study("s1", {100, -7, 50}));  // not a training study: must not move the statistics
  const auto bank = FeatureBank::from_studies(std::move(studies), 3);
  const auto scaler = fit_input_scaler(bank, {0});
  EXPECT_TRUE(torch::allclose(scaler.mean, torch::tensor({2.0f, 10.0f, 2.0f})));
  // Column 1 is constant: scale 1, so it maps to 0 instead of blowing up.
  EXPECT_TRUE(torch::allclose(scaler.inv_std, torch::tensor({1.0f, 1.0f, 0.5f})));
  const auto feats = torch::tensor({1.0f, 10.0f, 0.0f, 3.0f, 10.0f, 4.0f, 9.0f, 9.0f, 9.0f}).reshape({1, 3, 3});
  const auto mask = torch::tensor({true, true, false}).reshape({1, 3});
  const auto z = scaler.apply(feats, mask);
  const auto want = torch::tensor({-1.0f, 0.0f, -1.0f, 1.0f, 0.0f, 1.0f, 0.0f, 0.0f, 0.0f}).reshape({1, 3, 3});
  EXPECT_TRUE(torch::allclose(z, want)) << z;
  EXPECT_THROW(fit_input_scaler(bank, {}), InvalidArgument);

  const auto dir = temp_dir("scaler");
  models::MilOptions o;
  o.in_dim = 3;
  o.n_labels = 1;
  o.hidden = 4;
  o.attention_dim = 4;
  auto model = models::make_mil_model(o);
  save_mil_checkpoint(dir / "with.pt", *model, scaler, {"a"});
  const auto loaded = load_mil_checkpoint(dir / "with.pt");
  ASSERT_FALSE(loaded.scaler.identity());
  EXPECT_TRUE(torch::equal(loaded.scaler.mean, scaler.mean));
  EXPECT_TRUE(torch::equal(loaded.scaler.inv_std, scaler.inv_std));
  save_mil_checkpoint(dir / "without.pt", *model, InputScaler{}, {"a"});
  EXPECT_TRUE(load_mil_checkpoint(dir / "without.pt").scaler.identity());
  fs::remove_all(dir);
}

// Bags are padded to the longest of their batch (at most bag_size), and the
// heads give the same logits as with every bag padded to bag_size (CLEAR's
// way): padding is masked out.
TEST(FeatureBank, PadsToTheLongestBagOfTheBatchWithTheLogitsOfFullPadding) {
  torch::manual_seed(3);
  std::vector<BankStudy> studies;
  for (int64_t rows : {2, 7, 3}) {
    BankStudy s;
    s.id = s.patient = fmt::format("s{}", rows);
    s.targets = {1.0f, 0.0f};
    s.feats = torch::randn({rows, 5});
    for (int64_t r = 0; r < rows; ++r) {
      s.coords.insert(s.coords.end(), {static_cast<int32_t>(r + 1), 0});
      s.slice_names.push_back(fmt::format("{:03d}.png", r + 1));
    }
    studies.push_back(std::move(s));
  }
  const auto bank = FeatureBank::from_studies(std::move(studies), 5);
  const Batch short_bags = bank.make_batch({0, 2}, 512, 1);
  EXPECT_EQ(short_bags.feats.sizes(), (std::vector<int64_t>{2, 3, 5}));
  EXPECT_EQ(short_bags.mask.sum().item<int64_t>(), 5);
  const Batch capped = bank.make_batch({0, 1, 2}, 4, 1);  // the 7-row study is subsampled to 4
  EXPECT_EQ(capped.feats.sizes(), (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(capped.rows[1].size(), 4u);

  const Batch all = bank.make_batch({0, 1, 2}, 512, 1);
  ASSERT_EQ(all.feats.size(1), 7);
  const auto padded_feats = torch::zeros({3, 512, 5});
  padded_feats.narrow(1, 0, 7).copy_(all.feats);
  const auto padded_mask = torch::zeros({3, 512}, torch::kBool);
  padded_mask.narrow(1, 0, 7).copy_(all.mask);
  for (const char* kind : {"abmil", "abmil_gated", "pma", "linear"}) {
    models::MilOptions o;
    o.kind = models::parse_mil_kind(kind);
    o.in_dim = 5;
    o.n_labels = 2;
    o.hidden = 8;
    o.attention_dim = 4;
    auto model = models::make_mil_model(o);
    model->eval();
    torch::NoGradGuard no_grad;
    const auto tight = model->forward(all.feats, all.mask);
    const auto full = model->forward(padded_feats, padded_mask);
    EXPECT_TRUE(torch::allclose(tight.logits, full.logits, 1e-5, 1e-6)) << kind << tight.logits << full.logits;
    EXPECT_TRUE(torch::allclose(tight.attention, full.attention.narrow(1, 0, 7), 1e-5, 1e-6)) << kind;
  }
}

TEST(CrossvalSpec, YamlUnknownKeysAndValidation) {
  CrossvalSpec s;
  YAML::Node n = YAML::Load("bag_size: 128\nlabels: bone,lung\nmodel: pma\n");
  stages::merge_yaml(s, n, "cfg.yaml");
  EXPECT_EQ(s.bag_size, 128);
  EXPECT_EQ(s.labels, (std::vector<std::string>{"bone", "lung"}));
  EXPECT_TRUE(s.standardize);
  stages::merge_yaml(s, YAML::Load("standardize: false\n"), "cfg.yaml");
  EXPECT_FALSE(s.standardize);
  try {
    stages::merge_yaml(s, YAML::Load("bagsize: 3\n"), "cfg.yaml");
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("bag_size"), std::string::npos) << e.what();
  }
  s.features_dir = "f";
  s.clini_csv = "c";
  s.out_dir = "o";
  s.validate();
  s.categorical = "site";
  EXPECT_THROW(s.validate(), InvalidArgument);  // both labels and categorical
  s.categorical.clear();
  EXPECT_THROW(stages::merge_yaml(s, YAML::Load("model: transformer\n"), "cfg.yaml"), InvalidArgument);
}

// Under `mpirun -np 2` (CTest: radclear_crossval_mpi2) the folds split over
// the ranks and rank 0 aggregates; run alone, it is the single-rank case.
TEST(CrossvalMpi, FoldsSplitAcrossRanks) {
  MpiScope mpi;
  const char* env_dir = std::getenv("RADCLEAR_MPI_TEST_DIR");
  const fs::path dir = env_dir ? fs::path(env_dir) : temp_dir("mpi");
  if (mpi.rank() == 0) {
    fs::remove_all(dir);
    SyntheticOptions so;
    so.patients = 20;
    write_synthetic_cohort(dir, so);
  }
  mpi.barrier();
  auto spec = fast_spec(dir, "out");
  spec.epochs = 3;
  spec.folds = 3;
  std::unique_ptr<worker::Communicator> comm =
      mpi.active() ? std::unique_ptr<worker::Communicator>(std::make_unique<worker::MpiCommunicator>())
                   : worker::make_local_communicator();
  stages::RankContext group;
  group.rank = mpi.rank();
  group.world = mpi.world();
  group.comm = comm.get();
  const auto summary = run_crossval(spec, group);
  const int expected = (spec.folds - mpi.rank() + mpi.world() - 1) / mpi.world();
  EXPECT_EQ(summary.folds_trained, expected) << "rank " << mpi.rank() << " of " << mpi.world();
  if (mpi.rank() == 0) {
    EXPECT_TRUE(fs::exists(spec.out_dir / "stats.csv"));
    for (int k = 0; k < 3; ++k) EXPECT_TRUE(fs::exists(spec.out_dir / ("fold-" + std::to_string(k)) / "metrics.json"));
    EXPECT_EQ(summary.pooled_auroc.size(), 2u);
  }
  mpi.barrier();
  if (mpi.rank() == 0) fs::remove_all(dir);
}

}  // namespace
}  // namespace radclear::crossval
