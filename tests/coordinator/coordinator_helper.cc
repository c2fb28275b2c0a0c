// A test helper the fault tests fork/exec and SIGKILL: either a coordinator
// or a fake worker group's rank 0, so a test can kill one without killing
// itself. Loopback only; every loop is bounded by --deadline-ms.
//
//   radclear_coordinator_helper serve --db DIR --bind EP --endpoint-file F [--ttl-ms N]
//   radclear_coordinator_helper work --endpoint EP --group G [--ranks R] [--work-ms N]
//        [--idle-exit-ms N] [--deadline-ms N] [--log FILE]
//
// `work` runs coordinator/worker_loop until no job has come for
// --idle-exit-ms: each job "works" for --work-ms (the loop heartbeats every
// 100 ms with its progress), appends "worked <job> <epoch> <group>" to --log,
// and the loop reports done (retrying through a coordinator restart); a
// "recorded <job> <epoch>" line follows when the coordinator recorded it.
// Exit 0 when idle, 3 past the deadline.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "coordinator/client.h"
#include "coordinator/server.h"
#include "coordinator/worker_loop.h"

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
  WorkerLoopOptions o;
  o.client.endpoint = a["--endpoint"];
  o.client.request_timeout_ms = 300;
  o.client.tries = 2;
  o.group = GroupInfo{a["--group"], std::stoi(a.count("--ranks") ? a["--ranks"] : "1")};
  o.heartbeat_ms = 100;
  o.idle_poll_ms = 30;
  o.exit_when_idle_ms = std::stoll(a.count("--idle-exit-ms") ? a["--idle-exit-ms"] : "2000");
  const int64_t work_ms = std::stoll(a.count("--work-ms") ? a["--work-ms"] : "100");
  const int64_t deadline_ms = std::stoll(a.count("--deadline-ms") ? a["--deadline-ms"] : "60000");
  const std::string log = a["--log"];
  o.on_reported = [&log](const LeaseGrant& g, bool recorded) {
    if (recorded) append(log, fmt::format("recorded {} {}", g.job_id, g.epoch));
  };
  const std::string group = o.group.id;
  JobFn job = [&](const LeaseGrant& g, JobControl& control) -> radclear::Result<std::vector<std::string>> {
    const int64_t start = now_ms();
    while (now_ms() - start < work_ms) {
      if (control.cancelled()) return radclear::Status::FailedPrecondition("lease lost");
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(20, work_ms)));
      control.report(std::min(1.0, static_cast<double>(now_ms() - start) / work_ms), 10, "items");
    }
    append(log, fmt::format("worked {} {} {}", g.job_id, g.epoch, group));
    return std::vector<std::string>{fmt::format("{}:{}", group, g.job_id)};
  };
  std::atomic<bool> stop{false};
  std::atomic<bool> past_deadline{false};
  std::thread watchdog([&] {
    const int64_t until = now_ms() + deadline_ms;
    while (!stop && now_ms() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (!stop) past_deadline = stop = true;
  });
  auto stats = run_worker_loop(o, job, stop);
  const bool late = past_deadline.load();
  stop = true;
  watchdog.join();
  if (!stats.ok()) {
    std::fprintf(stderr, "work: %s\n", stats.status().to_string().c_str());
    return 1;
  }
  return late ? 3 : 0;
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
