#pragma once
// What a stage knows of where it runs: one RankContext per rank, built once
// by the launcher (the CLI, the quickstart pipeline, the coordinator's
// worker loop) and passed to every stage as
//
//   Result<XReport> run_x(const XSpec&, RankContext&);
//
// Stages set no process globals: the launcher sets torch / BLAS threads to
// `threads` before the first stage (worker/process.h) and stages only read it.
#include <cstdint>
#include <algorithm>
#include <functional>
#include <string>
#include <thread>

#include "common/cancel.h"

namespace radclear::worker {
class Communicator;
}

namespace radclear::stages {

// One progress report of a stage on this rank, for a sink other than the
// terminal (the coordinator's job table).
struct ProgressEvent {
  std::string stage;  // "pretrain"
  std::string unit;   // "steps", "studies", "folds"
  int64_t done = 0;
  int64_t total = 0;  // 0 when unknown
};
using ProgressSink = std::function<void(const ProgressEvent&)>;

struct RankContext {
  int rank = 0;
  int world = 1;
  int local_rank = 0;   // rank among the ranks on this node
  int local_world = 1;  // ranks on this node
  // Compute threads of this rank; 0 = the rank's share of the node's cores
  // (cores / local_world), see compute_threads().
  int threads = 0;
  // The group's communicator; never null while a stage runs (a world of one
  // uses worker::make_local_communicator()).
  worker::Communicator* comm = nullptr;
  bool show_progress = true;  // rank 0 draws progress bars on stderr
  ProgressSink progress;      // optional, called by rank 0
  CancelToken cancel;

  bool is_root() const { return rank == 0; }
  int compute_threads() const {
    if (threads > 0) return threads;
    const int cores = static_cast<int>(std::thread::hardware_concurrency());
    return std::max(1, cores / std::max(1, local_world));
  }
  void report(const std::string& stage, const std::string& unit, int64_t done, int64_t total) const {
    if (progress && is_root()) progress(ProgressEvent{stage, unit, done, total});
  }
};

// How a stage ended when it did not fail.
enum class Outcome {
  kDone,       // every output is complete
  kCancelled,  // stopped at the cancel token; outputs are resumable by a rerun
};

}  // namespace radclear::stages
