#pragma once
// Coordinator: the scheduler behind a ZeroMQ ROUTER socket. One thread runs
// Run(): poll, take up to `max_round` requests, apply them to the
// Scheduler, expire leases when due, Commit() once (one fsync for the whole
// round: group commit), then send the round's replies. A reply is never
// sent before the change it reports is on disk; if the commit fails the
// whole round is answered with the error.
//
// Frames that are not our protocol (bad magic, wrong shape), another
// protocol version, unknown kinds, oversized or malformed bodies are
// refused and counted (ServerCounters); a wrong version and a malformed
// body get an error reply, junk is dropped. Nothing a peer sends can stop
// the loop.
//
// Binding: a loopback endpoint by default. A non-loopback bind needs CURVE
// keys and an authorized-keys file; Open refuses it otherwise and says how.
#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/status.h"
#include "coordinator/auth.h"
#include "coordinator/protocol.h"
#include "coordinator/scheduler.h"

namespace zmq {
class context_t;
class socket_t;
}  // namespace zmq

namespace radclear::coordinator {

struct CoordinatorOptions {
  // The coordinator's RocksDB directory (JobStore). Required.
  std::filesystem::path db;
  // ZeroMQ endpoint; "tcp://127.0.0.1:*" picks a free port (see endpoint()).
  // Default: tcp://127.0.0.1:5555.
  std::string bind = "tcp://127.0.0.1:5555";
  SchedulerOptions scheduler;
  // Larger bodies are refused and counted. Default: kDefaultMaxBodyBytes.
  size_t max_body_bytes = kDefaultMaxBodyBytes;
  // How often leases are checked for expiry. Default: 200 ms.
  int64_t expiry_tick_ms = 200;
  // How often heartbeat progress is written when nothing else is. Default: 5 s.
  int64_t progress_flush_ms = 5000;
  // Requests applied per group commit at most. Default: 4096.
  int max_round = 4096;
  // fsync every commit. Default: true (benchmarks compare).
  bool sync = true;
  // CURVE server keys and the client keys it admits; required together for
  // a non-loopback bind, optional on loopback.
  std::optional<CurveKeys> curve;
  std::filesystem::path authorized_keys;
};

struct ServerCounters {
  int64_t requests = 0;  // well-formed requests handled
  int64_t replies = 0;
  int64_t rounds = 0;
  int64_t commit_failures = 0;
  int64_t refused_role = 0;  // authenticated, but the role may not do that
  int64_t report_grants = 0;  // jobs leased inside a done/fail reply (no lease round trip)
  int64_t auth_denied = 0;   // CURVE handshakes ZAP refused
  std::array<int64_t, 7> rejected{};  // by FrameError
  int64_t rejected_total() const {
    int64_t n = 0;
    for (int64_t r : rejected) n += r;
    return n;
  }
  SchedulerCounters scheduler;
};

class Coordinator {
 public:
  // Opens the DB, rebuilds the table (Scheduler::Load), binds.
  // FailedPrecondition: a non-loopback bind without authentication.
  // IoError: the DB is held by another coordinator, or the bind failed
  // (the message names the endpoint).
  static Result<std::unique_ptr<Coordinator>> Open(const CoordinatorOptions& options);
  ~Coordinator();

  // The bound endpoint with the real port (when bind asked for "*").
  const std::string& endpoint() const { return endpoint_; }

  // Serves until `stop` becomes true (checked at least every 100 ms).
  // Returns OK on stop; an error only when the DB fails and the table cannot
  // be rebuilt from it.
  Status Run(const std::atomic<bool>& stop);

  // A copy of the counters as of the last round (safe from any thread).
  ServerCounters counters() const;

 private:
  Coordinator() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string endpoint_;
};

}  // namespace radclear::coordinator
