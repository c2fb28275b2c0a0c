#pragma once
// PretrainSpec: every setting of a LeCL pretraining run, with the CLEAR
// defaults (reference.md §2) in one place. Filled from a YAML file, then CLI
// flags; validated; resolved once into a PretrainPlan (lr scaled by the
// global batch, per-rank batch, threads per rank) instead of mutating the
// spec as main_moco.py mutates args; saved next to the checkpoints.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace radclear::worker {

enum class Sampling { kLesion, kNone };  // --sampling Lesion|None
enum class OptimizerKind { kAdamW, kLars };
enum class Precision { kFloat32, kBFloat16 };
enum class ViewRecipe { kClear, kCt };  // --views clear|ct (data/lecl_views.h, data/ct_views.h)

struct PretrainSpec {
  // Inputs and outputs.
  std::filesystem::path db;        // RocksDB slice index (required)
  std::filesystem::path data;      // data root the index paths are relative to (required)
  std::filesystem::path out;       // checkpoint directory (required)
  std::string name = "run";        // checkpoint name part. Default: "run"
  std::string resume = "auto";     // "auto" (newest valid checkpoint in out), "none", or a path. Default: auto

  // Model.
  std::string arch = "vit_small";  // backbone registry name. Default: vit_small
  int64_t image_size = 224;        // Default: 224
  int64_t moco_dim = 256;          // Default: 256
  int64_t moco_mlp_dim = 4096;     // Default: 4096
  bool stop_grad_conv1 = false;    // freeze the ViT patch projection. Default: false

  // LeCL.
  Sampling sampling = Sampling::kLesion;  // Default: Lesion
  double sample_weight = 1.0;      // w of the lesion negatives; <= 0 gives plain MoCo. Default: 1
  // clear: CLEAR's MoCo v3 augmentations; ct: CT-native views (window
  // jitter, crops from half the area, square lesion crops). Default: clear
  ViewRecipe views = ViewRecipe::kClear;
  // RandomResizedCrop area floor; 0 = the recipe's (clear 0.08, ct 0.5). Default: 0
  double crop_min = 0;
  // Each lesion slice appears this many times per epoch (oversampling; only
  // with sampling Lesion). 1 = once, as the reference. Default: 1
  int64_t lesion_repeat = 1;
  // CT windows for 16-bit slices; each sample is shown in one, drawn per
  // sample. Recorded in the checkpoint: extraction uses them by default.
  // Default: abdomen, lung (the windows extraction embeds)
  std::vector<std::string> windows{"abdomen", "lung"};

  // Optimisation.
  int64_t batch_size = 256;        // global batch over all ranks. Default: 256
  int64_t epochs = 100;            // Default: 100
  OptimizerKind optimizer = OptimizerKind::kAdamW;  // Default: adamw
  double lr = 1e-4;                // base lr; the run uses lr * batch_size / 256. Default: 1e-4
  double weight_decay = 1e-6;      // Default: 1e-6
  double warmup_epochs = 10;       // linear warmup, then half-cosine per iteration. Default: 10
  double moco_m = 0.99;            // momentum of the key encoder. Default: 0.99
  bool moco_m_cos = false;         // cosine schedule of m towards 1. Default: false
  double moco_t = 1.0;             // softmax temperature T. Default: 1.0
  double grad_clip = 0.0;          // max global gradient norm; 0 = off. Default: 0
  Precision precision = Precision::kFloat32;  // Default: fp32
  double bucket_cap_mb = 25.0;     // gradient allreduce bucket size. Default: 25

  // Run control.
  uint64_t seed = 0;               // Default: 0
  int64_t print_freq = 10;         // steps between metric lines. Default: 10
  int64_t save_every = 0;          // extra checkpoint every N steps; 0 = per epoch only. Default: 0
  int workers = 0;                 // loader threads per rank; 0 = the rank's share of cores. Default: 0

  // Throws InvalidArgument naming the field and the accepted values.
  void validate() const;
  YAML::Node to_yaml() const;
  // Fields present in `node` replace this spec's; unknown keys are errors.
  void merge_yaml(const YAML::Node& node, const std::string& context);
};

// What a rank actually runs with, derived once from the spec.
struct PretrainPlan {
  PretrainSpec spec;
  int world = 1;
  int rank = 0;
  int64_t batch_per_rank = 0;   // spec.batch_size / world
  double lr = 0;                // spec.lr * spec.batch_size / 256
  int threads_per_rank = 1;     // cores on the node / ranks on the node
  int loader_threads = 1;
};

// Throws InvalidArgument when the global batch does not divide by the world.
PretrainPlan resolve_pretrain(const PretrainSpec& spec, int rank, int world, int node_cores, int local_world);

std::string to_string(Sampling s);
std::string to_string(OptimizerKind o);
std::string to_string(Precision p);
std::string to_string(ViewRecipe v);
Sampling parse_sampling(const std::string& s);
OptimizerKind parse_optimizer(const std::string& s);
Precision parse_precision(const std::string& s);
ViewRecipe parse_view_recipe(const std::string& s);

}  // namespace radclear::worker
