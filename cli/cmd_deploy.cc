// `radclear deploy`: every fold model of a crossval run on an external test
// set, plus their ensemble.
#include <CLI/CLI.hpp>

#include <memory>

#include "cli/command.h"
#include "common/logging.h"
#include "worker/crossval/crossval.h"

namespace radclear::cli {

Runner setup_deploy(CLI::App& app) {
  auto spec = std::make_shared<crossval::DeploySpec>();
  auto no_progress = std::make_shared<bool>(false);
  app.add_option("--features", spec->features_dir, "Directory of <study>.h5 feature files (test set)")->required();
  app.add_option("--clini", spec->clini_csv, "Clinical CSV of the test set (labels optional)")->required();
  app.add_option("--models", spec->models_dir, "A crossval output directory (fold-k/model.pt)")->required();
  app.add_option("--out", spec->out_dir, "Output directory")->required();
  app.add_option("--db", spec->db, "Slice index (key slices)");
  app.add_option("--key-slices", spec->key_slices_csv, "CSV study,slice naming key slices");
  app.add_option("--bootstrap", spec->bootstrap, "Bootstrap resamples for the 95% CIs")->capture_default_str();
  app.add_option("--threads", spec->threads, "Threads (0: all cores)")->capture_default_str();
  app.add_flag("--no-progress", *no_progress, "No progress bars");
  return [spec, no_progress] {
    if (*no_progress) spec->progress = false;
    const auto summary = crossval::run_deploy(*spec);
    spdlog::info("deploy: {} models on {} studies; results in {}", summary.models, summary.studies,
                 spec->out_dir.string());
    return 0;
  };
}

}  // namespace radclear::cli
