#include "coordinator/server.h"

#include <chrono>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "common/check.h"
#include "coordinator/job_json.h"

namespace radclear::coordinator {

using nlohmann::json;

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A request of the current round, answered after the commit.
struct PendingReply {
  zmq::message_t identity;
  Header header;
  json body;
};

// Frames a ROUTER message may have: routing id, header, body. More are
// drained and counted as a shape error, never stored.
constexpr size_t kMaxFrames = 3;

}  // namespace

struct Coordinator::Impl {
  CoordinatorOptions options;
  std::unique_ptr<JobStore> store;
  std::unique_ptr<Scheduler> scheduler;
  zmq::context_t ctx;
  std::unique_ptr<zmq::socket_t> router;
  std::unique_ptr<ZapHandler> zap;  // when CURVE is on
  ServerCounters counters;          // owned by the loop thread
  mutable std::mutex snapshot_mu;
  ServerCounters snapshot;

  // Applies one decoded request; returns its reply body.
  json handle(const DecodedMessage& m, std::optional<Role> role, int64_t now);
  // done/fail's reply, with the next lease when the request asked for one.
  json report(const Result<Recorded>& outcome, const std::optional<LeaseRequest>& next, int64_t now);
  void publish();
};

Result<std::unique_ptr<Coordinator>> Coordinator::Open(const CoordinatorOptions& options) {
  const bool loopback = is_loopback_endpoint(options.bind);
  if (!loopback && (!options.curve || options.authorized_keys.empty())) {
    return Status::FailedPrecondition(fmt::format(
        "refusing to bind {}: it is reachable from other machines and no authentication is set up. Either "
        "bind loopback (tcp://127.0.0.1:PORT, and reach it through `ssh -L`), or give CURVE keys: "
        "`radclear coordinator --make-keys coord.key` once, then `--curve-keys coord.key --authorized-keys "
        "clients.txt` (lines '<client public key> <read|worker|admin>')",
        options.bind));
  }
  if (options.curve && options.curve->secret_key.empty())
    return Status::InvalidArgument("coordinator CURVE keys need the secret key");
  if (options.curve && options.authorized_keys.empty())
    return Status::InvalidArgument("CURVE keys given without --authorized-keys: no client could connect");

  std::unique_ptr<Coordinator> c(new Coordinator());
  c->impl_ = std::make_unique<Impl>();
  Impl& impl = *c->impl_;
  impl.options = options;
  JobStoreOptions store_options;
  store_options.sync = options.sync;
  auto store = JobStore::Open(options.db, store_options);
  if (!store.ok()) return store.status();
  impl.store = std::move(store).value();
  impl.scheduler = std::make_unique<Scheduler>(impl.store.get(), options.scheduler);
  Status loaded = impl.scheduler->Load(wall_ms());
  if (!loaded.ok()) return loaded;
  // Whatever Load fixed up is written before anyone is told anything.
  Status fixed = impl.scheduler->Commit(wall_ms());
  if (!fixed.ok()) return fixed;

  try {
    if (options.curve) {
      auto keys = load_authorized_keys(options.authorized_keys);
      if (!keys.ok()) return keys.status();
      impl.zap = std::make_unique<ZapHandler>(impl.ctx, std::move(keys).value());
    }
    impl.router = std::make_unique<zmq::socket_t>(impl.ctx, zmq::socket_type::router);
    impl.router->set(zmq::sockopt::linger, 0);
    // libzmq drops a peer that sends a frame above this before allocating
    // it; below it, our own limit refuses and counts.
    impl.router->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(options.max_body_bytes) * 2 + (1 << 16));
    if (options.curve) {
      impl.router->set(zmq::sockopt::curve_server, true);
      impl.router->set(zmq::sockopt::curve_secretkey, options.curve->secret_key);
      impl.router->set(zmq::sockopt::zap_domain, "radclear");
    }
    impl.router->bind(options.bind);
    c->endpoint_ = impl.router->get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    return Status::IoError(fmt::format("coordinator: cannot bind {}: {}", options.bind, e.what()));
  }
  impl.counters.scheduler = impl.scheduler->counters();
  impl.publish();
  spdlog::info("coordinator: {} jobs in {}, serving {}{}", impl.scheduler->size(), options.db.string(),
               c->endpoint_, options.curve ? " (CURVE)" : "");
  return c;
}

Coordinator::~Coordinator() = default;

ServerCounters Coordinator::counters() const {
  std::lock_guard<std::mutex> lock(impl_->snapshot_mu);
  return impl_->snapshot;
}

void Coordinator::Impl::publish() {
  counters.scheduler = scheduler->counters();
  std::lock_guard<std::mutex> lock(snapshot_mu);
  snapshot = counters;
}

json Coordinator::Impl::handle(const DecodedMessage& m, std::optional<Role> role, int64_t now) {
  const MsgKind kind = m.header.kind;
  if (role) {
    const bool allowed = *role == Role::kAdmin || kind == MsgKind::kStatus ||
                         (*role == Role::kWorker && !is_admin_kind(kind));
    if (!allowed) {
      ++counters.refused_role;
      return error_reply(Status::FailedPrecondition(
          fmt::format("a '{}' key may not send {}; list the key as admin in the authorized keys", role_name(*role),
                      msg_kind_name(kind))));
    }
  }
  const json& b = m.body;
  auto reply = [](auto&& result) -> json {
    if (!result.ok()) return error_reply(result.status());
    return ok_reply(json(result.value()));
  };
  switch (kind) {
    case MsgKind::kLease: {
      const auto r = b.get<LeaseRequest>();
      auto grant = scheduler->Lease(r.group, r.token, now);
      if (!grant.ok()) return error_reply(grant.status());
      return ok_reply(grant.value() ? json(*grant.value()) : json());
    }
    case MsgKind::kHeartbeat: {
      const auto r = b.get<HeartbeatRequest>();
      return ok_reply(json(scheduler->Heartbeat(r.group, r.beats, now)));
    }
    case MsgKind::kDone: {
      const auto r = b.get<DoneRequest>();
      return report(scheduler->Done(r.job_id, r.epoch, r.outputs, now), r.next, now);
    }
    case MsgKind::kFail: {
      const auto r = b.get<FailRequest>();
      return report(scheduler->Fail(r.job_id, r.epoch, r.error, now), r.next, now);
    }
    case MsgKind::kSubmit: return reply(scheduler->Submit(b.get<SweepSubmission>(), now));
    case MsgKind::kStatus: return reply(scheduler->Query(b.get<TargetRequest>().target, now));
    case MsgKind::kCancel: {
      auto n = scheduler->Cancel(b.get<TargetRequest>().target, now);
      if (!n.ok()) return error_reply(n.status());
      return ok_reply(json(CountReply{n.value()}));
    }
    case MsgKind::kRetry: {
      auto n = scheduler->Retry(b.get<TargetRequest>().target, now);
      if (!n.ok()) return error_reply(n.status());
      return ok_reply(json(CountReply{n.value()}));
    }
    case MsgKind::kReply: break;
  }
  throw InvalidArgument(fmt::format("{} is not a request", msg_kind_name(kind)));
}

json Coordinator::Impl::report(const Result<Recorded>& outcome, const std::optional<LeaseRequest>& next,
                              int64_t now) {
  if (!outcome.ok()) return error_reply(outcome.status());
  ReportReply r{outcome.value(), false, std::nullopt};
  if (next) {
    auto grant = scheduler->Lease(next->group, next->token, now);
    if (grant.ok()) {
      r.leased = true;
      r.next = std::move(grant).value();
      if (r.next) ++counters.report_grants;
    } else {
      spdlog::debug("coordinator: next lease for {}: {}", next->group.id, grant.status().to_string());
    }
  }
  return ok_reply(json(r));
}

Status Coordinator::Run(const std::atomic<bool>& stop) {
  Impl& s = *impl_;
  int64_t next_expiry = wall_ms() + s.options.expiry_tick_ms;
  int64_t next_progress = wall_ms() + s.options.progress_flush_ms;
  std::vector<zmq::pollitem_t> items = {{static_cast<void*>(*s.router), 0, ZMQ_POLLIN, 0}};
  if (s.zap) items.push_back({static_cast<void*>(s.zap->socket()), 0, ZMQ_POLLIN, 0});
  std::vector<PendingReply> round;
  std::vector<zmq::message_t> frames;

  while (!stop.load()) {
    const int64_t wait = std::clamp<int64_t>(next_expiry - wall_ms(), 0, 100);
    try {
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(wait));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      return Status::IoError(fmt::format("coordinator {}: poll: {}", endpoint_, e.what()));
    }
    if (s.zap && (items[1].revents & ZMQ_POLLIN)) {
      s.zap->HandleOne();
      s.counters.auth_denied = s.zap->denied();
    }

    round.clear();
    int64_t now = wall_ms();
    while (static_cast<int>(round.size()) < s.options.max_round) {
      frames.clear();
      zmq::message_t first;
      if (!s.router->recv(first, zmq::recv_flags::dontwait)) break;
      frames.push_back(std::move(first));
      size_t extra = 0;
      while (s.router->get(zmq::sockopt::rcvmore)) {
        zmq::message_t part;
        (void)s.router->recv(part);  // the rest of a message is already here
        if (frames.size() < kMaxFrames)
          frames.push_back(std::move(part));
        else
          ++extra;
      }
      std::vector<std::string_view> views;
      for (size_t i = 1; i < frames.size(); ++i) views.push_back(frames[i].to_string_view());
      DecodedMessage m = extra > 0 ? DecodedMessage{{}, {}, FrameError::kShape, "too many frames"}
                                   : decode_message(views, s.options.max_body_bytes);
      if (m.error == FrameError::kNone && m.header.kind == MsgKind::kReply) {
        m.error = FrameError::kMalformed;
        m.detail = "a reply sent to the coordinator";
      }
      std::optional<Role> role;
      if (s.zap && frames.size() > 1) {
        const char* user = zmq_msg_gets(frames[1].handle(), "User-Id");
        role = parse_role(user ? user : "");
        if (!role) role = Role::kRead;
      }
      PendingReply pending{std::move(frames[0]), m.header, json()};
      if (m.error != FrameError::kNone) {
        ++s.counters.rejected[static_cast<size_t>(m.error)];
        spdlog::debug("coordinator: refused a message: {}: {}", frame_error_name(m.error), m.detail);
        // Our protocol with a problem gets told; anything else is junk.
        if (m.error == FrameError::kWrongVersion || m.error == FrameError::kMalformed ||
            m.error == FrameError::kOversized || m.error == FrameError::kUnknownKind) {
          pending.header.kind = MsgKind::kReply;
          pending.header.version = kProtocolVersion;
          pending.body = error_reply(Status::InvalidArgument(fmt::format("{}: {}", frame_error_name(m.error), m.detail)));
          round.push_back(std::move(pending));
        }
        continue;
      }
      try {
        pending.body = s.handle(m, role, now);
        ++s.counters.requests;
      } catch (const nlohmann::json::exception& e) {
        ++s.counters.rejected[static_cast<size_t>(FrameError::kMalformed)];
        pending.body = error_reply(Status::InvalidArgument(fmt::format("malformed {} body: {}", msg_kind_name(m.header.kind), e.what())));
      } catch (const Error& e) {
        ++s.counters.rejected[static_cast<size_t>(FrameError::kMalformed)];
        pending.body = error_reply(e.to_status());
      }
      pending.header.kind = MsgKind::kReply;
      round.push_back(std::move(pending));
    }

    now = wall_ms();
    if (now >= next_expiry) {
      const int64_t expired = s.scheduler->ExpireLeases(now);
      if (expired > 0) spdlog::info("coordinator: {} lease(s) expired; jobs requeued", expired);
      next_expiry = now + s.options.expiry_tick_ms;
    }
    const bool flush_progress = now >= next_progress;
    if (flush_progress) next_progress = now + s.options.progress_flush_ms;
    Status committed = s.scheduler->Commit(now, flush_progress);
    if (!committed.ok()) {
      ++s.counters.commit_failures;
      spdlog::error("coordinator: {}", committed.to_string());
      // The table was rebuilt from disk; every answer of the round is void.
      for (PendingReply& p : round) p.body = error_reply(committed);
      if (committed.code() == StatusCode::kInternal) return committed;  // no table left to serve
    }
    // Counters first: a client that got its reply sees them updated.
    if (!round.empty()) ++s.counters.rounds;
    s.publish();
    for (PendingReply& p : round) {
      const std::string header = encode_header(p.header);
      const std::string body = p.body.dump();
      try {
        if (s.router->send(p.identity, zmq::send_flags::sndmore | zmq::send_flags::dontwait) &&
            s.router->send(zmq::buffer(header), zmq::send_flags::sndmore | zmq::send_flags::dontwait) &&
            s.router->send(zmq::buffer(body), zmq::send_flags::dontwait))
          ++s.counters.replies;
      } catch (const zmq::error_t& e) {
        spdlog::debug("coordinator: reply dropped: {}", e.what());  // the peer went away
      }
    }
  }
  s.publish();
  return Status::Ok();
}

}  // namespace radclear::coordinator
