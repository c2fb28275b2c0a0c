#include "worker/runner/group_worker.h"

#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "stages/any_spec.h"
#include "stages/outputs.h"
#include "worker/runner/job_runner.h"
#include "worker/runner/process.h"

namespace radclear::runner {

namespace {

using Clock = std::chrono::steady_clock;

// Rank 0 -> every rank: a length (0 = stop), then the payload's bytes.
void send_payload(worker::Communicator& comm, const std::string& payload) {
  int64_t n = static_cast<int64_t>(payload.size());
  comm.broadcast(&n, 1, worker::DType::kInt64, 0);
  if (n > 0) comm.broadcast(const_cast<char*>(payload.data()), payload.size(), worker::DType::kUInt8, 0);
}

// Empty when rank 0 said stop.
std::string receive_payload(worker::Communicator& comm) {
  int64_t n = 0;
  comm.broadcast(&n, 1, worker::DType::kInt64, 0);
  std::string payload(static_cast<size_t>(std::max<int64_t>(n, 0)), '\0');
  if (n > 0) comm.broadcast(payload.data(), payload.size(), worker::DType::kUInt8, 0);
  return payload;
}

// Sets `token` when `stop` or `lost()` becomes true, until destroyed.
class CancelWatch {
 public:
  CancelWatch(const std::atomic<bool>& stop, std::function<bool()> lost, CancelToken token)
      : thread_([this, &stop, lost = std::move(lost), token] {
          while (!done_.load()) {
            if (stop.load() || (lost && lost())) token.request();
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
          }
        }) {}
  ~CancelWatch() {
    done_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

stages::RankContext job_context(const stages::RankContext& base, const stages::AnySpec& spec) {
  stages::RankContext ctx = base;
  ctx.cancel = CancelToken();
  ctx.progress = nullptr;
  ctx.threads = stage_threads(spec, base);
  set_process_threads(ctx.threads);
  return ctx;
}

}  // namespace

Result<coordinator::WorkerLoopStats> serve_group(const GroupWorkerOptions& options, const stages::RankContext& base,
                                                 const std::atomic<bool>& stop) {
  if (base.comm == nullptr) return Status::Internal("serve_group: the rank context has no communicator");
  worker::Communicator& comm = *base.comm;
  const bool many = base.world > 1;
  if (many && !options.abort_world) return Status::Internal("serve_group: a world of several ranks needs abort_world");

  if (!base.is_root()) {
    // Follow rank 0: run what it sends until it says stop.
    while (true) {
      const std::string payload = receive_payload(comm);
      if (payload.empty()) return coordinator::WorkerLoopStats{};
      stages::AnySpec spec;
      try {
        spec = stages::any_from_payload(payload);
      } catch (const Error& e) {
        spdlog::error("rank {}: job payload: {}", base.rank, e.what());
        options.abort_world(1);
        return e.to_status();
      }
      stages::RankContext ctx = job_context(base, spec);
      CancelWatch watch(stop, nullptr, ctx.cancel);
      const auto result = run_stage(spec, ctx);
      if (!result.ok()) {
        spdlog::error("rank {}: {}", base.rank, result.status().message());
        options.abort_world(1);  // rank 0 may be inside a collective with us
        return result.status();
      }
    }
  }

  bool abort_after_report = false;
  coordinator::WorkerLoopOptions loop = options.loop;
  const auto on_reported = loop.on_reported;
  loop.on_reported = [&](const coordinator::LeaseGrant& grant, bool recorded) {
    if (on_reported) on_reported(grant, recorded);
    if (abort_after_report) options.abort_world(1);
  };
  auto job = [&](const coordinator::LeaseGrant& grant,
                 coordinator::JobControl& control) -> Result<std::vector<std::string>> {
    stages::AnySpec spec;
    try {
      spec = stages::any_from_payload(grant.payload);  // a bad payload fails here, on rank 0 alone
    } catch (const Error& e) {
      return e.to_status();
    }
    spdlog::info("worker {}: job {} ({}), attempt {}", loop.group.id, grant.job_id, stages::stage_name(spec),
                 grant.attempt);
    if (many) send_payload(comm, grant.payload);
    stages::RankContext ctx = job_context(base, spec);
    const auto t0 = Clock::now();
    ctx.progress = [&control, t0](const stages::ProgressEvent& e) {
      const double s = std::chrono::duration<double>(Clock::now() - t0).count();
      control.report(e.total > 0 ? static_cast<double>(e.done) / static_cast<double>(e.total) : 0.0,
                     s > 0 ? static_cast<double>(e.done) / s : 0.0, e.unit);
    };
    CancelWatch watch(stop, [&control] { return control.cancelled(); }, ctx.cancel);
    const auto result = run_stage(spec, ctx);
    if (!result.ok()) {
      abort_after_report = many;  // the others may wait in a collective
      return result.status();
    }
    const StageReport& report = result.value();
    if (report.outcome == stages::Outcome::kCancelled) {
      control.cancel();  // not recorded: the lease expires or was lost; a rerun resumes
      return Status::Internal(fmt::format("job {} stopped before its end: {}", grant.job_id, report.summary));
    }
    if (report.failed_items > 0) {
      return Status::Internal(fmt::format("{} item(s) failed: {}", report.failed_items, report.summary));
    }
    std::vector<std::string> outputs = stages::output_paths(spec);
    if (!report.summary.empty()) outputs.push_back(report.summary);
    return outputs;
  };
  auto stats = coordinator::run_worker_loop(loop, job, stop);
  if (many) send_payload(comm, std::string());  // everyone stops
  return stats;
}

}  // namespace radclear::runner
