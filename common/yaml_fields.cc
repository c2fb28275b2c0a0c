#include "common/yaml_fields.h"

#include <algorithm>

namespace radclear {

YAML::Node load_yaml_file(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw NotFound(fmt::format("config file {} does not exist", path.string()));
  YAML::Node node;
  try {
    node = YAML::LoadFile(path.string());
  } catch (const YAML::Exception& e) {
    throw InvalidArgument(fmt::format("{}: not valid YAML: {}", path.string(), e.what()));
  }
  if (!node.IsMap() && !node.IsNull()) {
    throw InvalidArgument(fmt::format("{}: expected a mapping of settings at the top level", path.string()));
  }
  return node;
}

void read_path(const YAML::Node& node, const char* key, std::filesystem::path& out, const std::string& context) {
  std::string s = out.string();
  read_field(node, key, s, context);
  out = s;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = 4;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

void check_known_keys(const YAML::Node& node, std::initializer_list<const char*> known, const std::string& context) {
  if (!node || !node.IsMap()) return;
  std::vector<std::string> names(known.begin(), known.end());
  for (const auto& kv : node) {
    const auto key = kv.first.as<std::string>();
    if (std::find(names.begin(), names.end(), key) != names.end()) continue;
    const auto hint = closest_match(key, names);
    throw InvalidArgument(fmt::format("{}: unknown setting '{}'{}", context, key,
                                      hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)));
  }
}

}  // namespace radclear
