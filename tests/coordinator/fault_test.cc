// Fault tests with real processes: a fake worker (or the coordinator) is
// forked from radclear_coordinator_helper and SIGKILLed mid-work. Loopback
// only; every wait is bounded.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "coordinator/client.h"
#include "tests/coordinator/coordinator_fixtures.h"

namespace radclear::coordinator {
namespace {

using testing::chain_trial;
using testing::ServedCoordinator;
using testing::TempDir;
using testing::wait_until;

// A child process running the helper; SIGKILLed and reaped if still alive
// when it goes out of scope.
class Child {
 public:
  explicit Child(std::vector<std::string> args) {
    args.insert(args.begin(), RADCLEAR_COORDINATOR_HELPER);
    pid_ = ::fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~Child() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  void Kill() {
    ASSERT_EQ(::kill(pid_, SIGKILL), 0);
    ::waitpid(pid_, nullptr, 0);
    exited_ = true;
  }
  // The exit code, or -1 if it did not exit within timeout_ms.
  int Wait(int64_t timeout_ms) {
    int status = 0;
    const bool done = wait_until([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, timeout_ms);
    if (!done) return -1;
    exited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  bool running() { return !exited_ && ::waitpid(pid_, nullptr, WNOHANG) == 0; }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
};

std::vector<std::string> read_lines(const std::filesystem::path& p) {
  std::vector<std::string> lines;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> worker_args(const std::string& endpoint, const std::string& group, int64_t work_ms,
                                     const std::filesystem::path& log, int64_t idle_exit_ms = 1500) {
  return {"work", "--endpoint", endpoint, "--group", group, "--work-ms", std::to_string(work_ms),
          "--idle-exit-ms", std::to_string(idle_exit_ms), "--deadline-ms", "60000", "--log", log.string()};
}

int64_t done_count(CoordinatorClient& client, const std::string& sweep) {
  auto st = client.Status(sweep);
  return st.ok() && !st.value().sweeps.empty() ? st.value().sweeps[0].counts.of(JobState::kDone) : -1;
}

TEST(CoordinatorFaults, AWorkerKilledMidJobLosesItsLeaseAndAnotherFinishesItOnce) {
  TempDir dir;
  CoordinatorOptions o;
  o.db = dir.path() / "coord.db";
  o.bind = "tcp://127.0.0.1:*";
  o.scheduler.lease_ttl_ms = 800;
  o.expiry_tick_ms = 50;
  ServedCoordinator c(o);
  ASSERT_TRUE(c.ok()) << c.open_status().to_string();
  CoordinatorClient client(ClientOptions{c.endpoint(), 2000, 3, std::nullopt, ""});
  SweepSubmission sub;
  sub.sweep = "s";
  sub.trials = {chain_trial("t000", "a", 2, 1)};
  ASSERT_TRUE(client.Submit(sub).ok());
  const std::string pretrain = sub.trials[0].jobs[0].id();

  Child a(worker_args(c.endpoint(), "A", /*work_ms=*/60000, dir.path() / "a.log"));
  ASSERT_TRUE(wait_until([&] {
    auto st = client.Status(pretrain);
    return st.ok() && st.value().jobs[0].state == JobState::kRunning && st.value().jobs[0].group == "A";
  }, 10000)) << "worker A never started the pretrain job";
  a.Kill();

  ASSERT_TRUE(wait_until([&] {
    auto st = client.Status(pretrain);
    return st.ok() && st.value().jobs[0].state == JobState::kReady;
  }, 5000)) << "the dead worker's lease did not expire";
  auto requeued = client.Status(pretrain);
  ASSERT_TRUE(requeued.ok());
  EXPECT_NE(requeued.value().jobs[0].last_error.find("group A"), std::string::npos) << requeued.value().jobs[0].last_error;

  Child b(worker_args(c.endpoint(), "B", 100, dir.path() / "b.log"));
  ASSERT_TRUE(wait_until([&] { return done_count(client, "s") == 5; }, 20000));
  EXPECT_EQ(b.Wait(10000), 0);

  auto st = client.Status(pretrain);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st.value().jobs[0].attempts, 2);
  EXPECT_EQ(st.value().jobs[0].outputs, std::vector<std::string>{"B:" + pretrain});
  const ServerCounters n = c.get().counters();
  EXPECT_EQ(n.scheduler.done_recorded, 5) << "each job recorded exactly once";
  EXPECT_GE(n.scheduler.expired, 1);
  std::set<std::string> recorded;
  for (const std::string& line : read_lines(dir.path() / "b.log"))
    if (line.rfind("recorded ", 0) == 0) {
      EXPECT_TRUE(recorded.insert(line.substr(9, line.find(' ', 9) - 9)).second) << line;
    }
  EXPECT_EQ(recorded.size(), 5u);
  EXPECT_TRUE(read_lines(dir.path() / "a.log").empty()) << "A never finished anything";
}

TEST(CoordinatorFaults, ACoordinatorKilledMidSweepFinishesItAfterARestartAndWorkersReconnect) {
  TempDir dir;
  const auto db = dir.path() / "coord.db";
  const auto endpoint_file = dir.path() / "endpoint";
  auto serve = [&](const std::string& bind) {
    std::filesystem::remove(endpoint_file);
    return std::make_unique<Child>(std::vector<std::string>{"serve", "--db", db.string(), "--bind", bind,
                                                            "--endpoint-file", endpoint_file.string(), "--ttl-ms", "3000"});
  };
  auto coordinator = serve("tcp://127.0.0.1:*");
  ASSERT_TRUE(wait_until([&] { return std::filesystem::exists(endpoint_file); }, 10000));
  const std::string endpoint = read_lines(endpoint_file).at(0);

  CoordinatorClient client(ClientOptions{endpoint, 500, 4, std::nullopt, ""});
  SweepSubmission sub;
  sub.sweep = "s";
  for (int t = 0; t < 3; ++t) sub.trials.push_back(chain_trial(fmt::format("t{:03d}", t), std::to_string(t), 3, 2));
  ASSERT_TRUE(client.Submit(sub).ok());
  const int64_t total = 3 * 7;

  Child w1(worker_args(endpoint, "W1", 150, dir.path() / "w1.log", 4000));
  Child w2(worker_args(endpoint, "W2", 150, dir.path() / "w2.log", 4000));
  ASSERT_TRUE(wait_until([&] { return done_count(client, "s") >= 4; }, 20000));
  coordinator->Kill();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(w1.running() && w2.running()) << "workers outlive the coordinator";

  coordinator = serve(endpoint);
  ASSERT_TRUE(wait_until([&] { return std::filesystem::exists(endpoint_file); }, 10000)) << "restart failed";
  ASSERT_TRUE(wait_until([&] { return done_count(client, "s") == total; }, 40000))
      << "sweep stuck at " << done_count(client, "s") << " of " << total;
  EXPECT_EQ(w1.Wait(15000), 0) << "worker 1 did not carry on through the restart";
  EXPECT_EQ(w2.Wait(15000), 0) << "worker 2 did not carry on through the restart";

  // Every job DONE exactly once: its output names a group that worked it, and
  // no job was acknowledged as newly recorded twice.
  std::map<std::string, std::set<std::string>> worked_by;
  std::map<std::string, int> recorded;
  for (const char* name : {"w1.log", "w2.log"}) {
    for (const std::string& line : read_lines(dir.path() / name)) {
      std::istringstream in(line);
      std::string what, job, epoch, group;
      in >> what >> job >> epoch >> group;
      if (what == "worked") worked_by[job].insert(group);
      if (what == "recorded") ++recorded[job];
    }
  }
  for (const auto& t : sub.trials) {
    auto st = client.Status("s/" + t.id);
    ASSERT_TRUE(st.ok());
    for (const JobRow& row : st.value().jobs) {
      EXPECT_EQ(row.state, JobState::kDone) << row.id;
      ASSERT_EQ(row.outputs.size(), 1u) << row.id;
      const std::string group = row.outputs[0].substr(0, row.outputs[0].find(':'));
      EXPECT_TRUE(worked_by[row.id].count(group)) << row.id << " recorded for " << group << " which never worked it";
      EXPECT_LE(recorded[row.id], 1) << row.id << " recorded twice";
    }
  }
}

}  // namespace
}  // namespace radclear::coordinator
