#include "coordinator/server.h"

#include <fstream>
#include <random>

#include <gtest/gtest.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "coordinator/client.h"
#include "tests/coordinator/coordinator_fixtures.h"

namespace radclear::coordinator {
namespace {

using testing::chain_trial;
using testing::ServedCoordinator;
using testing::TempDir;
using testing::wait_until;

CoordinatorOptions local_options(const TempDir& dir) {
  CoordinatorOptions o;
  o.db = dir.path() / "coord.db";
  o.bind = "tcp://127.0.0.1:*";
  o.scheduler.lease_ttl_ms = 1000;
  o.expiry_tick_ms = 20;
  return o;
}

ClientOptions client_options(const std::string& endpoint, int64_t timeout_ms = 2000, int tries = 3) {
  ClientOptions c;
  c.endpoint = endpoint;
  c.request_timeout_ms = timeout_ms;
  c.tries = tries;
  return c;
}

SweepSubmission small_sweep() {
  SweepSubmission sub;
  sub.sweep = "s";
  sub.trials = {chain_trial("t000", "a", 2, 2)};
  return sub;
}

TEST(Coordinator, ServesTheWholeJobLifecycleOverZeroMQ) {
  TempDir dir;
  ServedCoordinator c(local_options(dir));
  ASSERT_TRUE(c.ok()) << c.open_status().to_string();
  CoordinatorClient client(client_options(c.endpoint()));
  auto sub = client.Submit(small_sweep());
  ASSERT_TRUE(sub.ok()) << sub.status().to_string();
  EXPECT_EQ(sub.value().jobs_new, 6);

  const GroupInfo g{"node1:7", 2};
  int done = 0;
  for (int i = 0; i < 20 && done < 6; ++i) {
    auto lease = client.Lease(g, fmt::format("tok{}", i));
    ASSERT_TRUE(lease.ok()) << lease.status().to_string();
    if (!lease.value()) continue;
    const LeaseGrant grant = *lease.value();
    EXPECT_FALSE(grant.payload.empty());
    auto beat = client.Heartbeat(g, {Beat{grant.job_id, grant.epoch, Progress{0.5, 3, "items", 0}}});
    ASSERT_TRUE(beat.ok());
    EXPECT_EQ(beat.value()[0].verdict, BeatVerdict::kOk);
    auto running = client.Status(grant.job_id);
    ASSERT_TRUE(running.ok());
    EXPECT_EQ(running.value().jobs[0].state, JobState::kRunning);
    EXPECT_EQ(running.value().jobs[0].group, "node1:7");
    auto d = client.Done(grant.job_id, grant.epoch, {"out-" + grant.job_id});
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    EXPECT_TRUE(d.value().recorded);
    ++done;
  }
  EXPECT_EQ(done, 6);
  auto status = client.Status("s");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status.value().sweeps[0].counts.of(JobState::kDone), 6);
  EXPECT_EQ(client.Status("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(c.get().counters().scheduler.done_recorded, 6);
}

// done + the next lease in one round trip: what a worker group's loop sends.
TEST(Coordinator, DoneCarriesTheNextLeaseAndARetryOfItChangesNothing) {
  TempDir dir;
  ServedCoordinator c(local_options(dir));
  ASSERT_TRUE(c.ok()) << c.open_status().to_string();
  CoordinatorClient client(client_options(c.endpoint()));
  ASSERT_TRUE(client.Submit(small_sweep()).ok());
  const GroupInfo g{"node1:7", 2};
  auto first = client.Lease(g, "tok0");
  ASSERT_TRUE(first.ok() && first.value());
  LeaseGrant grant = *first.value();
  int done = 0;
  for (int i = 1; i <= 10; ++i) {
    const LeaseRequest ask{g, fmt::format("tok{}", i)};
    auto r = client.Done(grant.job_id, grant.epoch, {"out-" + grant.job_id}, ask);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_TRUE(r.value().recorded.recorded);
    ++done;
    ASSERT_TRUE(r.value().leased);
    // The request repeated (a lost reply): a duplicate done, the same grant.
    auto again = client.Done(grant.job_id, grant.epoch, {"out-" + grant.job_id}, ask);
    ASSERT_TRUE(again.ok()) << again.status().to_string();
    EXPECT_FALSE(again.value().recorded.recorded);
    ASSERT_EQ(again.value().next.has_value(), r.value().next.has_value());
    if (!r.value().next) break;  // every READY job handed out
    EXPECT_EQ(again.value().next->job_id, r.value().next->job_id);
    EXPECT_EQ(again.value().next->epoch, r.value().next->epoch);
    grant = *r.value().next;
  }
  EXPECT_EQ(done, 6);
  EXPECT_EQ(c.get().counters().scheduler.done_recorded, 6);
  auto status = client.Status("s");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status.value().sweeps[0].counts.of(JobState::kDone), 6);
  // A stale done is refused and leases nothing.
  auto stale = client.Done(grant.job_id, grant.epoch + 7, {"x"}, LeaseRequest{g, "late"});
  EXPECT_FALSE(stale.ok());
}

// What `radclear status --db` does: read the DB while the coordinator
// holds it for writing.
TEST(Coordinator, ItsDBCanBeReadReadOnlyWhileItRuns) {
  TempDir dir;
  CoordinatorOptions o = local_options(dir);
  ServedCoordinator c(o);
  ASSERT_TRUE(c.ok());
  CoordinatorClient client(client_options(c.endpoint()));
  ASSERT_TRUE(client.Submit(small_sweep()).ok());
  auto grant = client.Lease(GroupInfo{"g", 2}, "");
  ASSERT_TRUE(grant.ok() && grant.value());

  JobStoreOptions ro;
  ro.read_only = true;
  auto store = JobStore::Open(o.db, ro);
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  Scheduler view(store.value().get(), SchedulerOptions{});
  ASSERT_TRUE(view.Load(0).ok());
  auto report = view.Query("s/t000", 0);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report.value().jobs.size(), 6u);
  EXPECT_EQ(report.value().jobs[0].state, JobState::kLeased) << "the acknowledged lease is on disk";
  EXPECT_EQ(report.value().jobs[0].group, "g");
}

TEST(Coordinator, RandomFramesAreRefusedAndCountedAndNeverStopIt) {
  TempDir dir;
  CoordinatorOptions o = local_options(dir);
  o.max_body_bytes = 4096;
  ServedCoordinator c(o);
  ASSERT_TRUE(c.ok()) << c.open_status().to_string();

  zmq::context_t ctx;
  zmq::socket_t junk(ctx, zmq::socket_type::dealer);
  junk.set(zmq::sockopt::linger, 0);
  junk.set(zmq::sockopt::sndhwm, 100000);
  junk.connect(c.endpoint());
  std::mt19937 rng(1234);
  auto random_bytes = [&](size_t n) {
    std::string s(n, '\0');
    for (char& ch : s) ch = static_cast<char>(rng() & 0xff);
    return s;
  };
  const std::string header = encode_header(Header{kProtocolVersion, MsgKind::kLease, 9});
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  int sent = 0;
  while (std::chrono::steady_clock::now() < until) {
    std::vector<std::string> frames;
    switch (sent % 7) {
      case 0:
        for (size_t k = 0, n = 1 + rng() % 4; k < n; ++k) frames.push_back(random_bytes(rng() % 64));
        break;
      case 1: frames = {encode_header(Header{static_cast<uint16_t>(2 + rng() % 100), MsgKind::kLease, 1}), "{}"}; break;
      case 2: frames = {header, random_bytes(1 + rng() % 200)}; break;
      case 3: frames = {header, std::string(4096 + 1 + rng() % 4096, '{')}; break;
      case 4: frames = {header, "{}", "{}"}; break;
      case 5: frames = {header, R"({"group": 5, "token": []})"}; break;
      case 6: frames = {header.substr(0, 4) + random_bytes(8), random_bytes(rng() % 32)}; break;
    }
    for (size_t k = 0; k < frames.size(); ++k)
      (void)junk.send(zmq::buffer(frames[k]), k + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    ++sent;
  }
  ASSERT_TRUE(wait_until([&] { return c.get().counters().rejected_total() >= sent * 5 / 7; }, 10000))
      << c.get().counters().rejected_total() << " of " << sent;
  const ServerCounters n = c.get().counters();
  EXPECT_GT(n.rejected[static_cast<size_t>(FrameError::kBadMagic)], 0);
  EXPECT_GT(n.rejected[static_cast<size_t>(FrameError::kWrongVersion)], 0);
  EXPECT_GT(n.rejected[static_cast<size_t>(FrameError::kMalformed)], 0);
  EXPECT_GT(n.rejected[static_cast<size_t>(FrameError::kOversized)], 0);
  EXPECT_GT(n.rejected[static_cast<size_t>(FrameError::kShape)], 0);

  // Still serving.
  CoordinatorClient client(client_options(c.endpoint()));
  auto sub = client.Submit(small_sweep());
  ASSERT_TRUE(sub.ok()) << sub.status().to_string();
  c.Stop();
  EXPECT_TRUE(c.run_status().ok()) << c.run_status().to_string();
}

TEST(Coordinator, AnotherProtocolVersionIsToldWhy) {
  TempDir dir;
  ServedCoordinator c(local_options(dir));
  ASSERT_TRUE(c.ok());
  zmq::context_t ctx;
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::rcvtimeo, 5000);
  s.connect(c.endpoint());
  const std::string h = encode_header(Header{kProtocolVersion + 1, MsgKind::kStatus, 5});
  ASSERT_TRUE(s.send(zmq::buffer(h), zmq::send_flags::sndmore));
  ASSERT_TRUE(s.send(zmq::str_buffer("{}"), zmq::send_flags::none));
  std::vector<zmq::message_t> reply;
  ASSERT_TRUE(zmq::recv_multipart(s, std::back_inserter(reply)));
  ASSERT_EQ(reply.size(), 2u);
  const std::string body = reply[1].to_string();
  EXPECT_NE(body.find(fmt::format("speaks version {}", kProtocolVersion)), std::string::npos) << body;
}

TEST(Coordinator, ANonLoopbackBindWithoutAuthenticationIsRefusedWithTheFix) {
  TempDir dir;
  CoordinatorOptions o = local_options(dir);
  for (const char* bind : {"tcp://0.0.0.0:*", "tcp://*:5555", "tcp://10.1.2.3:5555", "tcp://eth0:5555"}) {
    o.bind = bind;
    auto c = Coordinator::Open(o);
    ASSERT_FALSE(c.ok()) << bind;
    EXPECT_EQ(c.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(c.status().message().find("--curve-keys"), std::string::npos) << c.status().message();
    EXPECT_NE(c.status().message().find(bind), std::string::npos);
  }
  EXPECT_TRUE(is_loopback_endpoint("tcp://127.0.0.1:5555"));
  EXPECT_TRUE(is_loopback_endpoint("tcp://localhost:*"));
  EXPECT_TRUE(is_loopback_endpoint("ipc:///tmp/x"));
  EXPECT_FALSE(is_loopback_endpoint("tcp://127.0.0.1.evil.com:5555"));
}

TEST(Coordinator, CurveAdmitsListedKeysOnlyAndRolesLimitWhatTheyMayDo) {
  ASSERT_TRUE(zmq_has("curve")) << "Debian's libzmq5 is built with libsodium";
  TempDir dir;
  auto server = make_curve_keys();
  auto admin = make_curve_keys();
  auto reader = make_curve_keys();
  auto stranger = make_curve_keys();
  ASSERT_TRUE(server.ok() && admin.ok() && reader.ok() && stranger.ok());
  // Keys whose Z85 text holds '#' (a Z85 digit) must still load.
  {
    CurveKeys hashy{"#" + std::string(39, 'a'), ""};
    std::ofstream(dir.path() / "hashy.txt") << "# comment\n  # indented comment\n" << hashy.public_key << " read\n";
    auto keys = load_authorized_keys(dir.path() / "hashy.txt");
    ASSERT_TRUE(keys.ok()) << keys.status().to_string();
    EXPECT_EQ(keys.value().size(), 1u);
  }
  const auto authorized = dir.path() / "clients.txt";
  {
    std::ofstream out(authorized);
    out << "# test clients\n" << admin.value().public_key << " admin\n" << reader.value().public_key << " read\n";
  }
  ASSERT_TRUE(save_curve_keys(dir.path() / "server.key", server.value()).ok());
  auto loaded = load_curve_keys(dir.path() / "server.key");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded.value().secret_key, server.value().secret_key);

  CoordinatorOptions o = local_options(dir);
  o.curve = loaded.value();
  o.authorized_keys = authorized;
  ServedCoordinator c(o);
  ASSERT_TRUE(c.ok()) << c.open_status().to_string();

  // Refused clients get one short try; admitted ones the usual patience (a
  // CURVE handshake on a loaded machine can take longer than 400 ms).
  auto with_keys = [&](const std::optional<CurveKeys>& keys, int64_t timeout_ms = 5000, int tries = 3) {
    ClientOptions co = client_options(c.endpoint(), timeout_ms, tries);
    co.curve = keys;
    co.server_public_key = server.value().public_key;
    return co;
  };
  {
    CoordinatorClient plain(with_keys(std::nullopt, 400, 1));
    auto r = plain.Status("");
    ASSERT_FALSE(r.ok()) << "a client without keys got an answer";
    EXPECT_EQ(r.status().code(), StatusCode::kIoError);
  }
  {
    CoordinatorClient unknown(with_keys(stranger.value(), 400, 1));
    auto r = unknown.Status("");
    ASSERT_FALSE(r.ok()) << "an unlisted key got an answer";
    EXPECT_TRUE(wait_until([&] { return c.get().counters().auth_denied >= 1; }, 3000));
  }
  CoordinatorClient ok(with_keys(admin.value()));
  auto sub = ok.Submit(small_sweep());
  ASSERT_TRUE(sub.ok()) << sub.status().to_string();
  CoordinatorClient read(with_keys(reader.value()));
  auto st = read.Status("s");
  ASSERT_TRUE(st.ok()) << st.status().to_string();
  auto cancel = read.Cancel("s");
  ASSERT_FALSE(cancel.ok());
  EXPECT_NE(cancel.status().message().find("admin"), std::string::npos) << cancel.status().message();
  auto lease = read.Lease(GroupInfo{"g", 1}, "");
  EXPECT_FALSE(lease.ok()) << "a read-only key may not lease";
  EXPECT_GE(c.get().counters().refused_role, 2);
}

TEST(Coordinator, AClientFindsARestartedCoordinatorWithoutRestarting) {
  TempDir dir;
  CoordinatorOptions o = local_options(dir);
  std::string endpoint;
  auto first = std::make_unique<ServedCoordinator>(o);
  ASSERT_TRUE(first->ok());
  endpoint = first->endpoint();
  CoordinatorClient client(client_options(endpoint, 300, 2));
  ASSERT_TRUE(client.Submit(small_sweep()).ok());
  auto grant = client.Lease(GroupInfo{"g", 1}, "t1");
  ASSERT_TRUE(grant.ok() && grant.value());
  first.reset();  // gone; the client keeps its socket

  EXPECT_FALSE(client.Status("s").ok()) << "nobody is listening";
  o.bind = endpoint;
  ServedCoordinator second(o);
  ASSERT_TRUE(second.ok()) << second.open_status().to_string();
  auto st = client.Status("s");
  ASSERT_TRUE(st.ok()) << st.status().to_string();
  // The lease granted before the restart is still the worker's.
  auto d = client.Done(grant.value()->job_id, grant.value()->epoch, {"x"});
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_TRUE(d.value().recorded);
  EXPECT_GT(client.timeouts(), 0);
}

}  // namespace
}  // namespace radclear::coordinator
