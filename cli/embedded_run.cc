#include "cli/embedded_run.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "cli/exit_code.h"
#include "cli/signals.h"
#include "common/atomic_file.h"
#include "common/check.h"
#include "common/parallel.h"
#include "coordinator/server.h"
#include "coordinator/sweep_plot.h"
#include "worker/runner/group_worker.h"

extern char** environ;

namespace radclear::cli {

namespace fs = std::filesystem;

namespace {

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

// Open MPI's launchers refuse root and more ranks than cores unless told.
bool is_open_mpi_launcher(const std::string& launcher) {
  const std::string name = fs::path(launcher).filename().string();
  return name == "mpirun" || name == "mpiexec";
}

EmbeddedRunResult fail_run(const Status& s) {
  spdlog::error("{}", s.message());
  return EmbeddedRunResult{exit_code(s), {}, {}};
}

}  // namespace

EmbeddedRunResult run_embedded(const PreparedSweep& p, const EmbeddedRunOptions& o) {
  if (o.ranks < 1) return fail_run(Status::InvalidArgument("--ranks must be >= 1"));
  EmbeddedRunResult result;

  coordinator::CoordinatorOptions co;
  co.db = o.db.empty() ? p.out / "coordinator.db" : o.db;
  co.bind = "tcp://127.0.0.1:*";
  co.scheduler.lease_ttl_ms = static_cast<int64_t>(o.lease_ttl_s * 1000);
  std::error_code ec;
  fs::create_directories(co.db.parent_path(), ec);
  auto coord = coordinator::Coordinator::Open(co);
  if (!coord.ok()) return fail_run(coord.status());
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
  if (!submitted.ok()) return fail_run(submitted.status());
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
  if (o.ranks == 1) {
    std::unique_ptr<worker::Communicator> comm = worker::make_local_communicator();
    stages::RankContext base;
    base.comm = comm.get();
    base.show_progress = !o.quiet;
    runner::GroupWorkerOptions wo;
    wo.loop.client = client_options;
    wo.loop.group.id = fmt::format("local:{}", ::getpid());
    wo.loop.heartbeat_ms = static_cast<int64_t>(o.heartbeat_s * 1000);
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
      std::vector<std::string> args = {o.launcher, "-np", std::to_string(o.ranks)};
      if (is_open_mpi_launcher(o.launcher)) {
        if (::geteuid() == 0) args.push_back("--allow-run-as-root");
        if (o.ranks > hardware_threads()) args.push_back("--oversubscribe");
      }
      for (std::string a : {exe, std::string("worker"), std::string("--coordinator"), endpoint,
                            std::string("--heartbeat"), fmt::format("{}", o.heartbeat_s), std::string("--group"),
                            fmt::format("local:{}:{}", ::getpid(), starts), std::string("--quiet")})
        args.push_back(std::move(a));
      spdlog::info("worker group: {}", fmt::join(args, " "));
      const pid_t child = spawn(args);
      if (child < 0) {
        worker_status = Status::IoError(fmt::format("cannot start {} (is MPI installed?)", o.launcher));
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
  const fs::path report = o.report.empty() ? p.out / (p.spec.name + "-report.csv") : o.report;
  result.report = report;
  fs::path plot = report;
  plot.replace_extension(".svg");
  try {
    write_file_atomic(report, coordinator::sweep_report_csv(rows));
    write_file_atomic(plot, coordinator::render_forest_svg(rows, "sweep " + p.spec.name));
  } catch (const Error& e) {
    spdlog::error("{}", e.what());
  }
  std::cout << "\nsweep " << p.spec.name << ": AUROC per trial (" << report.string() << ", plot "
            << plot.string() << ")\n"
            << coordinator::sweep_report_table(rows) << std::flush;
  result.aurocs = rows;
  if (interrupted.requested())
    result.exit_code = kExitCancelled;
  else
    result.exit_code = finished.load() && all_done.load() && worker_status.ok() ? kExitOk : kExitFailed;
  return result;
}

}  // namespace radclear::cli
