#pragma once
// Every enum a stage spec holds, with its names (stages/enum_table.h). They
// live here, not in data/, storage/ or models/, so that a process without
// LibTorch or OpenCV (the coordinator) can read, check and write any spec.
#include <cstdint>

#include "common/precision.h"
#include "stages/enum_table.h"

namespace radclear::stages {

// Pretraining views: LeCL (lesion-centred view + weighted lesion negatives)
// or plain MoCo v3.
enum class Sampling { kLesion, kNone };
template <>
struct EnumTraits<Sampling> {
  static constexpr const char* kWhat = "sampling";
  static constexpr std::array<EnumName<Sampling>, 4> kNames{
      {{Sampling::kLesion, "Lesion"}, {Sampling::kNone, "None"}, {Sampling::kLesion, "lesion"}, {Sampling::kNone, "none"}}};
};

// Pretraining views: CLEAR's MoCo v3 augmentations (data/lecl_views.h) or
// CT-native ones (data/ct_views.h: window jitter, crops from half the
// area, square lesion crops).
enum class ViewRecipe { kClear, kCt };
template <>
struct EnumTraits<ViewRecipe> {
  static constexpr const char* kWhat = "views";
  static constexpr std::array<EnumName<ViewRecipe>, 2> kNames{{{ViewRecipe::kClear, "clear"}, {ViewRecipe::kCt, "ct"}}};
};

enum class OptimizerKind { kAdamW, kLars };
template <>
struct EnumTraits<OptimizerKind> {
  static constexpr const char* kWhat = "optimizer";
  static constexpr std::array<EnumName<OptimizerKind>, 2> kNames{
      {{OptimizerKind::kAdamW, "adamw"}, {OptimizerKind::kLars, "lars"}}};
};

// Arithmetic of the backbone's forward and backward passes (common/precision.h).
using radclear::Precision;
template <>
struct EnumTraits<Precision> {
  static constexpr const char* kWhat = "precision";
  // common/precision.h's table, the one list of names.
  static constexpr auto kNames = [] {
    std::array<EnumName<Precision>, kPrecisionNames.size()> names{};
    for (size_t i = 0; i < names.size(); ++i) names[i] = {kPrecisionNames[i].precision, kPrecisionNames[i].name};
    return names;
  }();
};

// Where cross-validation takes a study's patient from (folds never split a
// patient). auto: the patient column when the table has it, else the index
// when one is given, else the study id's prefix (CLEAR's rule).
enum class PatientFrom { kAuto, kColumn, kPrefix, kIndex, kStudy };
template <>
struct EnumTraits<PatientFrom> {
  static constexpr const char* kWhat = "patient_from";
  static constexpr std::array<EnumName<PatientFrom>, 5> kNames{{{PatientFrom::kAuto, "auto"},
                                                                {PatientFrom::kColumn, "column"},
                                                                {PatientFrom::kPrefix, "prefix"},
                                                                {PatientFrom::kIndex, "index"},
                                                                {PatientFrom::kStudy, "study"}}};
};

// Element type of the feature matrices on disk.
enum class FeatureDtype { kFloat32, kFloat16 };
template <>
struct EnumTraits<FeatureDtype> {
  static constexpr const char* kWhat = "dtype";
  static constexpr std::array<EnumName<FeatureDtype>, 2> kNames{
      {{FeatureDtype::kFloat32, "float32"}, {FeatureDtype::kFloat16, "float16"}}};
};

// The MIL head of cross-validation.
enum class MilModel { kAbmil, kAbmilGated, kPma, kLinear };
template <>
struct EnumTraits<MilModel> {
  static constexpr const char* kWhat = "model";
  static constexpr std::array<EnumName<MilModel>, 4> kNames{{{MilModel::kAbmil, "abmil"},
                                                             {MilModel::kAbmilGated, "abmil_gated"},
                                                             {MilModel::kPma, "pma"},
                                                             {MilModel::kLinear, "linear"}}};
};

// DeepLesion's Train_Val_Test (1, 2, 3); the values are stored in index keys.
enum class Split : uint8_t { kUnknown = 0, kTrain = 1, kVal = 2, kTest = 3 };
template <>
struct EnumTraits<Split> {
  static constexpr const char* kWhat = "split";
  static constexpr std::array<EnumName<Split>, 4> kNames{
      {{Split::kTrain, "train"}, {Split::kVal, "val"}, {Split::kTest, "test"}, {Split::kUnknown, "unknown"}}};
};

// Directory layout of a data root for `radclear index`.
enum class LayoutChoice { kAuto, kDeepLesion, kClear };
template <>
struct EnumTraits<LayoutChoice> {
  static constexpr const char* kWhat = "layout";
  static constexpr std::array<EnumName<LayoutChoice>, 3> kNames{
      {{LayoutChoice::kAuto, "auto"}, {LayoutChoice::kDeepLesion, "deeplesion"}, {LayoutChoice::kClear, "clear"}}};
};

}  // namespace radclear::stages
