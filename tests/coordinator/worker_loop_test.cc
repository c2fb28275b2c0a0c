#include "coordinator/worker_loop.h"

#include <gtest/gtest.h>

#include "tests/coordinator/coordinator_fixtures.h"

namespace radclear::coordinator {
namespace {

using testing::job;
using testing::ServedCoordinator;
using testing::TempDir;
using testing::wait_until;

CoordinatorOptions served(const TempDir& dir) {
  CoordinatorOptions o;
  o.db = dir.path() / "coord.db";
  o.bind = "tcp://127.0.0.1:*";
  o.scheduler.lease_ttl_ms = 2000;
  o.expiry_tick_ms = 20;
  return o;
}

WorkerLoopOptions loop_options(const std::string& endpoint) {
  WorkerLoopOptions o;
  o.client.endpoint = endpoint;
  o.client.request_timeout_ms = 2000;
  o.group = GroupInfo{"w", 2};
  o.heartbeat_ms = 50;
  o.idle_poll_ms = 20;
  o.exit_when_idle_ms = 300;
  return o;
}

TEST(WorkerLoop, RunsJobsReportsProgressAndFailures) {
  TempDir dir;
  ServedCoordinator c(served(dir));
  ASSERT_TRUE(c.ok());
  SweepSubmission sub;
  sub.sweep = "s";
  TrialSubmission t;
  t.id = "t000";
  t.jobs = {job(Stage::kCrossval, "fold 0"), job(Stage::kCrossval, "fold 1 fails", {}, 1, 2),
            job(Stage::kCrossval, "fold 2")};
  sub.trials = {t};
  CoordinatorClient client(ClientOptions{c.endpoint(), 2000, 3, std::nullopt, ""});
  ASSERT_TRUE(client.Submit(sub).ok());

  std::atomic<bool> stop{false};
  std::atomic<double> seen_fraction{0};
  JobFn fn = [&](const LeaseGrant& g, JobControl& control) -> Result<std::vector<std::string>> {
    control.report(0.5, 7, "folds");
    // A heartbeat carries the progress to the coordinator.
    wait_until([&] {
      auto st = client.Status(g.job_id);
      if (st.ok()) seen_fraction = st.value().jobs[0].fraction;
      return seen_fraction.load() == 0.5;
    }, 5000);
    if (g.payload.find("fails") != std::string::npos) return Status::InvalidArgument("fold 1 has no positives");
    return std::vector<std::string>{"out/" + g.job_id};
  };
  auto stats = run_worker_loop(loop_options(c.endpoint()), fn, stop);
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  EXPECT_EQ(stats.value().jobs_done, 2);
  EXPECT_EQ(stats.value().jobs_failed, 2) << "two attempts of the failing fold";
  // Each done/fail leased the next job: 4 grants cost 1 lease and 4 reports,
  // not 8 requests, besides status, heartbeats and the idle polls at the end.
  const ServerCounters n = c.get().counters();
  EXPECT_EQ(n.scheduler.grants, 4);
  EXPECT_EQ(n.report_grants, 3);
  EXPECT_DOUBLE_EQ(seen_fraction.load(), 0.5);
  auto failed = client.Status(t.jobs[1].id());
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed.value().jobs[0].state, JobState::kFailed);
  EXPECT_NE(failed.value().jobs[0].last_error.find("no positives"), std::string::npos)
      << failed.value().jobs[0].last_error;
  EXPECT_NE(failed.value().jobs[0].last_error.find("attempt 2/2"), std::string::npos);
}

TEST(WorkerLoop, ACancelledJobIsToldToStopAndNotRecorded) {
  TempDir dir;
  ServedCoordinator c(served(dir));
  ASSERT_TRUE(c.ok());
  SweepSubmission sub;
  sub.sweep = "s";
  TrialSubmission t;
  t.id = "t000";
  t.jobs = {job(Stage::kPretrain, "long pretrain")};
  sub.trials = {t};
  CoordinatorClient client(ClientOptions{c.endpoint(), 2000, 3, std::nullopt, ""});
  ASSERT_TRUE(client.Submit(sub).ok());

  std::atomic<bool> stop{false};
  std::atomic<bool> saw_cancel{false};
  JobFn fn = [&](const LeaseGrant& g, JobControl& control) -> Result<std::vector<std::string>> {
    if (!wait_until([&] { return control.cancelled(); }, 10000)) return Status::Internal("never cancelled");
    saw_cancel = true;
    return Status::FailedPrecondition("cancelled");
  };
  std::thread canceller([&] {
    wait_until([&] {
      auto st = client.Status(t.jobs[0].id());
      return st.ok() && st.value().jobs[0].state == JobState::kRunning;
    }, 10000);
    (void)client.Cancel("s");
  });
  auto stats = run_worker_loop(loop_options(c.endpoint()), fn, stop);
  canceller.join();
  ASSERT_TRUE(stats.ok());
  EXPECT_TRUE(saw_cancel.load());
  EXPECT_EQ(stats.value().jobs_lost, 1);
  EXPECT_EQ(stats.value().jobs_done, 0);
  auto st = client.Status(t.jobs[0].id());
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st.value().jobs[0].state, JobState::kCancelled);
}

}  // namespace
}  // namespace radclear::coordinator
