#pragma once
// Flags override the config file (STAMP's habit, CLI11's parsing): the
// options given on the command line become YAML that is merged over the
// file, so a stage spec has one merge path whatever set a field.
#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace CLI {
class App;
}

namespace radclear::cli {

// The options of `app` given on the command line, keyed by their YAML field:
// the long name with '-' as '_', or its rename where flag and field differ
// ({"wd", "weight_decay"}). Values come from `parsed`, the spec the flags
// were parsed into as YAML; options without a field there (--config) are
// left out.
YAML::Node given_flags(const CLI::App& app, const YAML::Node& parsed,
                       const std::vector<std::pair<std::string, std::string>>& renames = {});

}  // namespace radclear::cli
