// The coordinator's hot paths (issue 20's speed targets):
//   BM_DurableTransitions/K   job transitions/s when K lease+done pairs share
//                             one synced commit (group commit); K=1 is one
//                             fsync per pair.
//   BM_ServedTransitions/N/L  the same through a served coordinator, N
//                             client threads leasing and finishing jobs;
//                             L=1: each done also leases the next job (one
//                             round trip per job, as the worker loop does).
//                             `radclear bench coordinator` runs the same load.
//   BM_Status/...             Scheduler::Query over a 100,000-job sweep.
//   BM_HeartbeatHandling      CPU per heartbeat inside the coordinator: decode
//                             the frame, renew the lease, encode the reply.
//   BM_HeartbeatRoundTrip     a heartbeat through ZeroMQ to a served
//                             coordinator and back; counts the CPU of every
//                             thread but the client's (coordinator loop and
//                             ZeroMQ I/O threads) per heartbeat.
// 1,000 workers at one heartbeat per 5 s are 200 heartbeats/s: the share of
// one core is 200 x (CPU seconds per heartbeat); core_share_* print it as a
// fraction of one core (0.05 = the 5% budget).
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "coordinator/client.h"
#include "coordinator/job_store.h"
#include "coordinator/protocol.h"
#include "coordinator/scheduler.h"
#include "coordinator/server.h"
#include "coordinator/synthetic_load.h"

namespace radclear::coordinator {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const char* what) {
  std::random_device rd;
  fs::path p = fs::temp_directory_path() / fmt::format("radclear_coord_bench_{}_{}_{}", what, ::getpid(), rd());
  fs::create_directories(p);
  return p;
}

void BM_DurableTransitions(benchmark::State& state) {
  const int per_commit = static_cast<int>(state.range(0));
  const fs::path dir = temp_dir("transitions");
  {
    auto store = JobStore::Open(dir / "db");  // sync = true: every commit fsyncs the WAL
    if (!store.ok()) {
      state.SkipWithError(store.status().to_string().c_str());
      return;
    }
    Scheduler s(store.value().get(), SchedulerOptions{});
    int submitted = 0;
    const GroupInfo g{"bench", 1};
    int64_t now = 1;
    int64_t transitions = 0;
    for (auto _ : state) {
      state.PauseTiming();
      // Fresh READY jobs for this iteration (submission is not timed).
      auto r = s.Submit(flat_sweep(fmt::format("b{}", submitted), 1, per_commit, submitted), now);
      ++submitted;
      if (!r.ok() || !s.Commit(now).ok()) {
        state.SkipWithError("submit failed");
        break;
      }
      const int64_t before = s.counters().transitions;
      state.ResumeTiming();
      std::vector<LeaseGrant> grants;
      for (int k = 0; k < per_commit; ++k) {
        auto r = s.Lease(g, "", now);
        if (r.ok() && r.value()) grants.push_back(*r.value());
      }
      for (const LeaseGrant& gr : grants) (void)s.Done(gr.job_id, gr.epoch, {"out"}, now);
      if (!s.Commit(now).ok()) {
        state.SkipWithError("commit failed");
        break;
      }
      transitions += s.counters().transitions - before;
      ++now;
    }
    state.counters["transitions/s"] = benchmark::Counter(static_cast<double>(transitions), benchmark::Counter::kIsRate);
    state.counters["per_commit"] = per_commit * 2;
  }
  fs::remove_all(dir);
}
BENCHMARK(BM_DurableTransitions)->Arg(1)->Arg(64)->Arg(512)->Arg(4096)->Unit(benchmark::kMillisecond)->UseRealTime();

// End to end: N client threads (each a worker group) lease and finish jobs
// through a served coordinator (coordinator/synthetic_load.h); every
// acknowledged transition was fsynced in the round's group commit. Only the
// clients' work is timed (manual time), not opening the DB or submitting.
void BM_ServedTransitions(benchmark::State& state) {
  const int clients = static_cast<int>(state.range(0));
  const bool done_leases_next = state.range(1) != 0;
  int64_t transitions = 0;
  double loop_rate = 0, per_commit = 0;
  for (auto _ : state) {
    auto fig = measure_transitions(temp_dir("served"), clients, 100, done_leases_next);
    if (!fig.ok()) {
      state.SkipWithError(fig.status().to_string().c_str());
      break;
    }
    state.SetIterationTime(fig.value().seconds);
    transitions += fig.value().transitions;
    loop_rate = fig.value().loop_cpu_per_second;
    per_commit = fig.value().records_per_commit;
  }
  state.counters["transitions/s"] = benchmark::Counter(static_cast<double>(transitions), benchmark::Counter::kIsRate);
  // What the coordinator's loop thread could sustain if the clients ran
  // elsewhere: transitions per CPU-second of that thread (last iteration).
  state.counters["loop_cpu_transitions/s"] = loop_rate;
  state.counters["records_per_commit"] = per_commit;
}
BENCHMARK(BM_ServedTransitions)
    ->ArgsProduct({{1, 8, 32, 128}, {0, 1}})
    ->ArgNames({"clients", "done_leases_next"})
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime()
    ->Iterations(3);

void BM_Status(benchmark::State& state) {
  static Scheduler* s = [] {
    auto* sched = new Scheduler(nullptr, SchedulerOptions{});
    (void)sched->Submit(flat_sweep("big", 1000, 100), 0);  // 100,000 jobs
    for (int k = 0; k < 500; ++k) (void)sched->Lease(GroupInfo{"g", 1}, "", 0);
    return sched;
  }();
  const char* queries[] = {"", "big", "big/t00500"};
  const std::string q = queries[state.range(0)];
  for (auto _ : state) {
    auto r = s->Query(q, 0);
    benchmark::DoNotOptimize(r);
  }
  state.SetLabel(fmt::format("query '{}' over {} jobs", q, s->size()));
}
BENCHMARK(BM_Status)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

void BM_HeartbeatHandling(benchmark::State& state) {
  Scheduler s(nullptr, SchedulerOptions{});
  (void)s.Submit(flat_sweep("s", 1, 1000), 0);
  std::vector<std::pair<GroupInfo, LeaseGrant>> workers;
  for (int w = 0; w < 1000; ++w) {
    GroupInfo g{fmt::format("node{:04d}:1234", w), 1};
    workers.emplace_back(g, *s.Lease(g, "", 0).value());
  }
  size_t next = 0;
  uint32_t id = 0;
  for (auto _ : state) {
    const auto& [g, grant] = workers[next++ % workers.size()];
    // What arrives: a header and a JSON body.
    const std::string header = encode_header(Header{kProtocolVersion, MsgKind::kHeartbeat, ++id});
    const std::string body =
        nlohmann::json(HeartbeatRequest{g, {Beat{grant.job_id, grant.epoch, Progress{0.5, 40, "slices", 0}}}}).dump();
    DecodedMessage m = decode_message({header, body}, kDefaultMaxBodyBytes);
    const auto req = m.body.get<HeartbeatRequest>();
    auto replies = s.Heartbeat(req.group, req.beats, 1);
    const std::string out = encode_header(Header{kProtocolVersion, MsgKind::kReply, id}) +
                            ok_reply(nlohmann::json(replies)).dump();
    benchmark::DoNotOptimize(out);
  }
  state.counters["core_share_1000_at_5s"] = benchmark::Counter(
      state.iterations() / 200.0, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);  // CPU time based
}
BENCHMARK(BM_HeartbeatHandling)->Unit(benchmark::kMicrosecond);

void BM_HeartbeatRoundTrip(benchmark::State& state) {
  const fs::path dir = temp_dir("heartbeat");
  {
    ServedCoordinator c(dir / "db");
    if (!c.ok()) {
      state.SkipWithError(c.open_status().to_string().c_str());
      return;
    }
    {
      CoordinatorClient client(ClientOptions{c.get().endpoint(), 5000, 1, std::nullopt, ""});
      (void)client.Submit(flat_sweep("s", 1, 1));
      const GroupInfo g{"node", 1};
      auto grant = client.Lease(g, "");
      if (!grant.ok() || !grant.value()) {
        state.SkipWithError("no lease");
      } else {
        // CPU of everything but this (client) thread: the coordinator's
        // loop plus both sides' ZeroMQ I/O threads, an upper bound of what the
        // coordinator process spends per heartbeat.
        const double process0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID), self0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
        for (auto _ : state) {
          auto r = client.Heartbeat(g, {Beat{grant.value()->job_id, grant.value()->epoch, Progress{0.5, 1, "x", 0}}});
          benchmark::DoNotOptimize(r);
        }
        const double others = (cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - process0) - (cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - self0);
        const double per_beat = others / static_cast<double>(std::max<int64_t>(1, state.iterations()));
        state.counters["coordinator_cpu_us_per_beat"] = per_beat * 1e6;
        state.counters["core_share_1000_at_5s"] = 200.0 * per_beat;
      }
    }
  }
  fs::remove_all(dir);
}
BENCHMARK(BM_HeartbeatRoundTrip)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace radclear::coordinator
