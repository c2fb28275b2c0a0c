#pragma once
// The loop a worker group's rank 0 runs: lease a job, run it through a
// callback while a heartbeat thread renews the lease and reports progress,
// then report done or fail; again until stopped. The coordinator being
// down or restarting only pauses the loop (requests are retried), so a
// running worker reconnects without a restart. The job runner plugs in as
// the callback; what the other ranks do is the callback's business.
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "coordinator/client.h"
#include "coordinator/scheduler.h"

namespace radclear::coordinator {

// Handed to the job: report progress, learn when to give up. Thread-safe.
class JobControl {
 public:
  void report(double fraction, double rate, const std::string& unit);
  // True once the lease is lost (expired and granted elsewhere) or the job
  // was cancelled: the job should stop soon; its result will not be recorded.
  bool cancelled() const { return cancelled_.load(); }

  // For the loop.
  Progress progress() const;
  void cancel() { cancelled_ = true; }

 private:
  mutable std::mutex mu_;
  Progress progress_;
  std::atomic<bool> cancelled_{false};
};

// Runs one job; returns its outputs (paths, report lines) or why it failed.
using JobFn = std::function<Result<std::vector<std::string>>(const LeaseGrant&, JobControl&)>;

struct WorkerLoopOptions {
  ClientOptions client;
  GroupInfo group;
  // Heartbeat period. Default: 5 s (the lease ttl should be several of these).
  int64_t heartbeat_ms = 5000;
  // Pause after "no job" or an unreachable coordinator. Default: 1 s.
  int64_t idle_poll_ms = 1000;
  // Return after this long without a job; < 0: never. Default: -1.
  int64_t exit_when_idle_ms = -1;
  // Called after each job's done/fail is answered (recorded: the
  // coordinator recorded it now; false: a repeat or a lost lease).
  std::function<void(const LeaseGrant&, bool recorded)> on_reported;
};

struct WorkerLoopStats {
  int64_t jobs_done = 0;    // recorded as DONE
  int64_t jobs_failed = 0;  // reported as failed
  int64_t jobs_lost = 0;    // lease lost or cancelled before the end
};

// Runs until `stop` is set or the idle limit passes. Errors other than an
// unreachable coordinator (e.g. a refused CURVE role) end the loop.
Result<WorkerLoopStats> run_worker_loop(const WorkerLoopOptions& options, const JobFn& job,
                                        const std::atomic<bool>& stop);

}  // namespace radclear::coordinator
