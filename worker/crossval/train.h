#pragma once
// Training and prediction of one MIL model on a FeatureBank: bags
// standardised by the fold's InputScaler, Adam(W), shuffled mini-batches, BCE-with-logits with pos_weight = neg/pos
// per label, early stopping on the validation loss (best weights restored).
#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/precision.h"
#include "models/mil/mil.h"
#include "worker/crossval/feature_bank.h"
#include "worker/crossval/input_scaler.h"

namespace radclear::crossval {

// Where and in which arithmetic a MIL model runs (--device, --precision):
// batches are standardised on the CPU and copied to `device`; the forward
// pass runs under autocast to `precision`; losses, logits and attention
// come back as float32.
struct Compute {
  torch::Device device = torch::kCPU;
  Precision precision = Precision::kFloat32;
};

struct TrainOptions {
  int64_t bag_size = 512;
  int64_t batch_size = 64;
  int epochs = 32;
  int patience = 8;
  double lr = 1e-4;
  double weight_decay = 0.0;
  uint64_t seed = 1337;
  bool progress = true;
  std::string label = "train";  // progress label ("fold 2")
  Compute compute;              // the model must already be on compute.device
};

struct EpochRecord {
  int epoch = 0;  // 1-based
  double train_loss = 0.0;
  double valid_loss = 0.0;
  double seconds = 0.0;
  bool best = false;  // the validation loss improved
};

struct TrainResult {
  std::vector<EpochRecord> curve;
  int best_epoch = 0;
  double best_valid_loss = 0.0;
  bool stopped_early = false;
};

// neg / pos per label over the studies `idx`; a label without positives
// (or without negatives) gets 1 and a warning naming it.
std::vector<float> pos_weights(const FeatureBank& bank, const std::vector<size_t>& idx,
                               const std::vector<std::string>& label_names);

// Trains `model` in place on bags standardised by `scaler`. `on_epoch`
// (optional) sees every record.
TrainResult train_mil(models::MilModelImpl& model, const InputScaler& scaler, const FeatureBank& bank,
                      const std::vector<size_t>& train_idx,
                      const std::vector<size_t>& valid_idx, const std::vector<float>& pos_weight,
                      const TrainOptions& options, const std::function<void(const EpochRecord&)>& on_epoch = {});

// Mean BCE-with-logits over `idx` in eval mode (bags sampled with `seed`).
double evaluate_loss(models::MilModelImpl& model, const InputScaler& scaler, const FeatureBank& bank,
                     const std::vector<size_t>& idx,
                     const std::vector<float>& pos_weight, int64_t bag_size, int64_t batch_size, uint64_t seed,
                     const Compute& compute = {});

struct StudyPrediction {
  size_t study = 0;                 // index into bank.studies()
  std::vector<float> logits;        // per label
  std::vector<int64_t> rows;        // the rows in the bag
  std::vector<float> attention;     // per bag row
};

// Eval-mode forward over `idx` (bags sampled with `seed`).
std::vector<StudyPrediction> predict(models::MilModelImpl& model, const InputScaler& scaler, const FeatureBank& bank,
                                     const std::vector<size_t>& idx, int64_t bag_size, int64_t batch_size,
                                     uint64_t seed, const Compute& compute = {});

// model.pt: the state dict plus the MilOptions, the input scaler and the
// label names needed to rebuild it (written atomically; float32 CPU tensors
// whatever device the model is on).
void save_mil_checkpoint(const std::filesystem::path& path, models::MilModelImpl& model, const InputScaler& scaler,
                         const std::vector<std::string>& label_names);
struct LoadedMil {
  std::shared_ptr<models::MilModelImpl> model;
  InputScaler scaler;  // identity for model files written before standardisation
  std::vector<std::string> label_names;
};
// Throws NotFound / CorruptData naming the file.
LoadedMil load_mil_checkpoint(const std::filesystem::path& path);

}  // namespace radclear::crossval
