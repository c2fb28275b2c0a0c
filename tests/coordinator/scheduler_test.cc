#include "coordinator/scheduler.h"

#include <chrono>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "tests/coordinator/coordinator_fixtures.h"

namespace radclear::coordinator {
namespace {

using testing::chain_trial;
using testing::job;
using testing::TempDir;

constexpr int64_t kTtl = 1000;

SchedulerOptions options(int max_attempts = 3) {
  SchedulerOptions o;
  o.lease_ttl_ms = kTtl;
  o.default_max_attempts = max_attempts;
  return o;
}

SweepSubmission one_trial(TrialSubmission t, const std::string& sweep = "s") {
  SweepSubmission sub;
  sub.sweep = sweep;
  sub.trials.push_back(std::move(t));
  return sub;
}

LeaseGrant must_lease(Scheduler& s, const GroupInfo& g, int64_t now, const std::string& token = "") {
  auto r = s.Lease(g, token, now);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_TRUE(r.ok() && r.value().has_value()) << "no job for group " << g.id;
  return r.ok() && r.value() ? *r.value() : LeaseGrant{};
}

bool no_job_for(Scheduler& s, const GroupInfo& g, int64_t now) {
  auto r = s.Lease(g, "", now);
  return r.ok() && !r.value().has_value();
}

// The table's invariants, after any sequence of calls. `ids`: every job
// of sweep "s".
void expect_invariants(const Scheduler& s, const std::vector<std::string>& ids) {
  size_t leased = 0;
  for (const std::string& id : ids) {
    const Job* j = s.Find(id);
    ASSERT_NE(j, nullptr) << id;
    // No job is LEASED or RUNNING without a live lease, nor holds one otherwise.
    EXPECT_EQ(is_leased(j->state), j->lease.has_value()) << id << " " << job_state_name(j->state);
    if (j->lease) {
      EXPECT_EQ(j->lease->epoch, j->epoch) << id;
      ++leased;
    }
    if (j->state == JobState::kReady || is_leased(j->state) || j->state == JobState::kDone) {
      for (const std::string& in : j->inputs)
        EXPECT_EQ(s.Find(in)->state, JobState::kDone) << id << " ran before its input " << in;
    }
    EXPECT_LE(j->attempts, j->max_attempts) << id;
  }
  EXPECT_EQ(leased, s.leased_count());
  // The per-sweep and per-trial tallies agree with a recount.
  auto status = s.Query("s", 0);
  ASSERT_TRUE(status.ok());
  StateCounts sweep;
  std::map<std::string, StateCounts> trials;
  for (const std::string& id : ids) {
    const Job* j = s.Find(id);
    sweep.add(j->state);
    for (const TrialRef& o : j->owners) trials[o.trial].add(j->state);
  }
  EXPECT_EQ(status.value().sweeps[0].counts.by_state, sweep.by_state);
  EXPECT_EQ(status.value().sweeps[0].counts.total, sweep.total);
  for (const TrialRow& t : status.value().trials) EXPECT_EQ(t.counts.by_state, trials[t.id].by_state) << t.id;
}

TEST(Scheduler, JobsBecomeReadyWhenTheirInputsAreDone) {
  Scheduler s(nullptr, options());
  auto sub = one_trial(chain_trial("t000", "a", 2, 2));
  auto r = s.Submit(sub, 0);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r.value().jobs_new, 6);
  const auto& jobs = sub.trials[0].jobs;
  EXPECT_EQ(s.Find(jobs[0].id())->state, JobState::kReady);
  for (size_t i = 1; i < jobs.size(); ++i) EXPECT_EQ(s.Find(jobs[i].id())->state, JobState::kPending);

  const GroupInfo g{"g", 1};
  LeaseGrant p = must_lease(s, g, 1);
  EXPECT_EQ(p.stage, Stage::kPretrain);
  EXPECT_TRUE(no_job_for(s, g, 1)) << "extraction waits for pretraining";
  ASSERT_TRUE(s.Done(p.job_id, p.epoch, {"out/" + p.job_id}, 2).ok());
  LeaseGrant a = must_lease(s, g, 3);
  LeaseGrant b = must_lease(s, g, 3);
  EXPECT_EQ(a.stage, Stage::kExtract);
  EXPECT_EQ(b.stage, Stage::kExtract);
  ASSERT_EQ(a.inputs.size(), 1u);
  EXPECT_EQ(a.inputs[0].outputs, std::vector<std::string>{"out/" + p.job_id});
  EXPECT_EQ(a.payload, jobs[1].payload);
  ASSERT_TRUE(s.Done(a.job_id, a.epoch, {}, 4).ok());
  EXPECT_EQ(s.Find(jobs[3].id())->state, JobState::kPending) << "crossval waits for every shard";
  EXPECT_TRUE(no_job_for(s, g, 4));
  ASSERT_TRUE(s.Done(b.job_id, b.epoch, {}, 5).ok());
  EXPECT_EQ(s.Find(jobs[3].id())->state, JobState::kReady);
  for (int k = 0; k < 2; ++k) {
    LeaseGrant f = must_lease(s, g, 6);
    EXPECT_EQ(f.stage, Stage::kCrossval);
    EXPECT_EQ(f.inputs.size(), 2u);
    ASSERT_TRUE(s.Done(f.job_id, f.epoch, {}, 7).ok());
  }
  LeaseGrant report = must_lease(s, g, 8);
  EXPECT_EQ(report.stage, Stage::kReport);
  ASSERT_TRUE(s.Done(report.job_id, report.epoch, {}, 9).ok());
  for (const auto& j : jobs) EXPECT_EQ(s.Find(j.id())->state, JobState::kDone);
  EXPECT_EQ(s.counters().done_recorded, 6);
}

TEST(Scheduler, IdenticalJobsAreSharedAcrossTrials) {
  Scheduler s(nullptr, options());
  SweepSubmission sub;
  sub.sweep = "s";
  // Same pretrain and extract, different crossval payloads.
  TrialSubmission a = chain_trial("t000", "x", 2, 2);
  TrialSubmission b = chain_trial("t001", "x", 2, 2);
  b.jobs[3].payload += " pma";
  b.jobs[4].payload += " pma";
  b.jobs[5] = job(Stage::kReport, "report pma", {b.jobs[3].id(), b.jobs[4].id()});
  sub.trials = {a, b};
  auto r = s.Submit(sub, 0);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r.value().jobs_new, 6 + 3);
  EXPECT_EQ(r.value().jobs_shared, 3);
  EXPECT_EQ(s.size(), 9u);
  const Job* pretrain = s.Find(a.jobs[0].id());
  ASSERT_EQ(pretrain->owners.size(), 2u);
  // Submitting the same sweep again adds nothing.
  auto again = s.Submit(sub, 1);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value().jobs_new, 0);
  EXPECT_EQ(s.size(), 9u);
}

TEST(Scheduler, GangJobsNeedAWholeGroupOfEnoughRanks) {
  Scheduler s(nullptr, options());
  SweepSubmission sub;
  sub.sweep = "s";
  TrialSubmission gang;
  gang.id = "t000";
  gang.jobs.push_back(job(Stage::kPretrain, "big", {}, /*min_ranks=*/4));
  sub.trials.push_back(gang);
  TrialSubmission other;
  other.id = "t001";
  other.jobs.push_back(job(Stage::kCrossval, "independent fold"));
  sub.trials.push_back(other);
  ASSERT_TRUE(s.Submit(sub, 0).ok());

  LeaseGrant small = must_lease(s, GroupInfo{"two", 2}, 0);
  EXPECT_EQ(small.stage, Stage::kCrossval) << "a 2-rank group cannot host a 4-rank gang job";
  EXPECT_TRUE(no_job_for(s, GroupInfo{"two-again", 2}, 0));
  LeaseGrant big = must_lease(s, GroupInfo{"eight", 8}, 0);
  EXPECT_EQ(big.stage, Stage::kPretrain);
  EXPECT_EQ(s.Find(big.job_id)->lease->ranks, 8);
}

TEST(Scheduler, GangJobsGoFirstToGroupsThatFitThem) {
  Scheduler s(nullptr, options());
  SweepSubmission sub;
  sub.sweep = "s";
  TrialSubmission folds;
  folds.id = "t000";
  folds.jobs.push_back(job(Stage::kCrossval, "older fold"));
  sub.trials.push_back(folds);
  TrialSubmission gang;
  gang.id = "t001";
  gang.jobs.push_back(job(Stage::kPretrain, "p", {}, 2));
  sub.trials.push_back(gang);
  ASSERT_TRUE(s.Submit(sub, 0).ok());
  EXPECT_EQ(must_lease(s, GroupInfo{"g", 2}, 0).stage, Stage::kPretrain);
  EXPECT_EQ(must_lease(s, GroupInfo{"h", 2}, 0).stage, Stage::kCrossval);
}

TEST(Scheduler, HeartbeatsKeepTheLeaseAndExpiryRequeuesThenFails) {
  Scheduler s(nullptr, options(/*max_attempts=*/2));
  auto sub = one_trial(chain_trial("t000", "a", 1, 1));
  ASSERT_TRUE(s.Submit(sub, 0).ok());
  const GroupInfo g{"g", 1};
  LeaseGrant first = must_lease(s, g, 0);
  EXPECT_EQ(s.Find(first.job_id)->state, JobState::kLeased);
  auto beats = s.Heartbeat(g, {Beat{first.job_id, first.epoch, Progress{0.5, 10, "steps", 0}}}, 900);
  ASSERT_EQ(beats.size(), 1u);
  EXPECT_EQ(beats[0].verdict, BeatVerdict::kOk);
  EXPECT_EQ(s.Find(first.job_id)->state, JobState::kRunning);
  EXPECT_EQ(s.ExpireLeases(1500), 0) << "the heartbeat at 900 renewed the lease to 1900";
  EXPECT_EQ(s.ExpireLeases(1900), 1);
  const Job* j = s.Find(first.job_id);
  EXPECT_EQ(j->state, JobState::kReady);
  EXPECT_NE(j->last_error.find("expired"), std::string::npos) << j->last_error;
  EXPECT_EQ(s.Heartbeat(g, {Beat{first.job_id, first.epoch, std::nullopt}}, 1901)[0].verdict, BeatVerdict::kStale);

  LeaseGrant second = must_lease(s, g, 2000);
  EXPECT_EQ(second.job_id, first.job_id);
  EXPECT_EQ(second.epoch, first.epoch + 1);
  EXPECT_EQ(second.attempt, 2);
  EXPECT_EQ(s.ExpireLeases(3000), 1);
  j = s.Find(first.job_id);
  EXPECT_EQ(j->state, JobState::kFailed) << "max_attempts = 2 used up";
  EXPECT_NE(j->last_error.find("attempt 2/2"), std::string::npos) << j->last_error;
  for (size_t i = 1; i < sub.trials[0].jobs.size(); ++i) {
    const Job* dep = s.Find(sub.trials[0].jobs[i].id());
    EXPECT_EQ(dep->state, JobState::kCancelled);
    EXPECT_NE(dep->last_error.find("FAILED"), std::string::npos) << dep->last_error;
  }
  std::vector<std::string> all;
  for (const auto& js : sub.trials[0].jobs) all.push_back(js.id());
  expect_invariants(s, all);
}

TEST(Scheduler, ALateDoneFromAnExpiredLeaseNeverRecords) {
  Scheduler s(nullptr, options());
  TrialSubmission t;
  t.id = "t000";
  t.jobs.push_back(job(Stage::kExtract, "shard"));
  ASSERT_TRUE(s.Submit(one_trial(t), 0).ok());
  LeaseGrant a = must_lease(s, GroupInfo{"a", 1}, 0);
  ASSERT_EQ(s.ExpireLeases(kTtl), 1);
  LeaseGrant b = must_lease(s, GroupInfo{"b", 1}, kTtl + 1);
  ASSERT_EQ(a.job_id, b.job_id);

  auto late = s.Done(a.job_id, a.epoch, {"from a"}, kTtl + 2);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(late.status().message().find("not recorded"), std::string::npos);
  EXPECT_EQ(s.Find(a.job_id)->state, JobState::kLeased);

  auto ok = s.Done(b.job_id, b.epoch, {"from b"}, kTtl + 3);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok.value().recorded);
  auto repeat = s.Done(b.job_id, b.epoch, {"from b"}, kTtl + 4);  // reply was lost; worker retries
  ASSERT_TRUE(repeat.ok());
  EXPECT_FALSE(repeat.value().recorded);
  auto later = s.Done(a.job_id, a.epoch, {"from a"}, kTtl + 5);
  EXPECT_FALSE(later.ok());
  EXPECT_EQ(s.Find(a.job_id)->outputs, std::vector<std::string>{"from b"});
  EXPECT_EQ(s.counters().done_recorded, 1);
  EXPECT_EQ(s.Fail(a.job_id, a.epoch, "late", kTtl + 6).status().code(), StatusCode::kFailedPrecondition);
}

TEST(Scheduler, FailRetriesUntilMaxAttemptsThenKeepsTheLastError) {
  Scheduler s(nullptr, options(3));
  TrialSubmission t;
  t.id = "t000";
  t.jobs.push_back(job(Stage::kCrossval, "fold 3"));
  t.jobs.push_back(job(Stage::kReport, "report", {t.jobs[0].id()}));
  TrialSubmission u;
  u.id = "t001";
  u.jobs.push_back(job(Stage::kCrossval, "fold 4"));
  SweepSubmission sub;
  sub.sweep = "s";
  sub.trials = {t, u};
  ASSERT_TRUE(s.Submit(sub, 0).ok());
  const std::string fold = t.jobs[0].id();
  for (int attempt = 1; attempt <= 3; ++attempt) {
    LeaseGrant g = must_lease(s, GroupInfo{"g", 1}, attempt);
    ASSERT_EQ(g.job_id, fold) << "the older READY job goes first";
    auto f = s.Fail(fold, g.epoch, fmt::format("NaN loss at step {}", attempt), attempt);
    ASSERT_TRUE(f.ok());
    EXPECT_TRUE(f.value().recorded);
    EXPECT_TRUE(s.Fail(fold, g.epoch, "repeat", attempt).ok()) << "a repeated fail is acknowledged";
  }
  LeaseGrant other = must_lease(s, GroupInfo{"g", 1}, 4);
  EXPECT_EQ(other.job_id, u.jobs[0].id());
  ASSERT_TRUE(s.Done(other.job_id, other.epoch, {}, 5).ok());
  const Job* j = s.Find(fold);
  EXPECT_EQ(j->state, JobState::kFailed);
  EXPECT_NE(j->last_error.find("NaN loss at step 3"), std::string::npos) << j->last_error;
  EXPECT_EQ(s.Find(t.jobs[1].id())->state, JobState::kCancelled);
  EXPECT_EQ(s.Find(u.jobs[0].id())->state, JobState::kDone) << "the rest of the sweep finishes";
  auto status = s.Query("s/t000/" + fold, 10);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status.value().jobs[0].last_error, j->last_error);
}

TEST(Scheduler, CancelCascadesAndRetryRearmsDownstream) {
  Scheduler s(nullptr, options());
  auto sub = one_trial(chain_trial("t000", "a", 2, 2));
  ASSERT_TRUE(s.Submit(sub, 0).ok());
  const auto& jobs = sub.trials[0].jobs;
  LeaseGrant g = must_lease(s, GroupInfo{"g", 1}, 0);
  auto n = s.Cancel(jobs[0].id(), 1);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n.value(), static_cast<int64_t>(jobs.size())) << "the pretrain job and everything downstream";
  for (const auto& j : jobs) EXPECT_EQ(s.Find(j.id())->state, JobState::kCancelled) << j.id();
  EXPECT_EQ(s.Heartbeat(GroupInfo{"g", 1}, {Beat{g.job_id, g.epoch, std::nullopt}}, 2)[0].verdict,
            BeatVerdict::kCancelled);
  EXPECT_FALSE(s.Done(g.job_id, g.epoch, {}, 3).ok()) << "a cancelled job is not recorded as done";
  auto r = s.Retry(jobs[0].id(), 4);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), static_cast<int64_t>(jobs.size()));
  EXPECT_EQ(s.Find(jobs[0].id())->state, JobState::kReady);
  EXPECT_EQ(s.Find(jobs[0].id())->attempts, 0);
  for (size_t i = 1; i < jobs.size(); ++i) EXPECT_EQ(s.Find(jobs[i].id())->state, JobState::kPending);
  EXPECT_EQ(s.Cancel("nope", 5).status().code(), StatusCode::kNotFound);
}

TEST(Scheduler, CancellingATrialSparesJobsSharedWithAnother) {
  Scheduler s(nullptr, options());
  SweepSubmission sub;
  sub.sweep = "s";
  TrialSubmission a = chain_trial("t000", "x", 1, 1);
  TrialSubmission b = chain_trial("t001", "x", 1, 1);
  b.jobs[2].payload += " other";
  b.jobs[3] = job(Stage::kReport, "report other", {b.jobs[2].id()});
  sub.trials = {a, b};
  ASSERT_TRUE(s.Submit(sub, 0).ok());
  ASSERT_TRUE(s.Cancel("s/t001", 1).ok());
  EXPECT_EQ(s.Find(a.jobs[0].id())->state, JobState::kReady) << "pretrain is shared with t000";
  EXPECT_EQ(s.Find(b.jobs[2].id())->state, JobState::kCancelled);
  EXPECT_EQ(s.Find(a.jobs[2].id())->state, JobState::kPending);
  ASSERT_TRUE(s.Cancel("s", 2).ok());
  EXPECT_EQ(s.Find(a.jobs[0].id())->state, JobState::kCancelled);
}

TEST(Scheduler, ARetriedLeaseRequestGetsTheSameGrant) {
  Scheduler s(nullptr, options());
  TrialSubmission t;
  t.id = "t000";
  t.jobs = {job(Stage::kExtract, "a"), job(Stage::kExtract, "b")};
  ASSERT_TRUE(s.Submit(one_trial(t), 0).ok());
  LeaseGrant first = must_lease(s, GroupInfo{"g", 1}, 0, "g:1");
  LeaseGrant again = must_lease(s, GroupInfo{"g", 1}, 1, "g:1");
  EXPECT_EQ(first.job_id, again.job_id);
  EXPECT_EQ(first.epoch, again.epoch);
  EXPECT_EQ(first.payload, again.payload);
  LeaseGrant next = must_lease(s, GroupInfo{"g", 1}, 2, "g:2");
  EXPECT_NE(next.job_id, first.job_id);
}

TEST(Scheduler, SubmitRefusesDanglingInputsAndChangesNothing) {
  Scheduler s(nullptr, options());
  TrialSubmission t;
  t.id = "t000";
  t.jobs = {job(Stage::kExtract, "a"), job(Stage::kCrossval, "b", {"pretrain-doesnotexist"})};
  auto r = s.Submit(one_trial(t), 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("pretrain-doesnotexist"), std::string::npos);
  EXPECT_EQ(s.size(), 0u);
  EXPECT_FALSE(s.Submit(one_trial(chain_trial("t0", "a", 1, 1), "a/b"), 0).ok());
}

// Random calls in random order: the invariants hold after each.
TEST(Scheduler, InvariantsHoldUnderRandomOperations) {
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    Scheduler s(nullptr, options(2));
    SweepSubmission sub;
    sub.sweep = "s";
    for (int t = 0; t < 3; ++t) sub.trials.push_back(chain_trial(fmt::format("t{}", t), fmt::format("{}", t % 2), 3, 2, 1 + t));
    ASSERT_TRUE(s.Submit(sub, 0).ok());
    std::vector<std::string> ids;  // distinct: trials 0 and 2 share their jobs
    for (const auto& t : sub.trials)
      for (const auto& j : t.jobs)
        if (std::find(ids.begin(), ids.end(), j.id()) == ids.end()) ids.push_back(j.id());
    std::vector<LeaseGrant> held;
    int64_t now = 0;
    for (int step = 0; step < 400; ++step) {
      now += std::uniform_int_distribution<int>(0, 400)(rng);
      const int op = std::uniform_int_distribution<int>(0, 9)(rng);
      const GroupInfo g{fmt::format("g{}", op % 3), 1 + op % 4};
      if (op <= 3) {
        auto r = s.Lease(g, "", now);
        ASSERT_TRUE(r.ok());
        if (r.value()) held.push_back(*r.value());
      } else if (!held.empty() && op <= 7) {
        const size_t k = std::uniform_int_distribution<size_t>(0, held.size() - 1)(rng);
        const LeaseGrant h = held[k];
        if (op == 4) s.Heartbeat(g, {Beat{h.job_id, h.epoch, Progress{0.5, 1, "x", now}}}, now);
        if (op == 5 || op == 6) (void)s.Done(h.job_id, h.epoch, {"o"}, now);
        if (op == 7) (void)s.Fail(h.job_id, h.epoch, "boom", now);
        if (op != 4) held.erase(held.begin() + k);
      } else if (op == 8) {
        s.ExpireLeases(now);
      } else {
        const std::string& id = ids[std::uniform_int_distribution<size_t>(0, ids.size() - 1)(rng)];
        if (rng() % 2) {
          ASSERT_TRUE(s.Cancel(id, now).ok());
        } else {
          ASSERT_TRUE(s.Retry(id, now).ok());
        }
      }
      expect_invariants(s, ids);
      if (::testing::Test::HasFailure()) return;
    }
  }
}

TEST(Scheduler, AReopenedStoreRebuildsTheTableAndHonoursLiveLeases) {
  TempDir dir;
  auto sub = one_trial(chain_trial("t000", "a", 2, 1));
  const auto& jobs = sub.trials[0].jobs;
  LeaseGrant running;
  {
    auto store = JobStore::Open(dir.path() / "db");
    ASSERT_TRUE(store.ok());
    Scheduler s(store.value().get(), options());
    ASSERT_TRUE(s.Load(0).ok());
    ASSERT_TRUE(s.Submit(sub, 0).ok());
    LeaseGrant p = must_lease(s, GroupInfo{"g", 1}, 1);
    ASSERT_TRUE(s.Done(p.job_id, p.epoch, {"ckpt.pth.tar"}, 2).ok());
    running = must_lease(s, GroupInfo{"g", 1}, 3);
    s.Heartbeat(GroupInfo{"g", 1}, {Beat{running.job_id, running.epoch, Progress{0.3, 5, "slices", 0}}}, 4);
    ASSERT_TRUE(s.Commit(4, true).ok());
    // Not committed: lost in the crash.
    LeaseGrant lost = must_lease(s, GroupInfo{"g", 1}, 5);
    EXPECT_EQ(s.Find(lost.job_id)->state, JobState::kLeased);
  }
  auto store = JobStore::Open(dir.path() / "db");
  ASSERT_TRUE(store.ok());
  Scheduler s(store.value().get(), options());
  ASSERT_TRUE(s.Load(10'000).ok());
  EXPECT_EQ(s.size(), jobs.size());
  EXPECT_EQ(s.Find(jobs[0].id())->state, JobState::kDone);
  EXPECT_EQ(s.Find(jobs[0].id())->outputs, std::vector<std::string>{"ckpt.pth.tar"});
  const Job* r = s.Find(running.job_id);
  EXPECT_EQ(r->state, JobState::kRunning);
  EXPECT_DOUBLE_EQ(r->progress.fraction, 0.3);
  EXPECT_EQ(r->lease->expires_ms, 10'000 + kTtl) << "the lease clock restarts at load";
  EXPECT_EQ(s.leased_count(), 1u);
  // The uncommitted grant is gone: the other shard is READY again.
  const std::string other = running.job_id == jobs[1].id() ? jobs[2].id() : jobs[1].id();
  EXPECT_EQ(s.Find(other)->state, JobState::kReady);
  // The surviving worker finishes under its epoch.
  auto d = s.Done(running.job_id, running.epoch, {"a.h5"}, 10'001);
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_TRUE(d.value().recorded);
  auto payload = s.Payload(jobs[1].id());
  ASSERT_TRUE(payload.ok());
  EXPECT_EQ(payload.value(), jobs[1].payload);
}

TEST(Scheduler, AFailedCommitRollsMemoryBackToDisk) {
  TempDir dir;
  auto sub = one_trial(chain_trial("t000", "a", 1, 1));
  {
    auto store = JobStore::Open(dir.path() / "db");
    ASSERT_TRUE(store.ok());
    Scheduler s(store.value().get(), options());
    ASSERT_TRUE(s.Submit(sub, 0).ok());
    ASSERT_TRUE(s.Commit(0).ok());
  }
  // A read-only store refuses every commit: a stand-in for a failing disk.
  JobStoreOptions ro;
  ro.read_only = true;
  auto store = JobStore::Open(dir.path() / "db", ro);
  ASSERT_TRUE(store.ok());
  Scheduler s(store.value().get(), options());
  ASSERT_TRUE(s.Load(0).ok());
  LeaseGrant g = must_lease(s, GroupInfo{"g", 1}, 1);
  EXPECT_EQ(s.Find(g.job_id)->state, JobState::kLeased);
  Status c = s.Commit(1);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.Find(g.job_id)->state, JobState::kReady) << "the grant never reached disk, so it is forgotten";
  EXPECT_EQ(s.leased_count(), 0u);
  EXPECT_FALSE(s.has_pending());
}

TEST(Scheduler, StatusAnswersPerSweepTrialAndJob) {
  Scheduler s(nullptr, options());
  SweepSubmission sub;
  sub.sweep = "s";
  sub.trials = {chain_trial("t000", "a", 2, 2), chain_trial("t001", "b", 2, 2)};
  sub.trials[0].overrides = {"pretrain.lr=0.1"};
  ASSERT_TRUE(s.Submit(sub, 0).ok());
  LeaseGrant g = must_lease(s, GroupInfo{"node1", 4}, 1000);
  s.Heartbeat(GroupInfo{"node1", 4}, {Beat{g.job_id, g.epoch, Progress{0.25, 12.5, "steps", 0}}}, 3000);

  auto all = s.Query("", 3000);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all.value().sweeps.size(), 1u);
  EXPECT_EQ(all.value().sweeps[0].counts.total, 12);
  EXPECT_EQ(all.value().sweeps[0].counts.of(JobState::kRunning), 1);

  auto sweep = s.Query("s", 3000);
  ASSERT_TRUE(sweep.ok());
  ASSERT_EQ(sweep.value().trials.size(), 2u);
  EXPECT_EQ(sweep.value().trials[0].overrides, std::vector<std::string>{"pretrain.lr=0.1"});

  auto trial = s.Query("s/t000", 3000);
  ASSERT_TRUE(trial.ok());
  ASSERT_EQ(trial.value().jobs.size(), 6u);
  const JobRow* row = nullptr;
  for (const JobRow& r : trial.value().jobs)
    if (r.id == g.job_id) row = &r;
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->group, "node1");
  EXPECT_EQ(row->ranks, 4);
  EXPECT_DOUBLE_EQ(row->rate, 12.5);
  // 2 s for 25 % -> 6 s left at the report, 0 s since.
  EXPECT_NEAR(row->eta_s, 6.0, 1e-9);

  auto one = s.Query(g.job_id, 3000);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one.value().jobs.size(), 1u);
  EXPECT_EQ(s.Query("s/t009", 0).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s.Query("nope", 0).status().code(), StatusCode::kNotFound);
  EXPECT_NE(format_status(trial.value()).find("node1x4"), std::string::npos);
}

TEST(Scheduler, StatusOfAHundredThousandJobsTakesUnder50ms) {
  Scheduler s(nullptr, options());
  SweepSubmission sub;
  sub.sweep = "big";
  for (int t = 0; t < 1000; ++t) {
    TrialSubmission trial;
    trial.id = fmt::format("t{:04d}", t);
    for (int j = 0; j < 100; ++j) trial.jobs.push_back(job(Stage::kExtract, fmt::format("{} {}", t, j)));
    sub.trials.push_back(std::move(trial));
  }
  ASSERT_TRUE(s.Submit(sub, 0).ok());
  ASSERT_EQ(s.size(), 100'000u);
  double best_ms = 1e9;
  for (const std::string q : {"", "big", "big", "big/t0500"}) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = s.Query(q, 0);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(r.ok());
    if (q == "big") best_ms = std::min(best_ms, ms);
    std::printf("status '%s': %.2f ms\n", q.c_str(), ms);
  }
  EXPECT_LT(best_ms, 50.0) << "status of a 100,000-job sweep";
}

}  // namespace
}  // namespace radclear::coordinator
