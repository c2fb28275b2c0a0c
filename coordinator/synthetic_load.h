#pragma once
// Synthetic load on a coordinator, for `radclear bench coordinator` and the
// Google Benchmark in bench/: a served coordinator on a loopback port with a
// real, synced JobStore, driven by client threads over ZeroMQ the way
// worker groups drive it. Issue 20's targets: >= 10,000 durable job state
// transitions/s, `status` under 50 ms with 100,000 jobs, 1,000 workers
// heartbeating every 5 s under 5% of one core.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include <time.h>

#include "common/status.h"
#include "coordinator/scheduler.h"
#include "coordinator/server.h"

namespace radclear::coordinator {

// CPU seconds of `clock` (CLOCK_PROCESS_CPUTIME_ID, a thread's clock).
double cpu_seconds(clockid_t clock);

// `trials` x `jobs_per_trial` independent extract jobs with small payloads.
SweepSubmission flat_sweep(const std::string& sweep, int trials, int jobs_per_trial, int offset = 0);

// A coordinator on tcp://127.0.0.1:* served from its own thread until this
// object goes away (stop, then join).
class ServedCoordinator {
 public:
  explicit ServedCoordinator(const std::filesystem::path& db);
  ~ServedCoordinator();
  ServedCoordinator(const ServedCoordinator&) = delete;
  ServedCoordinator& operator=(const ServedCoordinator&) = delete;

  bool ok() const { return coordinator_ != nullptr; }
  const Status& open_status() const { return status_; }
  Coordinator& get() { return *coordinator_; }
  // CPU seconds the serving thread has used so far.
  double loop_cpu_seconds() const;

 private:
  std::unique_ptr<Coordinator> coordinator_;
  std::atomic<bool> stop_{false};
  std::thread loop_;
  Status status_ = Status::Ok();
};

struct TransitionFigures {
  int clients = 0;
  bool done_leases_next = false;
  int64_t transitions = 0;   // READY->RUNNING and RUNNING->DONE, each acknowledged after its fsync
  double seconds = 0;
  double per_second = 0;
  double loop_cpu_per_second = 0;  // transitions per CPU-second of the coordinator's thread
  double records_per_commit = 0;   // how much each fsync carried
};

// `clients` threads (worker groups), each finishing `jobs_per_client` jobs:
// lease, done (or, with `done_leases_next`, done carrying the next lease:
// what the worker loop does). `dir` holds the job table (removed after).
Result<TransitionFigures> measure_transitions(const std::filesystem::path& dir, int clients, int jobs_per_client,
                                              bool done_leases_next);

struct StatusFigures {
  int64_t jobs = 0;
  double served_ms = 0;      // a client's `status` of the whole table over ZeroMQ, median of `repeats`
  double sweep_ms = 0;       // `status SWEEP`
  double trial_ms = 0;       // `status SWEEP/TRIAL`
};

// A table of `jobs` (1000 trials), some of them leased, then `status` for
// everything, the sweep and one trial.
Result<StatusFigures> measure_status(const std::filesystem::path& dir, int64_t jobs, int repeats);

struct HeartbeatFigures {
  int workers = 0;
  double period_s = 0;
  int64_t beats = 0;
  double seconds = 0;
  double loop_core_share = 0;     // the coordinator thread's CPU / wall time
  double process_core_share = 0;  // every thread of this process (clients and both sides' ZeroMQ I/O too): an upper bound
};

// `workers` leases renewed every `period_s` for `seconds` (beats spread
// evenly over time, from 4 client connections), measuring the coordinator
// thread's CPU share in the steady state: after every worker's first beat
// (which starts its job: a synced write each), with progress in every beat
// (written in one batch every 5 s).
Result<HeartbeatFigures> measure_heartbeats(const std::filesystem::path& dir, int workers, double period_s,
                                            double seconds);

}  // namespace radclear::coordinator
