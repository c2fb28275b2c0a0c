// radclear: one binary, one subcommand per stage.
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "cli/exit_code.h"
#include "common/check.h"
#include "common/logging.h"
#include "common/version.h"
#include "common/yaml_fields.h"

namespace {

// Suggests the closest subcommand for a typo (`radclear extarct`).
bool report_unknown_command(int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return false;
  std::vector<std::string> names;
  for (const auto& c : radclear::cli::commands()) {
    if (argv[1] == std::string(c.name)) return false;
    names.emplace_back(c.name);
  }
  const auto hint = radclear::closest_match(argv[1], names);
  std::cerr << "radclear: unknown command '" << argv[1] << "'";
  if (!hint.empty()) std::cerr << " (did you mean '" << hint << "'?)";
  std::cerr << "\nRun 'radclear --help' for the list of commands.\n";
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using radclear::cli::commands;
  if (report_unknown_command(argc, argv)) return radclear::cli::kExitBadInput;

  CLI::App app{"radclear: abnormality-driven representation learning for CT (CLEAR) on clusters", "radclear"};
  app.set_version_flag("--version", radclear::version_string());
  app.require_subcommand(1);
  app.fallthrough();  // global flags may follow the subcommand
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")->capture_default_str();

  std::vector<std::pair<CLI::App*, radclear::cli::Runner>> runners;
  for (const auto& cmd : commands()) {
    CLI::App* sub = app.add_subcommand(cmd.name, cmd.summary);
    runners.emplace_back(sub, cmd.setup(*sub));
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? radclear::cli::kExitOk : radclear::cli::kExitBadInput;
  }

  radclear::setup_logging({log_level});
  // Exit codes are decided here and in cli/exit_code.h alone.
  using radclear::cli::kExitBadInput;
  for (auto& [sub, run] : runners) {
    if (!sub->parsed()) continue;
    try {
      return run();
    } catch (const radclear::Error& e) {
      spdlog::error("{}", e.what());
      return radclear::cli::exit_code(e.to_status());
    } catch (const std::exception& e) {
      spdlog::error("unexpected error: {}", e.what());
      return radclear::cli::kExitFailed;
    }
  }
  return kExitBadInput;
}
