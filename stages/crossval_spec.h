#pragma once
// CrossvalSpec and DeploySpec: everything `radclear crossval` / `radclear
// deploy` need, each field declared once in fields(); saved with the
// outputs (crossval.resolved.yaml).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/csv.h"
#include "stages/device.h"
#include "stages/enums.h"
#include "stages/field.h"

namespace radclear::stages {

struct CrossvalSpec {
  static constexpr const char* kStage = "crossval";
  static constexpr int kVersion = 1;

  // Directory of per-study feature files `<study>.h5` (storage/feature_store.h).
  std::filesystem::path features_dir;
  // Clinical table (CLEAR format: one row per study; `study_column` holds
  // the study id, label columns hold 0/1).
  std::filesystem::path clini_csv;
  // Output directory (created).
  std::filesystem::path out_dir;
  // Optional slice index (storage/index.h, opened read-only): its lesion
  // slices are the key slices kept when a bag is subsampled, and it gives
  // the patient of each study when the table has no patient column.
  // Default: none.
  std::filesystem::path db;
  // Optional CSV `study,slice` naming key slices (slice number or name),
  // merged with the index's. Default: none.
  std::filesystem::path key_slices_csv;

  // Binary label columns (multi-label). Either these or `categorical`.
  std::vector<std::string> labels;
  // One categorical column; each distinct value becomes a binary class
  // `<column>=<value>`. Default: none.
  std::string categorical;
  // Column with the study id. Default: "image" (CLEAR).
  std::string study_column = "image";
  // Column with the patient id; when the table has no such column every
  // study is its own patient (with a warning). Default: "patient_id".
  std::string patient_column = "patient_id";
  // Where a study's patient comes from: auto (the patient column when the
  // table has one, else the index when --db is given, else the prefix),
  // column, prefix (the study id up to its first '_', CLEAR's
  // `image.split('_')[0]`), index, study (every study its own patient).
  // crossval.resolved.yaml records the rule the run used. Default: auto
  PatientFrom patient_from = PatientFrom::kAuto;
  // Field separator of the clinical CSV (pandas' sep=): one character, or
  // "tab". Default: ","
  std::string csv_separator = ",";

  MilModel model = MilModel::kAbmil;  // Default: abmil
  int64_t hidden = 256;               // hidden width of the MIL head. Default: 256
  double dropout = 0.5;               // head dropout. Default: 0.5
  // Standardise every feature dimension with the mean and standard
  // deviation of the fold's training studies (saved in model.pt and applied
  // at deployment). CLEAR feeds raw features. Default: true.
  bool standardize = true;
  int folds = 5;                      // patient-level folds. Default: 5
  // Folds to use instead of making them: CLEAR's fold directory (fold-k/
  // valid.csv holds fold k's held-out studies) or another run's splits.json.
  // Copied into <out>/splits.json by the first run. Default: none.
  std::filesystem::path splits_from;
  // -1: every fold, then the pooled stats (stats.csv); k: only fold k, no
  // aggregation (a coordinator fold job). Finished folds are skipped, so a
  // run with -1 after every fold job only aggregates. Default: -1.
  int fold = -1;
  // Instances per bag: shorter bags are zero-padded (and masked), longer
  // ones subsampled keeping key slices. Default: 512.
  int64_t bag_size = 512;
  int64_t batch_size = 64;            // bags per optimiser step. Default: 64
  int epochs = 32;                    // maximum epochs per fold. Default: 32
  int patience = 8;                   // early stopping: epochs without a lower validation loss. Default: 8
  double lr = 1e-4;                   // Adam learning rate. Default: 1e-4
  double weight_decay = 0.0;          // 0: Adam; > 0: AdamW-style decoupled decay. Default: 0
  // Share of each training part's patients held out for validation /
  // early stopping. Default: 0.2.
  double valid_fraction = 0.2;
  uint64_t seed = 1337;               // folds, bag sampling, initialisation, shuffling. Default: 1337
  int bootstrap = 1000;               // bootstrap resamples (by patient) for the 95% CIs. Default: 1000
  int attention_plots = 3;            // studies whose attention is plotted per fold. Default: 3
  int threads = 0;                    // threads for torch and loading (<= 0: cores / local ranks). Default: 0
  bool progress = true;               // progress bars. Default: true
  DeviceChoice device;                // where the MIL heads train (stages/device.h). Default: auto
  // The heads' arithmetic in training and inference: fp32, or bf16/fp16
  // autocast (models are saved as float32). Default: fp32
  Precision precision = Precision::kFloat32;

  template <typename Self, typename Visit>
  static void fields(Self& s, Visit&& v) {
    v(s.features_dir, Field("features", "Directory of <study>.h5 feature files")
                          .required("(a directory of <study>.h5 files)"));
    v(s.clini_csv, Field("clini", "Clinical CSV (CLEAR format)").required());
    v(s.out_dir, Field("out", "Output directory").required());
    v(s.db, Field("db", "Slice index (key slices)"));
    v(s.key_slices_csv, Field("key_slices", "CSV study,slice naming key slices kept in subsampled bags"));
    v(s.labels, Field("labels", "Binary label columns (comma separated)"));
    v(s.categorical, Field("categorical", "One categorical column, one class per value"));
    v(s.study_column, Field("study_column", "Column with the study id"));
    v(s.patient_column, Field("patient_column", "Column with the patient id"));
    v(s.patient_from, Field("patient_from", "Patient of a study: auto, column, prefix (study id up to the first '_', "
                                            "CLEAR's rule), index or study"));
    v(s.csv_separator, Field("csv_separator", "Field separator of the clinical CSV: one character (, ; |) or tab"));
    v(s.model, Field("model", "abmil, abmil_gated, pma or linear"));
    v(s.hidden, Field("hidden", "Hidden width of the MIL head").at_least(1));
    v(s.dropout, Field("dropout", "Head dropout").at_least(0));
    v(s.standardize, Field("standardize", "Standardise features with the training folds' mean and std (true/false)"));
    v(s.folds, Field("folds", "Patient-level folds").at_least(2));
    v(s.splits_from, Field("splits_from", "Bring the folds: CLEAR's fold directory (fold-k/valid.csv) or a splits.json"));
    v(s.fold, Field("fold", "Only this fold (0..folds-1), no aggregation; -1: every fold and the stats").at_least(-1));
    v(s.bag_size, Field("bag_size", "Instances per bag (pad / subsample)").at_least(1));
    v(s.batch_size, Field("batch_size", "Bags per step").at_least(1));
    v(s.epochs, Field("epochs", "Maximum epochs per fold").at_least(1));
    v(s.patience, Field("patience", "Early-stopping patience (epochs)").at_least(1));
    v(s.lr, Field("lr", "Adam learning rate").positive());
    v(s.weight_decay, Field("weight_decay", "Decoupled weight decay (0: Adam)").at_least(0));
    v(s.valid_fraction, Field("valid_fraction", "Validation share of training patients").positive());
    v(s.seed, Field("seed", "Seed for folds, bags and initialisation"));
    v(s.bootstrap, Field("bootstrap", "Bootstrap resamples for the 95% CIs").at_least(0));
    v(s.attention_plots, Field("attention_plots", "Attention plots per fold").at_least(0));
    v(s.threads, Field("threads", "Threads per rank (0: cores / local ranks)"));
    v(s.progress, Field("progress", "No progress bars").flag("--no-progress").bool_flag(BoolFlag::kNegated));
    v(s.device, Field("device", "Where tensors live: auto (the rank's local GPU when built with CUDA and one is present, else the CPU), cpu, cuda, cuda:N"));
    v(s.precision, Field("precision", "MIL arithmetic: fp32, bf16 (autocast) or fp16 (CUDA only)"));
  }

  void validate() const;
};

struct DeploySpec {
  static constexpr const char* kStage = "deploy";
  static constexpr int kVersion = 1;

  // Per-study feature files of the external test set.
  std::filesystem::path features_dir;
  // Clinical table of the test set; label columns are optional (without
  // them only predictions are written).
  std::filesystem::path clini_csv;
  // A crossval output directory: crossval.resolved.yaml and fold-k/model.pt.
  std::filesystem::path models_dir;
  std::filesystem::path out_dir;
  // Optional index / key-slice CSV, as in CrossvalSpec.
  std::filesystem::path db;
  std::filesystem::path key_slices_csv;
  // Field separator of the clinical CSV. Default: ","
  std::string csv_separator = ",";
  int bootstrap = 1000;  // bootstrap resamples for the CIs. Default: 1000
  int threads = 0;       // threads (<= 0: all cores). Default: 0
  bool progress = true;  // progress bars. Default: true
  DeviceChoice device;   // where the fold models run (stages/device.h). Default: auto
  Precision precision = Precision::kFloat32;  // inference arithmetic. Default: fp32

  template <typename Self, typename Visit>
  static void fields(Self& s, Visit&& v) {
    v(s.features_dir, Field("features", "Directory of <study>.h5 feature files (test set)").required());
    v(s.clini_csv, Field("clini", "Clinical CSV of the test set (labels optional)").required());
    v(s.models_dir, Field("models", "A crossval output directory (fold-k/model.pt)").required());
    v(s.out_dir, Field("out", "Output directory").required());
    v(s.db, Field("db", "Slice index (key slices)"));
    v(s.key_slices_csv, Field("key_slices", "CSV study,slice naming key slices"));
    v(s.csv_separator, Field("csv_separator", "Field separator of the clinical CSV: one character (, ; |) or tab"));
    v(s.bootstrap, Field("bootstrap", "Bootstrap resamples for the 95% CIs").at_least(0));
    v(s.threads, Field("threads", "Threads (0: all cores)"));
    v(s.progress, Field("progress", "No progress bars").flag("--no-progress").bool_flag(BoolFlag::kNegated));
    v(s.device, Field("device", "Where tensors live: auto (the rank's local GPU when built with CUDA and one is present, else the CPU), cpu, cuda, cuda:N"));
    v(s.precision, Field("precision", "Inference arithmetic: fp32, bf16 (autocast) or fp16 (CUDA only)"));
  }

  void validate() const {
    check_fields(*this);
    check_precision_on(device, precision, "deploy");
    parse_csv_separator(csv_separator, "deploy: csv_separator");
  }
};

}  // namespace radclear::stages
