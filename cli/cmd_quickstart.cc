// `radclear quickstart`: the whole pipeline on a generated data set, the
// first thing a new user runs. The data steps (synth, index) run in this
// process; the rest is a one-trial sweep (worker/pipeline/quickstart.h) run
// in the embedded mode: a coordinator and one worker group (--ranks N > 1:
// `mpirun -np N radclear worker`), exactly as `radclear run` runs a sweep.
// Every step resumes, so a rerun after an interruption (Ctrl-C: exit 3)
// continues where it stopped.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "cli/embedded_run.h"
#include "cli/exit_code.h"
#include "cli/signals.h"
#include "cli/spec_flags.h"
#include "common/atomic_file.h"
#include "common/check.h"
#include "coordinator/stage_payload.h"
#include "worker/comm/communicator.h"
#include "worker/pipeline/quickstart.h"
#include "worker/runner/job_runner.h"
#include "worker/runner/process.h"

namespace radclear::cli {

namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// <out>/<name> -> <target>'s directory name (a relative link, so the folder
// can be moved): the content-named job directories under friendly names. A
// real directory of that name (an older quickstart's) is left alone.
void link_as(const fs::path& out, const std::string& name, const fs::path& target) {
  const fs::path link = out / name;
  std::error_code ec;
  if (fs::exists(fs::symlink_status(link, ec)) && !fs::is_symlink(fs::symlink_status(link, ec))) {
    spdlog::warn("{} is not a link from an earlier quickstart; the results are in {}", link.string(), target.string());
    return;
  }
  const fs::path tmp = out / ("." + name + ".link");
  fs::remove(tmp, ec);
  fs::create_directory_symlink(target.filename(), tmp);
  fs::rename(tmp, link);  // atomic: the link always names a directory
}

int run_quickstart(const pipeline::QuickstartSpec& q, bool quiet) {
  const auto t0 = std::chrono::steady_clock::now();
  fs::create_directories(q.out);
  {
    auto comm = worker::make_local_communicator();
    stages::RankContext ctx;
    ctx.threads = ctx.compute_threads();
    ctx.comm = comm.get();
    ctx.show_progress = !quiet;
    runner::set_process_threads(ctx.threads);
    CancelOnSignal on_signal(ctx.cancel);
    for (const auto& step : pipeline::quickstart_data_steps(q)) {
      if (!step.title.empty()) spdlog::info("== step 1/3: {}", step.title);
      const auto step_t0 = std::chrono::steady_clock::now();
      if (step.done && step.done()) {
        spdlog::info("   {}", step.done_note);
      } else {
        const auto r = runner::run_stage(step.spec, ctx);
        if (!r.ok()) {
          spdlog::error("{}", r.status().message());
          return exit_code(r.status());
        }
        if (!r.value().summary.empty()) spdlog::info("   {}", r.value().summary);
        if (exit_code(r.value()) != kExitOk) return exit_code(r.value());
      }
      spdlog::info("   {} ({:.0f} s; {:.0f} s in all)", step.result_note, seconds_since(step_t0), seconds_since(t0));
    }
  }

  // Pretraining, extraction and cross-validation: a one-trial sweep, run as
  // `radclear run` runs one.
  const fs::path sweep_file = q.out / "quickstart-sweep.yaml";
  write_file_atomic(sweep_file, YAML::Dump(pipeline::quickstart_sweep(q)) + "\n");
  spdlog::info("== step 2/3: {} pretraining of {} at {} px ({} epochs, {} views), feature extraction and 5-fold "
               "ABMIL cross-validation: a one-trial sweep ({}; `radclear run` reruns it, add a grid to compare)",
               q.sampling == stages::Sampling::kNone ? "MoCo v3" : "LeCL", q.arch, q.image_size, q.epochs,
               stages::enum_name(q.views), sweep_file.string());
  auto prepared = prepare_sweep(sweep_file);
  if (!prepared.ok()) {
    spdlog::error("{}", prepared.status().message());
    return exit_code(prepared.status());
  }
  const PreparedSweep& p = prepared.value();
  EmbeddedRunOptions run;
  run.ranks = q.ranks;
  run.quiet = quiet;
  const EmbeddedRunResult r = run_embedded(p, run);
  if (r.exit_code != kExitOk) {
    if (r.exit_code != kExitCancelled) spdlog::error("the sweep did not finish; rerun `radclear quickstart` to resume");
    return r.exit_code;
  }
  auto trials = coordinator::expand_trials(p.spec);
  if (!trials.ok()) return exit_code(trials.status());
  const auto& trial = trials.value().at(0).stages;
  const fs::path cv_dir = coordinator::trial_crossval_spec(p.spec.data, trial).out_dir;
  link_as(q.out, "pretrain", coordinator::trial_pretrain_spec(p.spec.data, trial).out);
  link_as(q.out, "features", coordinator::trial_extract_spec(p.spec.data, trial).out);
  link_as(q.out, "crossval", cv_dir);
  spdlog::info("   outputs: {0}/pretrain, {0}/features, {0}/crossval (links to the jobs' directories)", q.out.string());

  spdlog::info("== step 3/3: results");
  const fs::path results = q.out / "crossval";
  std::printf("\nOut-of-fold AUROC per lesion location (%s, %s features, ABMIL, 5 folds):\n%s\n", q.arch.c_str(),
              q.sampling == stages::Sampling::kLesion ? "LeCL" : "MoCo v3",
              pipeline::auroc_table(cv_dir / "stats.csv").c_str());
  std::printf("ROC and PR curves: %s\nattention plots:   %s/fold-*/\nper-study predictions: %s\n\n",
              (results / "plots").c_str(), results.c_str(), (results / "oof-preds.csv").c_str());
  std::fflush(stdout);
  spdlog::info("   quickstart finished in {:.1f} min", seconds_since(t0) / 60);
  return kExitOk;
}

}  // namespace

Runner setup_quickstart(CLI::App& app) {
  auto flags = std::make_shared<SpecFlags<pipeline::QuickstartSpec>>(app);
  auto quiet = std::make_shared<bool>(false);
  app.add_flag("--quiet", *quiet, "No progress bars");
  app.footer(
      "Generates a data set, pretrains a small encoder with LeCL, extracts features with two CT windows and\n"
      "cross-validates ABMIL on the lesion-location labels; 13 to 16 minutes on 2 cores. A rerun resumes.\n"
      "Example:\n  radclear quickstart --out quickstart\n  radclear quickstart --out qs2 --ranks 2");
  return [flags, quiet] { return run_quickstart(flags->resolve(), *quiet); };
}

}  // namespace radclear::cli
