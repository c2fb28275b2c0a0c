#pragma once
// `radclear synth`: a DeepLesion-style synthetic CT data set that reads
// exactly like the real one (DeepLesion cannot be shipped: 225 GB, licence).
//
//   <out>/Images_png/<pppppp>_<ss>_<ss>/<nnn>.png  16-bit PNG, HU + 32768
//   <out>/DL_info.csv     one row per lesion, DeepLesion's 18 columns
//   <out>/lesions.csv     CLEAR: image,lesion_present,patient_id (per slice)
//   <out>/clinical.csv    CLEAR: image,<8 coarse types>,all (per study)
//   <out>/synth.yaml      the resolved spec
//
// Same spec and seed give byte-identical files, whatever the thread count.
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include <yaml-cpp/yaml.h>

#include "data/lesion_types.h"
#include "stages/synth_spec.h"

namespace radclear::data {

// The settings, each declared once (stages/synth_spec.h).
using stages::SynthSpec;
// The settings as YAML, without `out`, `threads` and `force`, which do not
// change the data (what synth.yaml records).
YAML::Node synth_data_yaml(const SynthSpec& spec);

struct SynthSummary {
  int patients = 0;
  int studies = 0;
  int64_t slices = 0;
  int64_t lesions = 0;
  int64_t lesion_key_slices = 0;
  std::array<int64_t, kNumCoarseTypes> lesions_per_type{};
  std::array<int64_t, 3> patients_per_split{};  // train, val, test
  int64_t bytes = 0;
  double seconds = 0;

  std::string to_text() const;
};

// Called after each study with (studies done, slices done).
using SynthProgress = std::function<void(int studies_done, int64_t slices_done)>;

// Validates, then writes the data set. Nothing is written when validation
// fails (bad sizes, non-empty directory without `force`, unwritable
// directory). The image tree is built under Images_png.partial and renamed
// when complete; CSVs are written atomically.
SynthSummary generate_synth(const SynthSpec& spec, const SynthProgress& progress = {});

// "000001_01_01": DeepLesion's <patient>_<study>_<series> directory name.
std::string synth_study_dir(int patient, int study, int series = 1);

// Train/val/test (1/2/3) of a patient, DeepLesion's Train_Val_Test: a seeded
// 70/15/15 split of the patients.
int synth_patient_split(uint64_t seed, int patients, int patient_index);

// The 18 DL_info.csv columns, in DeepLesion's order.
extern const std::array<const char*, 18> kDlInfoColumns;

}  // namespace radclear::data
