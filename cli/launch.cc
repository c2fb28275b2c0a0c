#include "cli/launch.h"

#include <iostream>
#include <memory>

#include <spdlog/spdlog.h>

#include "cli/exit_code.h"
#include "cli/signals.h"
#include "worker/comm/mpi_communicator.h"
#include "worker/mpi_scope.h"
#include "worker/runner/job_runner.h"
#include "worker/runner/process.h"

namespace radclear::cli {

int launch(const stages::AnySpec& spec, const LaunchOptions& options) {
  MpiScope mpi;
  if (mpi.world() > 1) {
    // main() configured the logger before MPI was known: add the rank prefix.
    spdlog::default_logger()->set_pattern(fmt::format("%H:%M:%S %^%l%$ [r{}/{}] %v", mpi.rank(), mpi.world()));
  }
  std::unique_ptr<worker::Communicator> comm =
      mpi.active() ? std::unique_ptr<worker::Communicator>(std::make_unique<worker::MpiCommunicator>())
                   : worker::make_local_communicator();
  stages::RankContext ctx;
  ctx.rank = comm->rank();
  ctx.world = comm->world();
  ctx.local_rank = MpiScope::local_rank();
  ctx.local_world = MpiScope::local_world();
  ctx.threads = runner::stage_threads(spec, ctx);
  ctx.comm = comm.get();
  ctx.show_progress = !options.quiet && ctx.is_root();
  runner::set_process_threads(ctx.threads);

  CancelOnSignal on_signal(ctx.cancel);
  const auto result = runner::run_stage(spec, ctx);
  if (!result.ok()) {
    spdlog::error("{}", result.status().message());
    const int code = exit_code(result.status());
    if (ctx.world > 1) mpi.abort(code);
    return code;
  }
  const runner::StageReport& report = result.value();
  if (ctx.is_root() && !report.summary.empty()) std::cout << report.summary << std::endl;
  return exit_code(report);
}

}  // namespace radclear::cli
