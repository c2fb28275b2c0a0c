// `radclear run sweep.yaml`: the embedded mode. A coordinator on a loopback
// port in a thread of this process, the sweep submitted to it, one local
// worker group (--ranks 1: this process; N > 1: an `mpirun -np N radclear
// worker` child, started again if it dies before the sweep ends) until
// every job of the sweep is DONE, FAILED or CANCELLED; then the sweep
// report. Exit code 0 when every job is DONE, 1 otherwise, 3 on Ctrl-C.
//
// `radclear submit sweep.yaml --coordinator tcp://...`: the same sweep sent
// to a running coordinator.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/client_flags.h"
#include "cli/command.h"
#include "cli/exit_code.h"
#include "cli/signals.h"
#include "cli/sweep_submit.h"
#include "common/atomic_file.h"
#include "common/check.h"
#include "coordinator/server.h"
#include "coordinator/sweep_report.h"
#include "worker/runner/group_worker.h"

extern char** environ;

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

// True when every job of `sweep` is terminal; `all_done` when all are DONE.
bool sweep_finished(const coordinator::StatusReport& r, bool* all_done) {
  if (r.sweeps.empty()) return false;
  const auto& c = r.sweeps[0].counts;
  using coordinator::JobState;
  const int64_t terminal = c.of(JobState::kDone) + c.of(JobState::kFailed) + c.of(JobState::kCancelled);
  *all_done = c.of(JobState::kDone) == c.total;
  return c.total > 0 && terminal == c.total;
}

// A child process running argv; -1 on failure.
pid_t spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  return pid;
}

}  // namespace

Runner setup_run(CLI::App& app) {
  struct Flags {
    fs::path sweep;
    int ranks = 1;
    fs::path db, report;
    double lease_ttl_s = 30;
    double heartbeat_s = 2;
    std::string launcher = "mpirun";
    bool quiet = false;
  };
  auto f = std::make_shared<Flags>();
  app.add_option("sweep", f->sweep, "Sweep YAML (coordinator/sweep.h)")->required();
  app.add_option("--ranks", f->ranks, "Ranks of the local worker group (> 1: an mpirun child)")->capture_default_str();
  app.add_option("--db", f->db, "Coordinator DB (default: <data.out>/coordinator.db; a rerun resumes the sweep)");
  app.add_option("--report", f->report, "Sweep report CSV (default: <data.out>/<sweep>-report.csv)");
  app.add_option("--lease-ttl", f->lease_ttl_s, "Seconds a lease lives without a heartbeat")->capture_default_str();
  app.add_option("--heartbeat", f->heartbeat_s, "Seconds between the worker's heartbeats")->capture_default_str();
  app.add_option("--launcher", f->launcher, "MPI launcher for --ranks > 1")->capture_default_str();
  app.add_flag("--quiet", f->quiet, "No progress bars");
  app.footer(
      "Examples:\n"
      "  radclear run sweep.yaml\n"
      "  radclear run sweep.yaml --ranks 4 --db runs/sweep.db\n");
  return [f] {
    auto prepared = prepare_sweep(f->sweep);
    if (!prepared.ok()) return fail(prepared.status());
    const PreparedSweep& p = prepared.value();
    print_prepared(p);
    if (f->ranks < 1) return fail(Status::InvalidArgument("--ranks must be >= 1"));

    coordinator::CoordinatorOptions co;
    co.db = f->db.empty() ? p.out / "coordinator.db" : f->db;
    co.bind = "tcp://127.0.0.1:*";
    co.scheduler.lease_ttl_ms = static_cast<int64_t>(f->lease_ttl_s * 1000);
    std::error_code ec;
    fs::create_directories(co.db.parent_path(), ec);
    auto coord = coordinator::Coordinator::Open(co);
    if (!coord.ok()) return fail(coord.status());
    const std::string endpoint = coord.value()->endpoint();
    std::atomic<bool> coord_stop{false};
    Status served = Status::Ok();
    std::thread server([&] { served = coord.value()->Run(coord_stop); });
    struct StopServer {
      std::atomic<bool>& stop;
      std::thread& thread;
      ~StopServer() {
        stop = true;
        thread.join();
      }
    } stop_server{coord_stop, server};

    coordinator::ClientOptions client_options;
    client_options.endpoint = endpoint;
    coordinator::CoordinatorClient client(client_options);
    auto submitted = client.Submit(p.submission);
    if (!submitted.ok()) return fail(submitted.status());
    spdlog::info("coordinator {} (db {}): {} new job(s), {} shared with earlier submissions, {} requeued", endpoint,
                 co.db.string(), submitted.value().jobs_new, submitted.value().jobs_shared,
                 submitted.value().jobs_rearmed);

    CancelToken interrupted;
    CancelOnSignal on_signal(interrupted);
    std::atomic<bool> stop{false}, finished{false}, all_done{false};
    std::thread monitor([&] {
      coordinator::CoordinatorClient watch(client_options);
      while (!stop.load()) {
        if (interrupted.requested()) stop = true;
        auto r = watch.Status(p.spec.name);
        bool done = false;
        if (r.ok() && sweep_finished(r.value(), &done)) {
          all_done = done;
          finished = true;
          stop = true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
      }
    });

    Status worker_status = Status::Ok();
    if (f->ranks == 1) {
      std::unique_ptr<worker::Communicator> comm = worker::make_local_communicator();
      stages::RankContext base;
      base.comm = comm.get();
      base.show_progress = !f->quiet;
      runner::GroupWorkerOptions wo;
      wo.loop.client = client_options;
      wo.loop.group.id = fmt::format("local:{}", ::getpid());
      wo.loop.heartbeat_ms = static_cast<int64_t>(f->heartbeat_s * 1000);
      wo.loop.idle_poll_ms = 200;
      auto stats = runner::serve_group(wo, base, stop);
      if (!stats.ok()) worker_status = stats.status();
    } else {
      char self[4096] = {};
      const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
      const std::string exe = n > 0 ? std::string(self, n) : std::string("radclear");
      int starts = 0;
      while (!stop.load()) {
        if (starts == 3) {
          worker_status = Status::Internal("the worker group died 3 times; see its log above");
          break;
        }
        ++starts;
        const pid_t child = spawn({f->launcher, "-np", std::to_string(f->ranks), exe, "worker", "--coordinator",
                                   endpoint, "--heartbeat", fmt::format("{}", f->heartbeat_s),
                                   "--group", fmt::format("local:{}:{}", ::getpid(), starts), "--quiet"});
        if (child < 0) {
          worker_status = Status::IoError(fmt::format("cannot start {} (is MPI installed?)", f->launcher));
          break;
        }
        int wstatus = 0;
        while (waitpid(child, &wstatus, WNOHANG) == 0) {
          if (stop.load()) {
            kill(child, SIGTERM);  // the launcher forwards it to the ranks
            waitpid(child, &wstatus, 0);
            break;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        if (!stop.load()) spdlog::warn("the worker group exited before the sweep ended; starting it again");
      }
    }
    stop = true;
    monitor.join();
    if (!worker_status.ok()) spdlog::error("{}", worker_status.message());

    auto final_status = client.Status(p.spec.name);
    if (final_status.ok()) std::cout << coordinator::format_status(final_status.value());
    const auto rows = coordinator::collect_sweep_aurocs(p.submission);
    const fs::path report = f->report.empty() ? p.out / (p.spec.name + "-report.csv") : f->report;
    try {
      write_file_atomic(report, coordinator::sweep_report_csv(rows));
    } catch (const Error& e) {
      spdlog::error("{}", e.what());
    }
    std::cout << "\nsweep " << p.spec.name << ": AUROC per trial (" << report.string() << ")\n"
              << coordinator::sweep_report_table(rows) << std::flush;
    if (interrupted.requested()) return kExitCancelled;
    return finished.load() && all_done.load() && worker_status.ok() ? kExitOk : kExitFailed;
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
