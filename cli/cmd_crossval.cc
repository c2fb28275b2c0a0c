// `radclear crossval`: flags from CrossvalSpec's fields; YAML --config first, then flags.
#include <CLI/CLI.hpp>
#include <memory>

#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "cli/launch.h"
#include "cli/spec_flags.h"
#include "stages/crossval_spec.h"

namespace radclear::cli {

Runner setup_crossval(CLI::App& app) {
  auto flags = std::make_shared<SpecFlags<stages::CrossvalSpec>>(app);
  app.footer(
      "Example:\n  radclear crossval --features feats --clini clinical.csv --labels bone,liver,lung --out cv\n"
      "Under mpirun the folds are dealt to the ranks. A rerun skips finished folds.");
  return [flags] {
    const auto spec = flags->resolve();
    spdlog::info("crossval: resolved settings\n{}", YAML::Dump(stages::to_yaml(spec)));
    return launch(spec);
  };
}

}  // namespace radclear::cli
