#pragma once
// Enums of the stage specs and their names, declared once: a spec field of
// enum type reads, writes, validates and documents itself through its
// EnumTraits table (first entry per value = the canonical name written to
// YAML; later entries are accepted aliases).
#include <array>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/check.h"
#include "common/yaml_fields.h"

namespace radclear::stages {

template <typename E>
struct EnumName {
  E value;
  const char* name;
};

// Specialise with `static constexpr std::array<EnumName<E>, N> kNames{...}`
// and `static constexpr const char* kWhat = "sampling";`.
template <typename E>
struct EnumTraits;

template <typename E, typename = void>
struct IsNamedEnum : std::false_type {};
template <typename E>
struct IsNamedEnum<E, std::void_t<decltype(EnumTraits<E>::kNames)>> : std::true_type {};

// The canonical name of `value`.
template <typename E>
const char* enum_name(E value) {
  for (const auto& n : EnumTraits<E>::kNames) {
    if (n.value == value) return n.name;
  }
  return "?";
}

// The canonical names, in table order ("Lesion, None").
template <typename E>
std::vector<std::string> enum_names() {
  std::vector<std::string> out;
  for (const auto& n : EnumTraits<E>::kNames) {
    if (enum_name(n.value) == std::string(n.name)) out.emplace_back(n.name);
  }
  return out;
}

// Throws InvalidArgument "<what>: 'x' is not one of a, b (did you mean 'a'?)".
template <typename E>
E parse_enum(const std::string& text) {
  for (const auto& n : EnumTraits<E>::kNames) {
    if (text == n.name) return n.value;
  }
  const auto names = enum_names<E>();
  const auto hint = closest_match(text, names);
  throw InvalidArgument(fmt::format("{}: '{}' is not one of {}{}", EnumTraits<E>::kWhat, text, fmt::join(names, ", "),
                                    hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)));
}

}  // namespace radclear::stages
