// The coordinator's CLI handlers (cli/cmd_coordinator.cc, cli/cmd_status.cc)
// run in-process, without the torch-linked radclear binary: their flags,
// their output and the status --db fallback.
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "coordinator/auth.h"
#include "coordinator/client.h"
#include "tests/coordinator/coordinator_fixtures.h"

namespace radclear::coordinator {
namespace {

using testing::chain_trial;
using testing::ServedCoordinator;
using testing::TempDir;

struct CliRun {
  int code = -1;
  std::string out;
};

// Parses `args` as the one subcommand `setup` defines and runs it,
// capturing std::cout.
CliRun run_cli(cli::Runner (*setup)(CLI::App&), std::vector<std::string> args) {
  CLI::App app{"test"};
  CLI::App* sub = app.add_subcommand(args[0]);
  cli::Runner runner = setup(*sub);
  std::vector<const char*> argv = {"radclear"};
  for (const auto& a : args) argv.push_back(a.c_str());
  CliRun r;
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    r.code = 2;
    return r;
  }
  std::ostringstream captured;
  std::streambuf* old = std::cout.rdbuf(captured.rdbuf());
  r.code = runner();
  std::cout.rdbuf(old);
  r.out = captured.str();
  return r;
}

TEST(CoordinatorCli, StatusCancelRetryTalkToACoordinatorAndStatusFallsBackToTheDB) {
  TempDir dir;
  CoordinatorOptions o;
  o.db = dir.path() / "coord.db";
  o.bind = "tcp://127.0.0.1:*";
  std::string endpoint;
  {
    ServedCoordinator c(o);
    ASSERT_TRUE(c.ok());
    endpoint = c.endpoint();
    CoordinatorClient client(ClientOptions{endpoint, 2000, 3, std::nullopt, ""});
    SweepSubmission sub;
    sub.sweep = "s";
    sub.trials = {chain_trial("t000", "a", 1, 2)};
    ASSERT_TRUE(client.Submit(sub).ok());

    CliRun table = run_cli(cli::setup_status, {"status", "s/t000", "--coordinator", endpoint});
    EXPECT_EQ(table.code, 0);
    EXPECT_NE(table.out.find("READY"), std::string::npos) << table.out;
    CliRun json = run_cli(cli::setup_status, {"status", "s", "--coordinator", endpoint, "--json"});
    ASSERT_EQ(json.code, 0);
    EXPECT_EQ(nlohmann::json::parse(json.out)["sweeps"][0]["jobs"], 5) << json.out;

    CliRun cancel = run_cli(cli::setup_cancel, {"cancel", "s", "--coordinator", endpoint});
    EXPECT_EQ(cancel.code, 0);
    EXPECT_NE(cancel.out.find("cancelled 5 job(s)"), std::string::npos) << cancel.out;
    CliRun retry = run_cli(cli::setup_retry, {"retry", "s/t000", "--coordinator", endpoint});
    EXPECT_EQ(retry.code, 0);
    EXPECT_NE(retry.out.find("requeued 5 job(s)"), std::string::npos) << retry.out;
    EXPECT_EQ(run_cli(cli::setup_cancel, {"cancel", "nope", "--coordinator", endpoint}).code, 2);
  }
  // No coordinator now: --db answers, read-only.
  CliRun offline = run_cli(cli::setup_status, {"status", "s", "--coordinator", endpoint, "--db", o.db.string(), "--json"});
  ASSERT_EQ(offline.code, 0);
  const auto j = nlohmann::json::parse(offline.out);
  EXPECT_EQ(j["sweeps"][0]["states"]["READY"], 1) << offline.out;
  EXPECT_EQ(j["sweeps"][0]["states"]["PENDING"], 4) << offline.out;
  EXPECT_EQ(run_cli(cli::setup_status, {"status", "--coordinator", endpoint}).code, 1) << "no coordinator, no --db";
}

TEST(CoordinatorCli, ANonLoopbackBindIsRefusedAndKeysCanBeMade) {
  TempDir dir;
  CliRun refused = run_cli(cli::setup_coordinator,
                           {"coordinator", "--db", (dir.path() / "db").string(), "--bind", "tcp://0.0.0.0:5555"});
  EXPECT_EQ(refused.code, 2);
  CliRun keys = run_cli(cli::setup_coordinator, {"coordinator", "--make-keys", (dir.path() / "c.key").string()});
  ASSERT_EQ(keys.code, 0);
  auto loaded = load_curve_keys(dir.path() / "c.key");
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  EXPECT_NE(keys.out.find(loaded.value().public_key), std::string::npos);
  EXPECT_EQ(loaded.value().secret_key.size(), 40u);
}

}  // namespace
}  // namespace radclear::coordinator
