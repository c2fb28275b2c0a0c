// `radclear crossval` and its flags; YAML --config first, then flags.
#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <vector>

#include "cli/command.h"
#include "cli/ranked.h"
#include "common/check.h"
#include "common/logging.h"
#include "common/yaml_fields.h"
#include "worker/crossval/crossval.h"
#include "worker/mpi_scope.h"

namespace radclear::cli {

namespace {

// Flags that were given on the command line override the YAML config: each
// option remembers how to copy itself into the spec.
struct Overrides {
  crossval::CrossvalSpec flags;  // CLI11 parses into this
  std::vector<std::pair<CLI::Option*, std::function<void(crossval::CrossvalSpec&)>>> apply;

  template <typename T>
  void add(CLI::App& app, const std::string& name, T crossval::CrossvalSpec::*field, const std::string& help) {
    CLI::Option* o = app.add_option(name, flags.*field, help);
    o->default_str(fmt::format("{}", crossval::CrossvalSpec{}.*field));
    apply.emplace_back(o, [this, field](crossval::CrossvalSpec& s) { s.*field = flags.*field; });
  }
  void add_path(CLI::App& app, const std::string& name, std::filesystem::path crossval::CrossvalSpec::*field,
                const std::string& help) {
    CLI::Option* o = app.add_option(name, flags.*field, help);
    apply.emplace_back(o, [this, field](crossval::CrossvalSpec& s) { s.*field = flags.*field; });
  }
};

}  // namespace

Runner setup_crossval(CLI::App& app) {
  auto ov = std::make_shared<Overrides>();
  auto config = std::make_shared<std::string>();
  auto no_progress = std::make_shared<bool>(false);
  app.add_option("--config", *config, "YAML file with crossval settings (flags override it)");
  ov->add_path(app, "--features", &crossval::CrossvalSpec::features_dir, "Directory of <study>.h5 feature files");
  ov->add_path(app, "--clini", &crossval::CrossvalSpec::clini_csv, "Clinical CSV (CLEAR format)");
  ov->add_path(app, "--out", &crossval::CrossvalSpec::out_dir, "Output directory");
  ov->add_path(app, "--db", &crossval::CrossvalSpec::db, "Slice index (key slices)");
  ov->add_path(app, "--key-slices", &crossval::CrossvalSpec::key_slices_csv,
               "CSV study,slice naming key slices kept in subsampled bags");
  {
    CLI::Option* o = app.add_option("--labels", ov->flags.labels, "Binary label columns (comma separated)")
                         ->delimiter(',');
    ov->apply.emplace_back(o, [p = ov.get()](crossval::CrossvalSpec& s) { s.labels = p->flags.labels; });
  }
  ov->add(app, "--categorical", &crossval::CrossvalSpec::categorical, "One categorical column, one class per value");
  ov->add(app, "--study-column", &crossval::CrossvalSpec::study_column, "Column with the study id");
  ov->add(app, "--patient-column", &crossval::CrossvalSpec::patient_column, "Column with the patient id");
  ov->add(app, "--model", &crossval::CrossvalSpec::model, "abmil, abmil_gated, pma or linear");
  ov->add(app, "--hidden", &crossval::CrossvalSpec::hidden, "Hidden width of the MIL head");
  ov->add(app, "--dropout", &crossval::CrossvalSpec::dropout, "Head dropout");
  ov->add(app, "--standardize", &crossval::CrossvalSpec::standardize,
          "Standardise features with the training folds' mean and std (true/false)");
  ov->add(app, "--folds", &crossval::CrossvalSpec::folds, "Patient-level folds");
  ov->add(app, "--bag-size", &crossval::CrossvalSpec::bag_size, "Instances per bag (pad / subsample)");
  ov->add(app, "--batch-size", &crossval::CrossvalSpec::batch_size, "Bags per step");
  ov->add(app, "--epochs", &crossval::CrossvalSpec::epochs, "Maximum epochs per fold");
  ov->add(app, "--patience", &crossval::CrossvalSpec::patience, "Early-stopping patience (epochs)");
  ov->add(app, "--lr", &crossval::CrossvalSpec::lr, "Adam learning rate");
  ov->add(app, "--weight-decay", &crossval::CrossvalSpec::weight_decay, "Decoupled weight decay (0: Adam)");
  ov->add(app, "--valid-fraction", &crossval::CrossvalSpec::valid_fraction, "Validation share of training patients");
  ov->add(app, "--seed", &crossval::CrossvalSpec::seed, "Seed for folds, bags and initialisation");
  ov->add(app, "--bootstrap", &crossval::CrossvalSpec::bootstrap, "Bootstrap resamples for the 95% CIs");
  ov->add(app, "--attention-plots", &crossval::CrossvalSpec::attention_plots, "Attention plots per fold");
  ov->add(app, "--threads", &crossval::CrossvalSpec::threads, "Threads per rank (0: cores / local ranks)");
  app.add_flag("--no-progress", *no_progress, "No progress bars");
  return [ov, config, no_progress] {
    crossval::CrossvalSpec spec;
    if (!config->empty()) crossval::apply_yaml(load_yaml_file(*config), spec, *config);
    for (auto& [opt, fn] : ov->apply) {
      if (opt->count() > 0) fn(spec);
    }
    if (*no_progress) spec.progress = false;
    crossval::validate(spec);
    return run_ranked([&](const MpiScope& mpi) {
      crossval::WorkerGroup group;
      group.rank = mpi.rank();
      group.world = mpi.world();
      group.local_world = MpiScope::local_world();
      group.barrier = [&mpi] { mpi.barrier(); };
      if (group.rank == 0) spdlog::info("crossval: resolved settings\n{}", crossval::to_yaml(spec));
      const auto summary = crossval::run_crossval(spec, group);
      if (group.rank == 0) {
        spdlog::info("crossval: done; {} studies used, {} skipped; results in {}", summary.studies_used,
                     summary.studies_skipped, (spec.out_dir / "stats.csv").string());
      }
      return 0;
    });
  };
}

}  // namespace radclear::cli
