#include "coordinator/worker_loop.h"

#include <chrono>
#include <condition_variable>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace radclear::coordinator {

void JobControl::report(double fraction, double rate, const std::string& unit) {
  std::lock_guard<std::mutex> lock(mu_);
  progress_.fraction = fraction;
  progress_.rate = rate;
  progress_.unit = unit;
}

Progress JobControl::progress() const {
  std::lock_guard<std::mutex> lock(mu_);
  return progress_;
}

namespace {

using Clock = std::chrono::steady_clock;

// Renews one lease every period on its own connection (the loop's client
// is busy inside the job's call) until stopped; marks the job cancelled
// when the coordinator says the lease is gone.
class Heartbeater {
 public:
  Heartbeater(const WorkerLoopOptions& options, const LeaseGrant& grant, JobControl& control)
      : thread_([this, &options, grant, &control] { run(options, grant, control); }) {}
  ~Heartbeater() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  void run(const WorkerLoopOptions& options, const LeaseGrant& grant, JobControl& control) {
    ClientOptions co = options.client;
    co.tries = 1;  // the next beat is the retry
    co.request_timeout_ms = std::min(co.request_timeout_ms, options.heartbeat_ms);
    CoordinatorClient client(co);
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(options.heartbeat_ms), [this] { return stop_; })) {
      lock.unlock();
      auto replies = client.Heartbeat(options.group, {Beat{grant.job_id, grant.epoch, control.progress()}});
      if (replies.ok() && !replies.value().empty() && replies.value()[0].verdict != BeatVerdict::kOk) {
        spdlog::warn("worker {}: job {} {}; stopping it", options.group.id, grant.job_id,
                     replies.value()[0].verdict == BeatVerdict::kCancelled ? "was cancelled" : "lost its lease");
        control.cancel();
      } else if (!replies.ok()) {
        spdlog::debug("worker {}: heartbeat: {}", options.group.id, replies.status().message());
      }
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

bool sleep_unless_stopped(const std::atomic<bool>& stop, int64_t ms) {
  const auto until = Clock::now() + std::chrono::milliseconds(ms);
  while (Clock::now() < until) {
    if (stop.load()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(ms, 20)));
  }
  return !stop.load();
}

}  // namespace

Result<WorkerLoopStats> run_worker_loop(const WorkerLoopOptions& options, const JobFn& job,
                                        const std::atomic<bool>& stop) {
  WorkerLoopStats stats;
  CoordinatorClient client(options.client);
  int64_t grants = 0;
  auto token = [&] { return fmt::format("{}:{}", options.group.id, grants); };
  // The answer to the lease that rode along with the last done/fail.
  std::optional<std::optional<LeaseGrant>> answered;
  auto idle_since = Clock::now();
  while (!stop.load()) {
    std::optional<LeaseGrant> next;
    if (answered) {
      next = std::move(*answered);
      answered.reset();
    } else {
      auto lease = client.Lease(options.group, token());
      if (!lease.ok()) {
        if (lease.status().code() != StatusCode::kIoError) return lease.status();
        sleep_unless_stopped(stop, options.idle_poll_ms);  // coordinator away: ask again
        continue;
      }
      next = std::move(lease).value();
    }
    if (!next) {
      if (options.exit_when_idle_ms >= 0 &&
          Clock::now() - idle_since > std::chrono::milliseconds(options.exit_when_idle_ms))
        break;
      sleep_unless_stopped(stop, options.idle_poll_ms);
      continue;
    }
    ++grants;
    const LeaseGrant grant = *next;
    JobControl control;
    Result<std::vector<std::string>> outputs = Status::Internal("not run");
    {
      Heartbeater beats(options, grant, control);
      try {
        outputs = job(grant, control);
      } catch (const std::exception& e) {
        outputs = Status::Internal(fmt::format("job {} threw: {}", grant.job_id, e.what()));
      }
    }
    if (control.cancelled()) {
      ++stats.jobs_lost;
    } else {
      // Retried through a coordinator restart; the lease epoch makes a
      // repeat harmless, and the lease token a repeated next lease.
      while (!stop.load()) {
        const LeaseRequest ask{options.group, token()};
        Result<ReportReply> r = outputs.ok()
                                    ? client.Done(grant.job_id, grant.epoch, outputs.value(), ask)
                                    : client.Fail(grant.job_id, grant.epoch, outputs.status().to_string(), ask);
        if (r.ok()) {
          const bool recorded = r.value().recorded.recorded;
          if (outputs.ok())
            stats.jobs_done += recorded ? 1 : 0;
          else
            ++stats.jobs_failed;
          if (options.on_reported) options.on_reported(grant, recorded);
          if (r.value().leased) answered = std::move(r.value().next);
          break;
        }
        if (r.status().code() != StatusCode::kIoError) {  // stale: the lease is gone
          ++stats.jobs_lost;
          if (options.on_reported) options.on_reported(grant, false);
          break;
        }
        sleep_unless_stopped(stop, options.idle_poll_ms);
      }
    }
    idle_since = Clock::now();
  }
  // A grant that rode along but will not run is left to expire: its job
  // returns to the queue after the lease ttl, like a dead group's.
  return stats;
}

}  // namespace radclear::coordinator
