#pragma once
// Typed access to YAML config files. Specs (SynthSpec, PretrainSpec, ...)
// read their fields through these so that a wrong type or an unknown key is
// reported with the file and the field name, never silently ignored.
#include <filesystem>
#include <initializer_list>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "common/check.h"

namespace radclear {

// Loads a YAML mapping; throws NotFound / InvalidArgument naming the file.
YAML::Node load_yaml_file(const std::filesystem::path& path);

// Throws InvalidArgument if `node` has a key not in `known` (typo guard),
// suggesting the closest known key.
void check_known_keys(const YAML::Node& node, std::initializer_list<const char*> known,
                      const std::string& context);

// If `node[key]` exists, converts it into `out`; throws InvalidArgument
// "context: field 'key': expected <type>, got '<text>'" on a bad value.
template <typename T>
void read_field(const YAML::Node& node, const char* key, T& out, const std::string& context) {
  const YAML::Node v = node[key];
  if (!v) return;
  try {
    out = v.as<T>();
  } catch (const YAML::Exception&) {
    throw InvalidArgument(fmt::format("{}: field '{}': cannot read '{}' as the expected type", context, key,
                                      YAML::Dump(v)));
  }
}

// A path field: read_field as a string ("" clears the path).
void read_path(const YAML::Node& node, const char* key, std::filesystem::path& out, const std::string& context);

// Levenshtein distance, for "did you mean" suggestions.
size_t edit_distance(const std::string& a, const std::string& b);
// The closest candidate within distance 3, or "".
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace radclear
