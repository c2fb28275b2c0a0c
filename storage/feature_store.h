#pragma once
// Per-study feature files: one HDF5 file `<study_id>.h5` per study, written
// by extraction and read by cross-validation / deployment. Layout (readable
// with h5py and by STAMP-style tools):
//
//   feats        rows x D   float32 or float16 (IEEE half, as numpy's f2)
//   coords       rows x 2   int32: (slice number, window index)
//   slice_names  rows       variable-length UTF-8 strings: the slice each
//                           row was computed from ("109.png")
//   attributes   study_id, extractor (arch), checkpoint_path,
//                checkpoint_sha256, windows (string array; index = coords
//                column 1), dtype ("float32"/"float16"), radclear_version,
//                feat_dim, format_version (1)
//
// Rows are in the extractor's order; with two CT windows the reference
// interleaves them (slice k -> rows 2k, 2k+1), which coords makes explicit.
//
// Thread safety: the Debian HDF5 library is not thread-safe, so every
// function here takes one process-wide lock; call them from any thread.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace radclear::storage {

enum class FeatureDtype { kFloat32, kFloat16 };

const char* feature_dtype_name(FeatureDtype dtype);
// "float32" / "float16" (also "f4", "f2", "fp16", "half"); throws
// InvalidArgument otherwise.
FeatureDtype parse_feature_dtype(const std::string& name);

struct FeatureFileAttrs {
  std::string study_id;
  std::string extractor_arch;          // registry name of the backbone, "vit_small"
  std::string checkpoint_path;         // checkpoint the features came from ("" for synthetic)
  std::string checkpoint_sha256;       // its SHA-256 (common/sha256.h), "" when unknown
  std::vector<std::string> windows;    // CT window names; coords[:, 1] indexes this
  FeatureDtype dtype = FeatureDtype::kFloat32;  // on-disk type of `feats`
  std::string radclear_version;        // written as version_string() when empty
};

// One study's features, always float32 in memory whatever the file holds.
struct StudyFeatures {
  FeatureFileAttrs attrs;
  int64_t rows = 0;
  int64_t dim = 0;
  std::vector<float> feats;              // rows * dim, row-major
  std::vector<int32_t> coords;           // rows * 2: slice number, window index
  std::vector<std::string> slice_names;  // rows

  float* row(int64_t r) { return feats.data() + r * dim; }
  const float* row(int64_t r) const { return feats.data() + r * dim; }
  int32_t slice_of(int64_t r) const { return coords[2 * r]; }
  int32_t window_of(int64_t r) const { return coords[2 * r + 1]; }
};

// Shape and attributes without the feature matrix.
struct FeatureFileInfo {
  FeatureFileAttrs attrs;
  int64_t rows = 0;
  int64_t dim = 0;
};

// `<dir>/<study_id>.h5`. Throws InvalidArgument when the id is empty or
// holds a path separator.
std::filesystem::path feature_file_path(const std::filesystem::path& dir, const std::string& study_id);

// Writes `f` to `path` atomically (HDF5 builds the file in memory; its bytes
// go to a temporary file beside `path`, then rename), converting to
// attrs.dtype (float16: round to nearest even). Throws InvalidArgument when
// the sizes of feats / coords / slice_names disagree with rows and dim,
// IoError naming the file and the cause when writing fails (the temporary
// file is removed, an older `path` is untouched).
void write_study_features(const std::filesystem::path& path, const StudyFeatures& f);

// Reads a whole file. With expected_dim > 0 a different width throws
// InvalidArgument naming the file and both widths. Throws NotFound when
// the file is missing, CorruptData when it is not a readable feature file
// (message names the file and the dataset/attribute at fault).
StudyFeatures read_study_features(const std::filesystem::path& path, int64_t expected_dim = -1);

// Reads shape and attributes only (cheap). Same errors as above.
FeatureFileInfo read_feature_info(const std::filesystem::path& path);

// IEEE binary16 conversions (round to nearest even; NaN/Inf preserved).
uint16_t float_to_half(float f);
float half_to_float(uint16_t h);

}  // namespace radclear::storage
