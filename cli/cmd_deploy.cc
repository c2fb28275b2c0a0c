// `radclear deploy`: every fold model of a crossval run on an external test
// set, plus their ensemble.
#include <CLI/CLI.hpp>
#include <memory>

#include "cli/command.h"
#include "cli/launch.h"
#include "cli/spec_flags.h"
#include "stages/crossval_spec.h"

namespace radclear::cli {

Runner setup_deploy(CLI::App& app) {
  auto flags = std::make_shared<SpecFlags<stages::DeploySpec>>(app);
  return [flags] { return launch(flags->resolve()); };
}

}  // namespace radclear::cli
