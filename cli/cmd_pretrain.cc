// `radclear pretrain`: LeCL pretraining, in one process or under mpirun/srun.
#include <CLI/CLI.hpp>
#include <memory>

#include "cli/command.h"
#include "cli/launch.h"
#include "cli/spec_flags.h"
#include "stages/pretrain_spec.h"

namespace radclear::cli {

Runner setup_pretrain(CLI::App& app) {
  auto flags = std::make_shared<SpecFlags<stages::PretrainSpec>>(app);
  auto quiet = std::make_shared<bool>(false);
  app.add_flag("--quiet", *quiet, "No progress bar");
  app.footer(
      "Examples:\n  radclear pretrain --db idx --data data --arch vit_small --batch-size 256 --epochs 100 --out runs/a\n"
      "  mpirun -np 4 radclear pretrain --config pretrain.yaml   # batch is split over the ranks\n"
      "Ctrl-C stops after the current step with a checkpoint; rerun to resume.");
  return [flags, quiet] { return launch(flags->resolve(), {*quiet}); };
}

}  // namespace radclear::cli
