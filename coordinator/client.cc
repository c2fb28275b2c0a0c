#include "coordinator/client.h"

#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/check.h"
#include "coordinator/job_json.h"

namespace radclear::coordinator {

using nlohmann::json;

CoordinatorClient::CoordinatorClient(ClientOptions options)
    : options_(std::move(options)), ctx_(std::make_unique<zmq::context_t>()) {}

CoordinatorClient::~CoordinatorClient() {
  sock_.reset();
  ctx_.reset();
}

void CoordinatorClient::reconnect() {
  sock_ = std::make_unique<zmq::socket_t>(*ctx_, zmq::socket_type::dealer);
  // Unsent requests of an abandoned try must not keep a closing socket alive.
  sock_->set(zmq::sockopt::linger, 0);
  sock_->set(zmq::sockopt::reconnect_ivl, 100);
  sock_->set(zmq::sockopt::reconnect_ivl_max, 2000);
  if (options_.curve) {
    sock_->set(zmq::sockopt::curve_serverkey, options_.server_public_key);
    sock_->set(zmq::sockopt::curve_publickey, options_.curve->public_key);
    sock_->set(zmq::sockopt::curve_secretkey, options_.curve->secret_key);
  }
  sock_->connect(options_.endpoint);
}

Result<json> CoordinatorClient::Call(MsgKind kind, const json& body) {
  const uint32_t id = next_request_++;
  const std::string header = encode_header(Header{kProtocolVersion, kind, id});
  const std::string payload = body.dump();
  const int tries = std::max(1, options_.tries);
  for (int attempt = 0; attempt < tries; ++attempt) {
    try {
      if (!sock_) reconnect();
      // DEALER queues the message until the connection is up; a timeout
      // below covers a coordinator that is down.
      if (!sock_->send(zmq::buffer(header), zmq::send_flags::sndmore | zmq::send_flags::dontwait) ||
          !sock_->send(zmq::buffer(payload), zmq::send_flags::dontwait)) {
        sock_.reset();
        continue;
      }
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.request_timeout_ms);
      while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        zmq::pollitem_t item{static_cast<void*>(*sock_), 0, ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, left);
        if (!(item.revents & ZMQ_POLLIN)) continue;
        std::vector<zmq::message_t> frames;
        if (!zmq::recv_multipart(*sock_, std::back_inserter(frames), zmq::recv_flags::dontwait)) continue;
        std::vector<std::string_view> views;
        for (const auto& f : frames) views.push_back(f.to_string_view());
        DecodedMessage m = decode_message(views, kDefaultMaxBodyBytes);
        if (m.error != FrameError::kNone || m.header.kind != MsgKind::kReply)
          return radclear::Status::Corruption(fmt::format("coordinator {} sent an unreadable reply: {}: {}", options_.endpoint,
                                                frame_error_name(m.error), m.detail));
        if (m.header.request_id != id) continue;  // the answer to an abandoned try
        json result;
        radclear::Status s = parse_reply(m.body, &result);
        if (!s.ok()) return s;
        return result;
      }
    } catch (const zmq::error_t& e) {
      return radclear::Status::IoError(fmt::format("coordinator {}: {}", options_.endpoint, e.what()));
    }
    ++timeouts_;
    sock_.reset();  // lazy pirate: a fresh socket for the next try
  }
  return radclear::Status::IoError(fmt::format(
      "no reply from the coordinator at {} to {} after {} tries of {} ms (is `radclear coordinator` running "
      "there? does it need CURVE keys?)",
      options_.endpoint, msg_kind_name(kind), tries, options_.request_timeout_ms));
}

namespace {

template <typename T>
Result<T> decode(Result<json> r) {
  if (!r.ok()) return r.status();
  try {
    return r.value().get<T>();
  } catch (const std::exception& e) {
    return radclear::Status::Corruption(std::string("coordinator reply does not decode: ") + e.what());
  }
}

}  // namespace

Result<std::optional<LeaseGrant>> CoordinatorClient::Lease(const GroupInfo& group, const std::string& token) {
  auto r = Call(MsgKind::kLease, json(LeaseRequest{group, token}));
  if (!r.ok()) return r.status();
  if (r.value().is_null()) return std::optional<LeaseGrant>();
  auto grant = decode<LeaseGrant>(std::move(r));
  if (!grant.ok()) return grant.status();
  return std::optional<LeaseGrant>(std::move(grant).value());
}

Result<std::vector<BeatReply>> CoordinatorClient::Heartbeat(const GroupInfo& group, const std::vector<Beat>& beats) {
  return decode<std::vector<BeatReply>>(Call(MsgKind::kHeartbeat, json(HeartbeatRequest{group, beats})));
}

Result<Recorded> CoordinatorClient::Done(const std::string& job_id, uint64_t epoch,
                                         const std::vector<std::string>& outputs) {
  return decode<Recorded>(Call(MsgKind::kDone, json(DoneRequest{job_id, epoch, outputs, std::nullopt})));
}

Result<Recorded> CoordinatorClient::Fail(const std::string& job_id, uint64_t epoch, const std::string& error) {
  return decode<Recorded>(Call(MsgKind::kFail, json(FailRequest{job_id, epoch, error, std::nullopt})));
}

Result<ReportReply> CoordinatorClient::Done(const std::string& job_id, uint64_t epoch,
                                            const std::vector<std::string>& outputs, const LeaseRequest& next) {
  return decode<ReportReply>(Call(MsgKind::kDone, json(DoneRequest{job_id, epoch, outputs, next})));
}

Result<ReportReply> CoordinatorClient::Fail(const std::string& job_id, uint64_t epoch, const std::string& error,
                                            const LeaseRequest& next) {
  return decode<ReportReply>(Call(MsgKind::kFail, json(FailRequest{job_id, epoch, error, next})));
}

Result<SubmitResult> CoordinatorClient::Submit(const SweepSubmission& sweep) {
  return decode<SubmitResult>(Call(MsgKind::kSubmit, json(sweep)));
}

Result<StatusReport> CoordinatorClient::Status(const std::string& query) {
  return decode<StatusReport>(Call(MsgKind::kStatus, json(TargetRequest{query})));
}

Result<int64_t> CoordinatorClient::Cancel(const std::string& target) {
  auto r = decode<CountReply>(Call(MsgKind::kCancel, json(TargetRequest{target})));
  if (!r.ok()) return r.status();
  return r.value().count;
}

Result<int64_t> CoordinatorClient::Retry(const std::string& target) {
  auto r = decode<CountReply>(Call(MsgKind::kRetry, json(TargetRequest{target})));
  if (!r.ok()) return r.status();
  return r.value().count;
}

}  // namespace radclear::coordinator
