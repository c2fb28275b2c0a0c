// A test helper the fault tests fork/exec and SIGKILL: either a coordinator
// or a fake worker group's rank 0, so a test can kill one without killing
// itself. Loopback only; every loop is bounded by --deadline-ms.
//
//   radclear_coordinator_helper serve --db DIR --bind EP --endpoint-file F [--ttl-ms N]
//   radclear_coordinator_helper work --endpoint EP --group G [--ranks R] [--work-ms N]
//        [--idle-exit-ms N] [--deadline-ms N] [--log FILE]
//
// `work` leases jobs until none has come for --idle-exit-ms, "works" for
// --work-ms on each (heartbeating every 100 ms with progress), appends
// "worked <job> <epoch> <group>" to --log, reports done (retrying through a
// coordinator restart) and appends "recorded <job> <epoch>" when the
// coordinator says it recorded it. Exit 0 when idle, 3 past the deadline.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "coordinator/client.h"
#include "coordinator/server.h"

namespace {

using namespace radclear::coordinator;

std::atomic<bool> g_stop{false};
void on_term(int) { g_stop = true; }

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void append(const std::string& path, const std::string& line) {
  if (path.empty()) return;
  std::ofstream out(path, std::ios::app);
  out << line << "\n";
}

int serve(std::map<std::string, std::string>& a) {
  CoordinatorOptions o;
  o.db = a["--db"];
  o.bind = a["--bind"];
  o.scheduler.lease_ttl_ms = std::stoll(a.count("--ttl-ms") ? a["--ttl-ms"] : "2000");
  o.expiry_tick_ms = 50;
  auto c = Coordinator::Open(o);
  if (!c.ok()) {
    std::fprintf(stderr, "serve: %s\n", c.status().to_string().c_str());
    return 1;
  }
  const std::string tmp = a["--endpoint-file"] + ".tmp";
  append(tmp, c.value()->endpoint());
  std::rename(tmp.c_str(), a["--endpoint-file"].c_str());
  std::signal(SIGTERM, on_term);
  radclear::Status s = c.value()->Run(g_stop);
  return s.ok() ? 0 : 1;
}

int work(std::map<std::string, std::string>& a) {
  ClientOptions co;
  co.endpoint = a["--endpoint"];
  co.request_timeout_ms = 300;
  co.tries = 2;
  CoordinatorClient client(co);
  const GroupInfo group{a["--group"], std::stoi(a.count("--ranks") ? a["--ranks"] : "1")};
  const int64_t work_ms = std::stoll(a.count("--work-ms") ? a["--work-ms"] : "100");
  const int64_t idle_exit_ms = std::stoll(a.count("--idle-exit-ms") ? a["--idle-exit-ms"] : "2000");
  const int64_t deadline = now_ms() + std::stoll(a.count("--deadline-ms") ? a["--deadline-ms"] : "60000");
  const std::string log = a["--log"];
  int64_t idle_since = now_ms();
  int grants = 0;
  while (now_ms() < deadline) {
    auto lease = client.Lease(group, fmt::format("{}:{}", group.id, grants));
    if (!lease.ok()) {  // coordinator down or restarting: keep asking
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    if (!lease.value()) {
      if (now_ms() - idle_since > idle_exit_ms) return 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      continue;
    }
    ++grants;
    const LeaseGrant g = *lease.value();
    bool lost = false;
    const int64_t start = now_ms();
    while (!lost && now_ms() - start < work_ms) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(100, work_ms)));
      const double fraction = std::min(1.0, static_cast<double>(now_ms() - start) / work_ms);
      auto beat = client.Heartbeat(group, {Beat{g.job_id, g.epoch, Progress{fraction, 10, "items", 0}}});
      if (beat.ok() && !beat.value().empty() && beat.value()[0].verdict != BeatVerdict::kOk) lost = true;
    }
    if (!lost) {
      append(log, fmt::format("worked {} {} {}", g.job_id, g.epoch, group.id));
      while (now_ms() < deadline) {
        auto done = client.Done(g.job_id, g.epoch, {fmt::format("{}:{}", group.id, g.job_id)});
        if (done.ok()) {
          if (done.value().recorded) append(log, fmt::format("recorded {} {}", g.job_id, g.epoch));
          break;
        }
        if (done.status().code() != radclear::StatusCode::kIoError) break;  // stale: someone else has it
      }
    }
    idle_since = now_ms();
  }
  return 3;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s serve|work --key value ...\n", argv[0]);
    return 2;
  }
  std::map<std::string, std::string> args;
  for (int i = 2; i + 1 < argc; i += 2) args[argv[i]] = argv[i + 1];
  const std::string mode = argv[1];
  if (mode == "serve") return serve(args);
  if (mode == "work") return work(args);
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
