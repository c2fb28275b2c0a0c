// `radclear run sweep.yaml`: the embedded mode (cli/embedded_run.h): a
// coordinator, the sweep and one local worker group in one process tree.
// Exit code 0 when every job is DONE, 1 otherwise, 3 on Ctrl-C.
//
// `radclear submit sweep.yaml --coordinator tcp://...`: the same sweep sent
// to a running coordinator.
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/client_flags.h"
#include "cli/command.h"
#include "cli/embedded_run.h"
#include "cli/exit_code.h"
#include "cli/sweep_submit.h"
#include "coordinator/client.h"

namespace radclear::cli {

namespace fs = std::filesystem;

namespace {

int fail(const Status& s) {
  spdlog::error("{}", s.message());
  return exit_code(s);
}

void print_prepared(const PreparedSweep& p) {
  spdlog::info("sweep {}: {} trial(s), {} distinct job(s); outputs under {}", p.spec.name,
               p.submission.trials.size(), p.jobs, p.out.string());
}

}  // namespace

Runner setup_run(CLI::App& app) {
  struct Flags {
    fs::path sweep;
    EmbeddedRunOptions run;
  };
  auto f = std::make_shared<Flags>();
  app.add_option("sweep", f->sweep, "Sweep YAML (coordinator/sweep.h)")->required();
  app.add_option("--ranks", f->run.ranks, "Ranks of the local worker group (> 1: an mpirun child)")->capture_default_str();
  app.add_option("--db", f->run.db, "Coordinator DB (default: <data.out>/coordinator.db; a rerun resumes the sweep)");
  app.add_option("--report", f->run.report,
                 "Sweep report CSV (default: <data.out>/<sweep>-report.csv); the plot is written beside it as .svg");
  app.add_option("--lease-ttl", f->run.lease_ttl_s, "Seconds a lease lives without a heartbeat")->capture_default_str();
  app.add_option("--heartbeat", f->run.heartbeat_s, "Seconds between the worker's heartbeats")->capture_default_str();
  app.add_option("--launcher", f->run.launcher, "MPI launcher for --ranks > 1")->capture_default_str();
  app.add_flag("--quiet", f->run.quiet, "No progress bars");
  app.footer(
      "Examples:\n"
      "  radclear run sweep.yaml\n"
      "  radclear run sweep.yaml --ranks 4 --db runs/sweep.db\n");
  return [f] {
    auto prepared = prepare_sweep(f->sweep);
    if (!prepared.ok()) return fail(prepared.status());
    print_prepared(prepared.value());
    return run_embedded(prepared.value(), f->run).exit_code;
  };
}

Runner setup_submit(CLI::App& app) {
  struct Flags {
    ClientFlags client;
    fs::path sweep;
    bool dry_run = false;
  };
  auto f = std::make_shared<Flags>();
  app.add_option("sweep", f->sweep, "Sweep YAML (coordinator/sweep.h)")->required();
  f->client.add(app);
  app.add_flag("--dry-run", f->dry_run, "Print the jobs and their payloads instead of submitting");
  return [f] {
    auto prepared = prepare_sweep(f->sweep);
    if (!prepared.ok()) return fail(prepared.status());
    const PreparedSweep& p = prepared.value();
    print_prepared(p);
    if (f->dry_run) {
      for (const auto& t : p.submission.trials) {
        std::cout << "# trial " << t.id << "\n";
        for (const auto& j : t.jobs) std::cout << "--- # " << j.id() << "\n" << j.payload;
      }
      return kExitOk;
    }
    auto options = f->client.options(10000, 3);
    if (!options.ok()) return fail(options.status());
    coordinator::CoordinatorClient client(options.value());
    auto r = client.Submit(p.submission);
    if (!r.ok()) return fail(r.status());
    std::cout << fmt::format("submitted sweep {}: {} new job(s), {} shared, {} requeued\n", r.value().sweep,
                             r.value().jobs_new, r.value().jobs_shared, r.value().jobs_rearmed);
    return kExitOk;
  };
}

}  // namespace radclear::cli
