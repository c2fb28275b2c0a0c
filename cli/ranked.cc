#include "cli/ranked.h"

#include <spdlog/spdlog.h>

#include "common/check.h"

namespace radclear::cli {

int run_ranked(const std::function<int(const MpiScope&)>& fn) {
  MpiScope mpi;
  if (mpi.world() > 1) {
    // main() configured the logger before MPI was known: add the rank
    // prefix that setup_logging() would have used.
    spdlog::default_logger()->set_pattern(fmt::format("%H:%M:%S %^%l%$ [r{}/{}] %v", mpi.rank(), mpi.world()));
  }
  try {
    return fn(mpi);
  } catch (const InvalidArgument& e) {
    if (mpi.world() <= 1) throw;
    spdlog::error("{}", e.what());
    mpi.abort(2);
  } catch (const std::exception& e) {
    if (mpi.world() <= 1) throw;
    spdlog::error("{}", e.what());
    mpi.abort(1);
  }
}

}  // namespace radclear::cli
