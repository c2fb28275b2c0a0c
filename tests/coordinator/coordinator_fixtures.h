#pragma once
// Shared by the coordinator tests: a temp directory, small job DAGs, and a
// coordinator served from a thread of the test process.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/temp_dir.h"
#include "coordinator/scheduler.h"
#include "coordinator/server.h"

namespace radclear::coordinator::testing {

namespace fs = std::filesystem;

using TempDir = ::radclear::testing::TempDir;

inline JobSubmission job(Stage stage, const std::string& payload, std::vector<std::string> inputs = {},
                         int min_ranks = 1, int max_attempts = 0) {
  JobSubmission j;
  j.stage = stage;
  j.payload = payload;
  j.inputs = std::move(inputs);
  j.min_ranks = min_ranks;
  j.max_attempts = max_attempts;
  return j;
}

// One trial: pretrain -> `shards` extract jobs -> `folds` crossval jobs -> report.
inline TrialSubmission chain_trial(const std::string& id, const std::string& tag, int shards, int folds,
                                   int pretrain_ranks = 1, int max_attempts = 0) {
  TrialSubmission t;
  t.id = id;
  t.jobs.push_back(job(Stage::kPretrain, "pretrain " + tag, {}, pretrain_ranks, max_attempts));
  const std::string p = t.jobs.back().id();
  std::vector<std::string> extract;
  for (int s = 0; s < shards; ++s) {
    t.jobs.push_back(job(Stage::kExtract, fmt::format("extract {} shard {}", tag, s), {p}, 1, max_attempts));
    extract.push_back(t.jobs.back().id());
  }
  std::vector<std::string> crossval;
  for (int f = 0; f < folds; ++f) {
    t.jobs.push_back(job(Stage::kCrossval, fmt::format("crossval {} fold {}", tag, f), extract, 1, max_attempts));
    crossval.push_back(t.jobs.back().id());
  }
  t.jobs.push_back(job(Stage::kReport, "report " + tag, crossval, 1, max_attempts));
  return t;
}

// Polls `cond` every 20 ms until it holds or `timeout_ms` passes.
inline bool wait_until(const std::function<bool()>& cond, int64_t timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

// A Coordinator served by a thread of the test process.
class ServedCoordinator {
 public:
  explicit ServedCoordinator(const CoordinatorOptions& options) {
    auto c = Coordinator::Open(options);
    if (!c.ok()) {
      open_status_ = c.status();
      return;
    }
    coordinator_ = std::move(c).value();
    thread_ = std::thread([this] { run_status_ = coordinator_->Run(stop_); });
  }
  ~ServedCoordinator() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  bool ok() const { return coordinator_ != nullptr; }
  const Status& open_status() const { return open_status_; }
  const Status& run_status() const { return run_status_; }
  Coordinator& get() { return *coordinator_; }
  std::string endpoint() const { return coordinator_->endpoint(); }

 private:
  std::unique_ptr<Coordinator> coordinator_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  Status open_status_;
  Status run_status_;
};

}  // namespace radclear::coordinator::testing
