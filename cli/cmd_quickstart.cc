// `radclear quickstart`: the whole pipeline on a generated data set, the
// first thing a new user runs. The steps are worker/pipeline/quickstart.h's
// stage specs, each run by the job runner in this process; with --ranks N
// the distributed ones run as `mpirun -np N radclear <stage> --config
// <resolved yaml>`. Every step resumes, so a rerun after an interruption
// (Ctrl-C: exit 3) continues where it stopped.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "cli/exit_code.h"
#include "cli/signals.h"
#include "cli/spec_flags.h"
#include "common/atomic_file.h"
#include "common/check.h"
#include "common/parallel.h"
#include "worker/comm/communicator.h"
#include "worker/pipeline/quickstart.h"
#include "worker/runner/job_runner.h"
#include "worker/runner/process.h"

namespace radclear::cli {

namespace fs = std::filesystem;

namespace {

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// `mpirun -np N <this binary> <stage> --config <yaml>`; the exit code of the run.
int run_under_mpirun(int ranks, const stages::AnySpec& spec, const fs::path& config, bool quiet) {
  const std::string stage = stages::stage_name(spec);
  write_file_atomic(config, YAML::Dump(std::visit([](const auto& s) { return stages::to_yaml(s); }, spec)) + "\n");
  const fs::path self = fs::read_symlink("/proc/self/exe");
  std::string cmd = "mpirun";
  if (::geteuid() == 0) cmd += " --allow-run-as-root";
  if (ranks > hardware_threads()) cmd += " --oversubscribe";
  cmd += fmt::format(" -np {} {} {} --config {}", ranks, quote(self.string()), stage, quote(config.string()));
  if (quiet) cmd += stage == "crossval" ? " --no-progress" : " --quiet";
  spdlog::info("running: {}", cmd);
  const int rc = std::system(cmd.c_str());
  if (rc != 0) spdlog::error("`{}` failed (status {}); rerun `radclear quickstart` to resume", cmd, rc);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : kExitFailed;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

int run_quickstart(const pipeline::QuickstartSpec& q, bool quiet) {
  const auto steps = pipeline::quickstart_steps(q);
  fs::create_directories(q.out);
  auto comm = worker::make_local_communicator();
  stages::RankContext ctx;
  ctx.threads = ctx.compute_threads();
  ctx.comm = comm.get();
  ctx.show_progress = !quiet;
  runner::set_process_threads(ctx.threads);
  CancelOnSignal on_signal(ctx.cancel);

  const auto t0 = std::chrono::steady_clock::now();
  // Steps without a title (the index) continue the step before them.
  const size_t total = 1 + std::count_if(steps.begin(), steps.end(), [](const auto& s) { return !s.title.empty(); });
  int n = 0;
  for (const auto& step : steps) {
    if (!step.title.empty()) spdlog::info("== step {}/{}: {}", ++n, total, step.title);
    const auto step_t0 = std::chrono::steady_clock::now();
    if (step.done && step.done()) {
      spdlog::info("   {}", step.done_note);
    } else if (step.distributed && q.ranks > 1) {
      const int rc = run_under_mpirun(q.ranks, step.spec, q.out / (std::string(stages::stage_name(step.spec)) + ".yaml"),
                                      quiet);
      if (rc != kExitOk) return rc;
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

  spdlog::info("== step {}/{}: results", ++n, total);
  const auto& cv = std::get<stages::CrossvalSpec>(steps.back().spec);
  std::printf("\nOut-of-fold AUROC per lesion location (%s, %s features, ABMIL, 5 folds):\n%s\n", q.arch.c_str(),
              q.sampling == stages::Sampling::kLesion ? "LeCL" : "MoCo v3",
              pipeline::auroc_table(cv.out_dir / "stats.csv").c_str());
  std::printf("ROC and PR curves: %s\nattention plots:   %s/fold-*/\nper-study predictions: %s\n\n",
              (cv.out_dir / "plots").c_str(), cv.out_dir.c_str(), (cv.out_dir / "oof-preds.csv").c_str());
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
      "cross-validates ABMIL on the lesion-location labels; about 12 minutes on 2 cores. A rerun resumes.\n"
      "Example:\n  radclear quickstart --out quickstart\n  radclear quickstart --out qs2 --ranks 2");
  return [flags, quiet] { return run_quickstart(flags->resolve(), *quiet); };
}

}  // namespace radclear::cli
