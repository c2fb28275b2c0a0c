#pragma once
// CoordinatorClient: requests to a coordinator over a DEALER socket, one at
// a time, each with a timeout. A request that times out is sent again on a
// fresh socket (ZeroMQ's "lazy pirate"): a restarted coordinator is found
// again without restarting the client, and a reply that belongs to an
// abandoned try is recognised by its request id and dropped. Retrying is
// safe because every request is idempotent on the coordinator: a lease
// carries a token, done/fail carry the lease epoch, submit is keyed by
// content, cancel/retry of a finished target change nothing.
//
// Not thread-safe: one client per thread (a worker group's rank 0 owns one).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"
#include "coordinator/auth.h"
#include "coordinator/protocol.h"
#include "coordinator/scheduler.h"
#include "coordinator/status_report.h"

namespace zmq {
class context_t;
class socket_t;
}  // namespace zmq

namespace radclear::coordinator {

struct ClientOptions {
  // The coordinator, e.g. tcp://127.0.0.1:5555. Required.
  std::string endpoint;
  // How long one try waits for its reply. Default: 5 s.
  int64_t request_timeout_ms = 5000;
  // Tries per request (the first included). Default: 3.
  int tries = 3;
  // CURVE: this client's keys and the coordinator's public key. Both or
  // neither; needed when the coordinator runs with CURVE.
  std::optional<CurveKeys> curve;
  std::string server_public_key;
};

class CoordinatorClient {
 public:
  explicit CoordinatorClient(ClientOptions options);
  ~CoordinatorClient();
  CoordinatorClient(const CoordinatorClient&) = delete;
  CoordinatorClient& operator=(const CoordinatorClient&) = delete;

  const std::string& endpoint() const { return options_.endpoint; }

  // Each returns the coordinator's answer, or IoError when no reply came
  // after every try (the message names the endpoint and what to check).
  Result<std::optional<LeaseGrant>> Lease(const GroupInfo& group, const std::string& token);
  Result<std::vector<BeatReply>> Heartbeat(const GroupInfo& group, const std::vector<Beat>& beats);
  Result<Recorded> Done(const std::string& job_id, uint64_t epoch, const std::vector<std::string>& outputs);
  Result<Recorded> Fail(const std::string& job_id, uint64_t epoch, const std::string& error);
  // done/fail that also ask for the group's next job in the same round trip
  // (`next`); see ReportReply for how the answer reads.
  Result<ReportReply> Done(const std::string& job_id, uint64_t epoch, const std::vector<std::string>& outputs,
                           const LeaseRequest& next);
  Result<ReportReply> Fail(const std::string& job_id, uint64_t epoch, const std::string& error,
                           const LeaseRequest& next);
  Result<SubmitResult> Submit(const SweepSubmission& sweep);
  Result<StatusReport> Status(const std::string& query);
  Result<int64_t> Cancel(const std::string& target);
  Result<int64_t> Retry(const std::string& target);

  // One request of any kind; the reply's result (OK) or its error.
  Result<nlohmann::json> Call(MsgKind kind, const nlohmann::json& body);

  // Tries that timed out so far (for tests and logs).
  int64_t timeouts() const { return timeouts_; }

 private:
  void reconnect();
  ClientOptions options_;
  std::unique_ptr<zmq::context_t> ctx_;
  std::unique_ptr<zmq::socket_t> sock_;
  uint32_t next_request_ = 1;
  int64_t timeouts_ = 0;
};

}  // namespace radclear::coordinator
