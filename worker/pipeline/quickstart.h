#pragma once
// The quickstart as data: the generated data set (synth -> index, two steps
// with done-tests, run in process) and then a one-trial sweep (pretrain ->
// extract shards -> crossval folds -> report, coordinator/sweep.h) that the
// CLI runs in the embedded mode, `radclear run`'s code path. The sweep is
// written as a file, so a user can rerun it or add a grid to it; the
// coordinator's DB beside it makes a rerun resume.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "stages/any_spec.h"
#include "stages/field.h"

namespace radclear::pipeline {

struct QuickstartSpec {
  static constexpr const char* kStage = "quickstart";
  static constexpr int kVersion = 1;

  std::filesystem::path out = "quickstart";
  int ranks = 1;
  // Many short studies: ABMIL needs bags more than slices per bag (with 120
  // studies even oracle features reached only 0.70 mean AUROC; with 320,
  // 0.92), and pretraining and extraction cost scales with the slices.
  int patients = 160;
  int slices = 12;
  int size = 128;
  // A gated CNN keeps the spatial detail of a 96 px input, where a ViT/16
  // sees 6 x 6 tokens.
  std::string arch = "mambaout_femto";
  int64_t image_size = 96;
  int64_t epochs = 2;
  int64_t batch_size = 64;
  // 120 steps in all: a short warmup and a high peak (1.5e-3 at batch 64)
  // learn more than a 2e-3 base with warmup over half the run (lesion-slice
  // AUROC of a linear probe 0.753 against 0.738; random weights 0.722); a
  // 1.2e-2 base diverged (0.699).
  double lr = 6e-3;
  double moco_t = 0.2;  // MoCo v3's ViT temperature; 1.0 barely moved the loss in a short run
  // Width of the MoCo heads. CLEAR's 4096 made the heads cost more than the
  // MambaOut-femto encoder at 96 px (9.5 against 17.8 images/s with 1024).
  int64_t moco_mlp_dim = 1024;
  stages::Sampling sampling = stages::Sampling::kLesion;
  // CT-native views: CLEAR's ImageNet views erased what tells lesions apart
  // on CT (findings.md: pretext loss 3.49 -> 3.18 against 3.4 -> 2.26).
  stages::ViewRecipe views = stages::ViewRecipe::kCt;
  // auto: bf16 where the CPU has native bf16 (AVX512-BF16/AMX), else fp32.
  std::string precision = "auto";
  uint64_t seed = 0;

  template <typename Self, typename Visit>
  static void fields(Self& s, Visit&& v) {
    using stages::Field;
    v(s.out, Field("out", "Directory for everything the run makes"));
    v(s.ranks, Field("ranks", "Run pretraining, extraction and cross-validation on N MPI ranks (mpirun)").at_least(1));
    v(s.patients, Field("patients", "Synthetic patients (2 studies each)").at_least(1));
    v(s.slices, Field("slices", "Slices per study").range(1, 999));
    v(s.size, Field("size", "Slice size in pixels").range(32, 4096));
    v(s.arch, Field("arch", "Backbone to pretrain"));
    v(s.image_size, Field("image_size", "Encoder input size").at_least(16));
    v(s.epochs, Field("epochs", "Pretraining epochs").at_least(1));
    v(s.batch_size, Field("batch_size", "Pretraining batch").at_least(1));
    v(s.lr, Field("lr", "Pretraining base learning rate (per 256 images)").positive());
    v(s.moco_t, Field("moco_t", "Pretraining softmax temperature").positive());
    v(s.moco_mlp_dim, Field("moco_mlp_dim", "Hidden width of the MoCo heads").at_least(1));
    v(s.sampling, Field("sampling", "Lesion (LeCL) or None (plain MoCo v3)"));
    v(s.views, Field("views", "Pretraining views: ct (CT-native) or clear (CLEAR's)"));
    v(s.precision, Field("precision", "Pretraining precision: auto, fp32 or bf16"));
    v(s.seed, Field("seed", "Seed of the data and every step"));
  }

  void validate() const;
};

struct PipelineStep {
  std::string title;        // "synthetic DeepLesion-style data ..."; "" = part of the step before
  stages::AnySpec spec;
  // True when the stage's outputs are complete, so the step is skipped; a
  // step without one always runs (its stage skips what is finished).
  std::function<bool()> done;
  std::string done_note;    // logged when skipped
  std::string result_note;  // logged when the step ends
};

// The data steps (synth, index) with the quickstart's settings.
std::vector<PipelineStep> quickstart_data_steps(const QuickstartSpec& q);

// The rest as a sweep document: name "quickstart", `data` = the generated
// set (absolute paths; `out` = q.out), and per stage only the settings that
// differ from the command's defaults; pretrain_ranks = q.ranks.
YAML::Node quickstart_sweep(const QuickstartSpec& q);

// The AUROC rows of a crossval stats.csv as a table for people.
std::string auroc_table(const std::filesystem::path& stats_csv);

}  // namespace radclear::pipeline
