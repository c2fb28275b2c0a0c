// `radclear worker --coordinator tcp://HOST:PORT`: the ranks of this
// process's MPI world (mpirun / srun; or this process alone) form one
// worker group and run the jobs the coordinator leases to it
// (worker/runner/group_worker.h). Ends after --exit-when-idle seconds
// without a job, or on SIGINT/SIGTERM (the running job is cancelled with
// resumable outputs; its lease expires and it is requeued).
#include <unistd.h>

#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/client_flags.h"
#include "cli/command.h"
#include "cli/exit_code.h"
#include "cli/signals.h"
#include "worker/comm/mpi_communicator.h"
#include "worker/mpi_scope.h"
#include "worker/runner/group_worker.h"

namespace radclear::cli {

namespace {

std::string default_group_id() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "host");
  return fmt::format("{}:{}", host, ::getpid());
}

}  // namespace

Runner setup_worker(CLI::App& app) {
  struct Flags {
    ClientFlags client;
    double exit_when_idle_s = -1;
    double heartbeat_s = 5;
    std::string group;
    bool quiet = false;
  };
  auto f = std::make_shared<Flags>();
  f->client.add(app);
  app.add_option("--exit-when-idle", f->exit_when_idle_s, "Stop after this many seconds without a job (< 0: never)")
      ->capture_default_str();
  app.add_option("--heartbeat", f->heartbeat_s, "Seconds between lease renewals (the coordinator's --lease-ttl "
                                                "should be several of these)")
      ->capture_default_str();
  app.add_option("--group", f->group, "This group's id (default: host:pid of rank 0)");
  app.add_flag("--quiet", f->quiet, "No progress bars");
  app.footer(
      "Examples:\n"
      "  radclear worker --coordinator tcp://login1:5555\n"
      "  mpirun -np 4 radclear worker --coordinator tcp://login1:5555 --exit-when-idle 600\n"
      "  srun radclear worker --coordinator tcp://login1:5555   # inside an sbatch script\n");
  return [f] {
    auto client = f->client.options(5000, 3);
    if (!client.ok()) {
      spdlog::error("{}", client.status().message());
      return exit_code(client.status());
    }
    MpiScope mpi;
    std::unique_ptr<worker::Communicator> comm =
        mpi.active() ? std::unique_ptr<worker::Communicator>(std::make_unique<worker::MpiCommunicator>())
                     : worker::make_local_communicator();
    if (mpi.world() > 1) {
      spdlog::default_logger()->set_pattern(fmt::format("%H:%M:%S %^%l%$ [r{}/{}] %v", mpi.rank(), mpi.world()));
    }
    stages::RankContext base;
    base.rank = comm->rank();
    base.world = comm->world();
    base.local_rank = MpiScope::local_rank();
    base.local_world = MpiScope::local_world();
    base.comm = comm.get();
    base.show_progress = !f->quiet && base.is_root();

    runner::GroupWorkerOptions options;
    options.loop.client = client.value();
    options.loop.group.id = f->group.empty() ? default_group_id() : f->group;
    options.loop.group.ranks = base.world;
    options.loop.heartbeat_ms = static_cast<int64_t>(f->heartbeat_s * 1000);
    options.loop.exit_when_idle_ms = f->exit_when_idle_s < 0 ? -1 : static_cast<int64_t>(f->exit_when_idle_s * 1000);
    options.abort_world = [&mpi](int code) { mpi.abort(code); };
    if (base.is_root()) {
      spdlog::info("worker group {} ({} rank(s)) serving {}", options.loop.group.id, base.world,
                   options.loop.client.endpoint);
    }
    CancelToken stop;
    CancelOnSignal on_signal(stop);
    auto stats = runner::serve_group(options, base, *stop.flag());
    if (!stats.ok()) {
      spdlog::error("{}", stats.status().message());
      return exit_code(stats.status());
    }
    if (base.is_root()) {
      spdlog::info("worker group {}: {} job(s) done, {} failed, {} lost", options.loop.group.id,
                   stats.value().jobs_done, stats.value().jobs_failed, stats.value().jobs_lost);
    }
    return stop.requested() ? kExitCancelled : kExitOk;
  };
}

}  // namespace radclear::cli
