// `radclear synth`: flags from SynthSpec's fields (cli/spec_flags.h).
#include <CLI/CLI.hpp>
#include <memory>

#include "cli/command.h"
#include "cli/launch.h"
#include "cli/spec_flags.h"
#include "stages/synth_spec.h"

namespace radclear::cli {

Runner setup_synth(CLI::App& app) {
  auto flags = std::make_shared<SpecFlags<stages::SynthSpec>>(app);
  auto quiet = std::make_shared<bool>(false);
  app.add_flag("--quiet", *quiet, "No progress bar");
  app.footer(
      "Example:\n  radclear synth --out data/synth --patients 20 --studies-per-patient 2 --slices 64 --size 512\n"
      "Writes Images_png/<patient>_<study>_<series>/<slice>.png (16-bit, HU + 32768), DL_info.csv,\n"
      "lesions.csv and clinical.csv (CLEAR formats) and synth.yaml.");
  return [flags, quiet] { return launch(flags->resolve(), {*quiet}); };
}

}  // namespace radclear::cli
