#pragma once
// ExtractSpec: every setting of a feature-extraction run (reference.md §3),
// each declared once in fields(); written as extract.yaml beside the
// features.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "stages/device.h"
#include "stages/enums.h"
#include "stages/field.h"

namespace radclear::stages {

// The reference's two windows, for checkpoints that record none.
inline const std::vector<std::string> kDefaultExtractWindows{"abdomen", "lung"};

struct ExtractSpec {
  static constexpr const char* kStage = "extract";
  static constexpr int kVersion = 1;

  std::filesystem::path db;          // RocksDB slice index (required)
  std::filesystem::path data;        // data root the index paths are relative to (required)
  std::filesystem::path checkpoint;  // radclear/Python MoCo checkpoint or bare encoder state dict (required)
  std::filesystem::path out;         // directory of <study>.h5 files (required)
  // Backbone registry name. Required for a bare state dict; for a MoCo
  // checkpoint it must match the checkpoint's arch when given. Default: "".
  std::string arch;
  // CT windows for 16-bit slices; rows of a slice follow this order. Empty:
  // the windows recorded with a radclear checkpoint (those it was pretrained
  // in), else kDefaultExtractWindows. Default: empty.
  std::vector<std::string> windows;
  // Splits to extract; empty = all studies. Default: all.
  std::vector<Split> splits;
  // Study ids to extract (of those the splits select); empty = all. A
  // coordinator shard job names its shard's studies here; the feature set
  // (and so `out`) is the same for every shard. Default: all.
  std::vector<std::string> studies;
  int64_t batch_size = 64;           // rows per forward pass. Default: 64
  FeatureDtype dtype = FeatureDtype::kFloat32;  // feats on disk. Default: float32
  // Encoder input size; 0 = the pretraining run's (pretrain.yaml beside the
  // checkpoint, else a ViT's position table, else 224). Default: 0.
  int64_t image_size = 0;
  bool force = false;                // redo finished studies. Default: false
  int workers = 0;                   // decode threads per rank; 0 = share of cores. Default: 0
  bool strict = true;                // stop at the first unreadable study (else skip it and go on). Default: true
  DeviceChoice device;               // where the encoder runs (stages/device.h). Default: auto
  // The encoder's arithmetic: fp32, or bf16/fp16 autocast (features are
  // written as float32 either way, and a bf16 set gets its own feature set
  // id). Default: fp32
  Precision precision = Precision::kFloat32;

  template <typename Self, typename Visit>
  static void fields(Self& s, Visit&& v) {
    v(s.db, Field("db", "RocksDB slice index (radclear index)").required("(build it with `radclear index`)"));
    v(s.data, Field("data", "Data root the index's paths are relative to")
                  .required("(the data root the index was built from)"));
    v(s.checkpoint, Field("checkpoint", "radclear or Python MoCo checkpoint (.pth.tar), or a bare encoder state "
                                        "dict (needs --arch)")
                        .required());
    v(s.out, Field("out", "Directory for <study>.h5 files and extract.yaml").required());
    v(s.arch, Field("arch", "Backbone (taken from a MoCo checkpoint when omitted)"));
    v(s.windows, Field("windows", "CT windows, rows of a slice in this order (abdomen, lung, bone, mediastinum, W/L); "
                                  "default: the checkpoint's pretraining windows, else abdomen,lung"));
    v(s.splits, Field("splits", "Splits to extract: train, val, test, unknown (default: all studies)").flag("--split"));
    v(s.studies, Field("studies", "Only these study ids (comma separated; default: every study of the splits)"));
    v(s.batch_size, Field("batch_size", "Rows per forward pass").positive());
    v(s.dtype, Field("dtype", "On-disk feature type: float32 or float16"));
    v(s.image_size, Field("image_size", "Encoder input size (0: the pretraining run's)").at_least(0));
    v(s.force, Field("force", "Extract every study again, even finished ones").bool_flag(BoolFlag::kSwitch));
    v(s.workers, Field("workers", "Decode threads per rank (0 = the rank's share of cores)").at_least(0));
    v(s.strict, Field("strict", "Skip studies with unreadable slices instead of stopping")
                    .flag("--no-strict")
                    .bool_flag(BoolFlag::kNegated));
    v(s.device, Field("device", "Where tensors live: auto (the rank's local GPU when built with CUDA and one is present, else the CPU), cpu, cuda, cuda:N"));
    v(s.precision, Field("precision", "Encoder arithmetic: fp32, bf16 (autocast; fast where the CPU has "
                                      "AVX512-BF16/AMX) or fp16 (CUDA only)"));
  }

  void validate() const;
};

}  // namespace radclear::stages
