#pragma once
// A worker group serving a coordinator: the ranks of one MPI world (or one
// process) run the jobs the coordinator leases to the group. Every rank
// calls serve_group(). Rank 0 runs coordinator::run_worker_loop; for each
// grant it decodes and validates the payload first (a bad payload is
// reported as failed without involving the other ranks), broadcasts it
// (an int64 length, then the bytes), and every rank runs it through the job
// runner. Rank 0 turns the stage's progress into JobControl::report and a
// lost lease, a cancel or `stop` into the job's cancel token. When the loop
// ends, rank 0 broadcasts a length of 0 and every rank returns.
//
// Failure policy (as cli/launch.cc): in a world of several ranks, a rank
// whose job fails after the broadcast ends the world through `abort_world`
// (MPI_Abort), after rank 0 reported the failure when it is rank 0's, so no
// rank is left inside a collective; the lease then expires and the job is
// requeued. In a world of one a failed job is reported and the loop goes on.
#include <atomic>
#include <functional>

#include "common/status.h"
#include "coordinator/worker_loop.h"
#include "stages/rank_context.h"
#include "worker/comm/communicator.h"

namespace radclear::runner {

struct GroupWorkerOptions {
  // Rank 0's loop: the coordinator endpoint, group id and size, heartbeat,
  // idle exit. Ignored on other ranks.
  coordinator::WorkerLoopOptions loop;
  // Ends every rank (MPI_Abort with the code). Required when world > 1.
  std::function<void(int)> abort_world;
};

// `base` describes this rank (rank, world, local rank/world, threads,
// comm, show_progress); each job gets a copy with its own cancel token and
// progress sink. Returns rank 0's loop statistics (zeros on other ranks).
Result<coordinator::WorkerLoopStats> serve_group(const GroupWorkerOptions& options, const stages::RankContext& base,
                                                 const std::atomic<bool>& stop);

}  // namespace radclear::runner
