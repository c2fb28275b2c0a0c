#pragma once
// SynthSpec: the settings of `radclear synth` (data/synth.h writes the data).
#include <cstdint>
#include <filesystem>

#include "stages/field.h"

namespace radclear::stages {

struct SynthSpec {
  static constexpr const char* kStage = "synth";
  static constexpr int kVersion = 1;

  std::filesystem::path out;      // output directory (required)
  int patients = 20;              // Default: 20
  int studies_per_patient = 2;    // Default: 2
  int slices = 64;                // per study, 1..999 (3-digit file names). Default: 64
  int size = 512;                 // image width = height in pixels, >= 32. Default: 512
  int max_lesions_per_study = 3;  // each study has 1..this many lesions. Default: 3
  uint64_t seed = 0;              // Default: 0
  int threads = 0;                // worker threads, 0 = all cores. Default: 0
  bool force = false;             // write into a non-empty directory, replacing synth outputs

  template <typename Self, typename Visit>
  static void fields(Self& s, Visit&& v) {
    v(s.out, Field("out", "Output directory (created; must be empty unless --force)").required());
    v(s.patients, Field("patients", "Number of patients").range(1, 999999));
    v(s.studies_per_patient, Field("studies_per_patient", "CT studies per patient").range(1, 99));
    v(s.slices, Field("slices", "Axial slices per study (1..999)").range(1, 999));
    v(s.size, Field("size", "Slice width and height in pixels").range(32, 4096));
    v(s.max_lesions_per_study, Field("max_lesions_per_study", "Lesions per study: 1..N").flag("--max-lesions").range(1, 20));
    v(s.seed, Field("seed", "Random seed; same seed, same bytes"));
    v(s.threads, Field("threads", "Worker threads (0 = all cores)").at_least(0));
    v(s.force, Field("force", "Write into a non-empty directory, replacing earlier synth outputs")
                   .bool_flag(BoolFlag::kSwitch));
  }

  void validate() const { check_fields(*this); }
};

}  // namespace radclear::stages
