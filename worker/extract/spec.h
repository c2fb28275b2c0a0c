#pragma once
// ExtractSpec: every setting of a feature-extraction run (reference.md §3),
// filled from YAML then CLI flags, validated, and written as extract.yaml
// next to the features.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace radclear::worker {

// The reference's two windows, for checkpoints that record none.
inline const std::vector<std::string> kDefaultExtractWindows{"abdomen", "lung"};

struct ExtractSpec {
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
  // Splits to extract ("train", "val", "test", "unknown"); empty = all.
  std::vector<std::string> splits;
  int64_t batch_size = 64;           // rows per forward pass. Default: 64
  std::string dtype = "float32";     // feats on disk: float32 | float16. Default: float32
  // Encoder input size; 0 = the pretraining run's (pretrain.yaml beside the
  // checkpoint, else a ViT's position table, else 224). Default: 0.
  int64_t image_size = 0;
  bool force = false;                // redo finished studies. Default: false
  int workers = 0;                   // decode threads per rank; 0 = share of cores. Default: 0
  bool strict = true;                // stop at the first unreadable study (else skip it and go on). Default: true

  // Throws InvalidArgument naming the field.
  void validate() const;
  YAML::Node to_yaml() const;
  // Fields present in `node` replace this spec's; unknown keys are errors.
  void merge_yaml(const YAML::Node& node, const std::string& context);
};

}  // namespace radclear::worker
