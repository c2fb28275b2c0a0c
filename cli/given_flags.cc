#include "cli/given_flags.h"

#include <CLI/CLI.hpp>

namespace radclear::cli {

YAML::Node given_flags(const CLI::App& app, const YAML::Node& parsed,
                       const std::vector<std::pair<std::string, std::string>>& renames) {
  YAML::Node given;
  for (const auto* opt : app.get_options()) {
    if (opt->count() == 0 || opt->get_lnames().empty()) continue;
    std::string key = opt->get_lnames()[0];
    for (auto& c : key) c = c == '-' ? '_' : c;
    for (const auto& [flag, field] : renames) {
      if (key == flag) key = field;
    }
    if (parsed[key]) given[key] = parsed[key];
  }
  return given;
}

}  // namespace radclear::cli
