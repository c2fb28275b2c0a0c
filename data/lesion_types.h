#pragma once
// DeepLesion's eight coarse lesion types (DL_info.csv Coarse_lesion_type
// 1..8) and the label names CLEAR's clinical tables use for them.
#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace radclear::data {

constexpr int kNumCoarseTypes = 8;

// Index 0 is type 1 (bone) ... index 7 is type 8 (pelvis).
constexpr std::array<std::string_view, kNumCoarseTypes> kCoarseTypeNames = {
    "bone", "abdomen", "mediastinum", "liver", "lung", "kidney", "soft tissue", "pelvis"};

// "bone" for 1 ... "pelvis" for 8; throws InvalidArgument otherwise.
std::string coarse_type_name(int coarse_type);
// 1..8 for a CLEAR label name, nullopt for anything else.
std::optional<int> coarse_type_from_name(std::string_view name);

}  // namespace radclear::data
