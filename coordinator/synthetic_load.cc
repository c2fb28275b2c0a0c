#include "coordinator/synthetic_load.h"

#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include <fmt/format.h>

#include "coordinator/client.h"
#include "coordinator/protocol.h"

namespace radclear::coordinator {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double cpu_seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

ClientOptions client_options(const std::string& endpoint) {
  ClientOptions o;
  o.endpoint = endpoint;
  o.request_timeout_ms = 30000;
  o.tries = 1;
  return o;
}

// Removes the directory when the measurement ends, however it ends.
struct ScratchDir {
  fs::path path;
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

}  // namespace

SweepSubmission flat_sweep(const std::string& sweep, int trials, int jobs_per_trial, int offset) {
  SweepSubmission sub;
  sub.sweep = sweep;
  for (int t = 0; t < trials; ++t) {
    TrialSubmission trial;
    trial.id = fmt::format("t{:05d}", t + offset);
    for (int j = 0; j < jobs_per_trial; ++j) {
      JobSubmission js;
      js.stage = Stage::kExtract;
      js.payload = fmt::format("spec: {{windows: [abdomen, lung]}}\npart: {{index: {}, trial: {}}}\n", j, t + offset);
      trial.jobs.push_back(std::move(js));
    }
    sub.trials.push_back(std::move(trial));
  }
  return sub;
}

ServedCoordinator::ServedCoordinator(const fs::path& db) {
  CoordinatorOptions o;
  o.db = db;
  o.bind = "tcp://127.0.0.1:*";
  auto c = Coordinator::Open(o);
  if (!c.ok()) {
    status_ = c.status();
    return;
  }
  coordinator_ = std::move(c).value();
  loop_ = std::thread([this] { status_ = coordinator_->Run(stop_); });
}

ServedCoordinator::~ServedCoordinator() {
  stop_ = true;
  if (loop_.joinable()) loop_.join();
}

double ServedCoordinator::loop_cpu_seconds() const {
  clockid_t clock;
  if (pthread_getcpuclockid(const_cast<std::thread&>(loop_).native_handle(), &clock) != 0) return 0;
  return cpu_seconds(clock);
}

Result<TransitionFigures> measure_transitions(const fs::path& dir, int clients, int jobs_per_client,
                                              bool done_leases_next) {
  ScratchDir scratch{dir};
  fs::create_directories(dir);
  TransitionFigures fig;
  fig.clients = clients;
  fig.done_leases_next = done_leases_next;
  ServedCoordinator c(dir / "db");
  if (!c.ok()) return c.open_status();
  const std::string endpoint = c.get().endpoint();
  {
    CoordinatorClient submitter(client_options(endpoint));
    const int per_trial = 1000;
    const int64_t needed = static_cast<int64_t>(clients) * (jobs_per_client + 1);
    auto sub = submitter.Submit(flat_sweep("load", static_cast<int>((needed + per_trial - 1) / per_trial), per_trial));
    if (!sub.ok()) return sub.status();
  }
  const ServerCounters before = c.get().counters();
  const double loop0 = c.loop_cpu_seconds();
  std::atomic<int64_t> finished{0};
  std::atomic<bool> failed{false};
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < clients; ++w) {
    threads.emplace_back([&, w] {
      CoordinatorClient client(client_options(endpoint));
      const GroupInfo g{fmt::format("load{}", w), 1};
      std::optional<LeaseGrant> grant;
      for (int k = 0; k < jobs_per_client; ++k) {
        if (!grant) {
          auto r = client.Lease(g, fmt::format("{}:{}", g.id, k));
          if (!r.ok() || !r.value()) {
            failed = true;
            return;
          }
          grant = r.value();
        }
        if (done_leases_next && k + 1 < jobs_per_client) {
          auto r = client.Done(grant->job_id, grant->epoch, {"out"}, LeaseRequest{g, fmt::format("{}:{}", g.id, k + 1)});
          if (!r.ok()) {
            failed = true;
            return;
          }
          grant = r.value().next;
        } else {
          if (!client.Done(grant->job_id, grant->epoch, {"out"}).ok()) {
            failed = true;
            return;
          }
          grant.reset();
        }
        ++finished;
      }
    });
  }
  for (auto& t : threads) t.join();
  fig.seconds = seconds_since(t0);
  if (failed.load()) return Status::Internal("a load client lost its coordinator or ran out of jobs");
  const ServerCounters after = c.get().counters();
  fig.transitions = after.scheduler.transitions - before.scheduler.transitions;
  fig.per_second = fig.transitions / fig.seconds;
  const double loop_cpu = c.loop_cpu_seconds() - loop0;
  fig.loop_cpu_per_second = loop_cpu > 0 ? fig.transitions / loop_cpu : 0;
  const int64_t commits = after.scheduler.commits - before.scheduler.commits;
  fig.records_per_commit =
      commits > 0 ? static_cast<double>(after.scheduler.committed_records - before.scheduler.committed_records) / commits
                  : 0;
  return fig;
}

Result<StatusFigures> measure_status(const fs::path& dir, int64_t jobs, int repeats) {
  ScratchDir scratch{dir};
  fs::create_directories(dir);
  StatusFigures fig;
  ServedCoordinator c(dir / "db");
  if (!c.ok()) return c.open_status();
  CoordinatorClient client(client_options(c.get().endpoint()));
  const int trials = 1000;
  const int per_trial = static_cast<int>(std::max<int64_t>(1, jobs / trials));
  auto sub = client.Submit(flat_sweep("big", trials, per_trial));
  if (!sub.ok()) return sub.status();
  fig.jobs = static_cast<int64_t>(trials) * per_trial;
  for (int k = 0; k < 500; ++k) (void)client.Lease(GroupInfo{fmt::format("g{}", k), 1}, "");
  auto median_ms = [&](const std::string& query) -> Result<double> {
    std::vector<double> ms;
    for (int r = 0; r < repeats; ++r) {
      const auto t0 = Clock::now();
      auto st = client.Status(query);
      if (!st.ok()) return st.status();
      ms.push_back(1e3 * seconds_since(t0));
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
  };
  for (auto [query, out] : {std::pair<std::string, double*>{"", &fig.served_ms}, {"big", &fig.sweep_ms},
                            {"big/t00500", &fig.trial_ms}}) {
    auto m = median_ms(query);
    if (!m.ok()) return m.status();
    *out = m.value();
  }
  return fig;
}

Result<HeartbeatFigures> measure_heartbeats(const fs::path& dir, int workers, double period_s, double seconds) {
  ScratchDir scratch{dir};
  fs::create_directories(dir);
  HeartbeatFigures fig;
  fig.workers = workers;
  fig.period_s = period_s;
  ServedCoordinator c(dir / "db");
  if (!c.ok()) return c.open_status();
  const std::string endpoint = c.get().endpoint();
  std::vector<std::pair<GroupInfo, LeaseGrant>> leases;
  {
    CoordinatorClient client(client_options(endpoint));
    auto sub = client.Submit(flat_sweep("beats", 1, workers));
    if (!sub.ok()) return sub.status();
    for (int w = 0; w < workers; ++w) {
      GroupInfo g{fmt::format("node{:04d}:1", w), 1};
      auto grant = client.Lease(g, "");
      if (!grant.ok()) return grant.status();
      if (!grant.value()) return Status::Internal("no job to lease for a heartbeat worker");
      leases.emplace_back(g, *grant.value());
    }
    // Each worker's first beat moves its job from LEASED to RUNNING (a
    // synced write): a one-off at start, not the steady load measured.
    for (const auto& [g, grant] : leases) {
      auto r = client.Heartbeat(g, {Beat{grant.job_id, grant.epoch, Progress{0.0, 0, "slices", 0}}});
      if (!r.ok()) return r.status();
    }
  }
  constexpr int kConnections = 4;
  const double rate = workers / period_s;  // beats per second, all workers together
  std::atomic<int64_t> beats{0};
  std::atomic<bool> failed{false};
  const double loop0 = c.loop_cpu_seconds(), process0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int k = 0; k < kConnections; ++k) {
    threads.emplace_back([&, k] {
      CoordinatorClient client(client_options(endpoint));
      // This connection's workers, each beating at its own phase.
      for (int64_t n = 0;; ++n) {
        const double due = (n * kConnections + k) / rate;
        if (due >= seconds) return;
        std::this_thread::sleep_until(t0 + std::chrono::duration<double>(due));
        const auto& [g, grant] = leases[static_cast<size_t>(n * kConnections + k) % leases.size()];
        auto r = client.Heartbeat(g, {Beat{grant.job_id, grant.epoch, Progress{0.5, 40, "slices", 0}}});
        if (!r.ok() || r.value().empty() || r.value()[0].verdict != BeatVerdict::kOk) {
          failed = true;
          return;
        }
        ++beats;
      }
    });
  }
  for (auto& t : threads) t.join();
  fig.seconds = seconds_since(t0);
  if (failed.load()) return Status::Internal("a heartbeat was refused or lost");
  fig.beats = beats.load();
  fig.loop_core_share = (c.loop_cpu_seconds() - loop0) / fig.seconds;
  fig.process_core_share = (cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - process0) / fig.seconds;
  return fig;
}

}  // namespace radclear::coordinator
