#pragma once
// PretrainSpec: every setting of a LeCL pretraining run, with CLEAR's
// defaults (reference.md §2), each declared once in fields(). The run
// resolves it (lr scaled by the global batch, batch per rank) into a
// PretrainPlan instead of mutating it as main_moco.py mutates args, and
// saves it as pretrain.yaml beside the checkpoints.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "stages/device.h"
#include "stages/enums.h"
#include "stages/field.h"

namespace radclear::stages {

struct PretrainSpec {
  static constexpr const char* kStage = "pretrain";
  static constexpr int kVersion = 1;

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
  double momentum = 0.9;           // LARS heavy-ball momentum (main_moco's --momentum; unused by adamw). Default: 0.9
  // Linear warmup, then half-cosine per iteration; longer than the run: half
  // the run (with a warning). Default: 10
  double warmup_epochs = 10;
  double moco_m = 0.99;            // momentum of the key encoder. Default: 0.99
  bool moco_m_cos = false;         // cosine schedule of m towards 1. Default: false
  double moco_t = 1.0;             // softmax temperature T. Default: 1.0
  double grad_clip = 0.0;          // max global gradient norm; 0 = off. Default: 0
  Precision precision = Precision::kFloat32;  // Default: fp32
  DeviceChoice device;             // where the model trains (stages/device.h). Default: auto
  double bucket_cap_mb = 25.0;     // gradient allreduce bucket size. Default: 25

  // Run control.
  uint64_t seed = 0;               // Default: 0
  int64_t print_freq = 10;         // steps between metric lines. Default: 10
  int64_t save_every = 0;          // extra checkpoint every N steps; 0 = per epoch only. Default: 0
  int workers = 0;                 // loader threads per rank; 0 = the rank's share of cores. Default: 0
  // First epoch of a run that resumes nothing (main_moco's --start-epoch):
  // the lr and momentum schedules start there. A resumed checkpoint's epoch
  // wins. Default: 0
  int64_t start_epoch = 0;

  template <typename Self, typename Visit>
  static void fields(Self& s, Visit&& v) {
    v(s.db, Field("db", "RocksDB slice index (radclear index)").required("(build it with `radclear index`)"));
    v(s.data, Field("data", "Data root the index's paths are relative to").required());
    v(s.out, Field("out", "Directory for checkpoints, metrics.csv and pretrain.yaml").required());
    v(s.name, Field("name", "Run name used in checkpoint file names"));
    v(s.resume, Field("resume", "auto (newest valid checkpoint in --out), none, or a checkpoint path"));
    v(s.arch, Field("arch", "Backbone: vit_small, vit_conv_small, mambaout_femto, resnet50, ...").required());
    v(s.image_size, Field("image_size", "Input size").at_least(16));
    v(s.moco_dim, Field("moco_dim", "Projector/predictor output width").positive());
    v(s.moco_mlp_dim, Field("moco_mlp_dim", "Hidden width of the MLP heads").positive());
    v(s.stop_grad_conv1, Field("stop_grad_conv1", "Freeze the ViT patch projection").bool_flag(BoolFlag::kSwitch));
    v(s.sampling, Field("sampling", "Lesion (LeCL views and negatives) or None (plain MoCo v3)"));
    v(s.sample_weight, Field("sample_weight", "Weight w of the lesion negatives"));
    v(s.views, Field("views", "View recipe: clear (CLEAR's MoCo v3 augmentations) or ct (CT-native: window jitter, "
                               "crops from half the area, square lesion crops)"));
    v(s.crop_min, Field("crop_min", "Minimum crop area fraction (0: the views' own, clear 0.08, ct 0.5)").range(0, 1));
    v(s.lesion_repeat, Field("lesion_repeat", "Times each lesion slice appears per epoch (oversampling)").at_least(1));
    v(s.windows, Field("windows", "CT windows for 16-bit slices, one drawn per sample (abdomen, lung, bone, "
                                   "mediastinum or W/L); extraction defaults to them")
                     .alias("window"));
    v(s.batch_size, Field("batch_size", "Global batch over all ranks (lr scales by batch/256)").positive());
    v(s.epochs, Field("epochs", "Epochs").positive());
    v(s.optimizer, Field("optimizer", "adamw or lars"));
    v(s.lr, Field("lr", "Base learning rate (per 256 images)").positive());
    v(s.weight_decay, Field("weight_decay", "Weight decay").flag("--wd").at_least(0));
    v(s.momentum, Field("momentum", "LARS momentum (optimizer lars)").range(0, 1));
    v(s.warmup_epochs, Field("warmup_epochs", "Linear warmup epochs").at_least(0));
    v(s.moco_m, Field("moco_m", "Momentum of the key encoder").range(0, 1));
    v(s.moco_m_cos, Field("moco_m_cos", "Cosine schedule of the momentum towards 1").bool_flag(BoolFlag::kSwitch));
    v(s.moco_t, Field("moco_t", "Softmax temperature").positive());
    v(s.grad_clip, Field("grad_clip", "Max gradient norm, 0 = off").at_least(0));
    v(s.precision, Field("precision", "fp32, or bf16 / fp16 (CUDA only): backbones under autocast (bf16 on the "
                                      "CPU is fast where it has AVX512-BF16/AMX; fp16 scales the loss dynamically)"));
    v(s.device, Field("device", "Where tensors live: auto (the rank's local GPU when built with CUDA and one is present, else the CPU), cpu, cuda, cuda:N"));
    v(s.bucket_cap_mb, Field("bucket_cap_mb", "Gradient allreduce bucket size").positive());
    v(s.seed, Field("seed", "Seed"));
    v(s.print_freq, Field("print_freq", "Steps between metrics.csv lines").positive());
    v(s.save_every, Field("save_every", "Extra checkpoint every N steps (0 = per epoch only)").at_least(0));
    v(s.workers, Field("workers", "Loader threads per rank (0 = the rank's share of cores)").at_least(0));
    v(s.start_epoch, Field("start_epoch", "First epoch when nothing is resumed (a checkpoint's epoch wins)").at_least(0));
  }

  // The declared checks, then the cross-field ones; throws InvalidArgument
  // naming the field.
  void validate() const;
};

}  // namespace radclear::stages
