#pragma once
// CrossvalSpec and DeploySpec: everything `radclear crossval` / `radclear
// deploy` need, resolved once (YAML --config first, then CLI flags),
// validated, and saved with the outputs (crossval.resolved.yaml).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace radclear::crossval {

struct CrossvalSpec {
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

  // abmil | abmil_gated | pma | linear. Default: abmil.
  std::string model = "abmil";
  // Hidden width of the MIL head. Default: 256.
  int64_t hidden = 256;
  // Head dropout. Default: 0.5.
  double dropout = 0.5;
  // Standardise every feature dimension with the mean and standard
  // deviation of the fold's training studies (saved in model.pt and applied
  // at deployment). CLEAR feeds raw features. Default: true.
  bool standardize = true;
  // Number of folds (patient-level). Default: 5.
  int folds = 5;
  // Instances per bag: shorter bags are zero-padded (and masked), longer
  // ones subsampled keeping key slices. Default: 512.
  int64_t bag_size = 512;
  // Bags per optimiser step. Default: 64.
  int64_t batch_size = 64;
  // Maximum epochs per fold. Default: 32.
  int epochs = 32;
  // Early stopping: epochs without a lower validation loss. Default: 8.
  int patience = 8;
  // Adam learning rate. Default: 1e-4.
  double lr = 1e-4;
  // Adam weight decay (0: Adam; > 0: AdamW-style decoupled decay). Default: 0.
  double weight_decay = 0.0;
  // Share of each training part's patients held out for validation /
  // early stopping. Default: 0.2.
  double valid_fraction = 0.2;
  // Seed for folds, bag sampling, initialisation and shuffling. Default: 1337.
  uint64_t seed = 1337;
  // Bootstrap resamples (by patient) for the 95% CIs. Default: 1000.
  int bootstrap = 1000;
  // Studies whose attention over slice position is plotted per fold. Default: 3.
  int attention_plots = 3;
  // Threads for torch and loading (<= 0: cores / ranks on this node). Default: 0.
  int threads = 0;
  // Show progress bars. Default: true.
  bool progress = true;
};

// Fills `spec` from a YAML mapping (keys as the field names above, e.g.
// `bag_size: 256`, `labels: [bone, lung]`). Unknown keys throw
// InvalidArgument with a suggestion.
void apply_yaml(const YAML::Node& node, CrossvalSpec& spec, const std::string& context);
// Throws InvalidArgument naming the first bad field.
void validate(const CrossvalSpec& spec);
// The resolved spec as YAML (round-trips through apply_yaml).
std::string to_yaml(const CrossvalSpec& spec);

struct DeploySpec {
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
  // Bootstrap resamples for the CIs. Default: 1000.
  int bootstrap = 1000;
  // Threads (<= 0: all cores). Default: 0.
  int threads = 0;
  bool progress = true;
};

}  // namespace radclear::crossval
