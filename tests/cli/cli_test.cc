// Runs the built `radclear` binary the way a user does and checks what it
// prints and returns.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/cli/run_cli.h"

namespace {
namespace fs = std::filesystem;
using radclear::test_util::CliRun;

CliRun run(const std::string& args) { return radclear::test_util::run_radclear(args); }

TEST(Cli, HelpListsCommandsAndVersionHasGitHash) {
  const CliRun help = run("--help");
  EXPECT_EQ(help.code, 0);
  for (const char* cmd : {"synth", "doctor"}) EXPECT_NE(help.out.find(cmd), std::string::npos) << cmd;
  const CliRun version = run("--version");
  EXPECT_EQ(version.code, 0);
  EXPECT_NE(version.out.find("radclear 0."), std::string::npos);
  EXPECT_NE(version.out.find("(git "), std::string::npos);
  const CliRun sub = run("synth --help");
  EXPECT_EQ(sub.code, 0);
  EXPECT_NE(sub.out.find("--patients"), std::string::npos);
}

TEST(Cli, TypoGetsASuggestion) {
  const CliRun r = run("doctro");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("did you mean 'doctor'"), std::string::npos) << r.out;
}

TEST(Cli, DoctorJsonParsesAndMeasuresSgemm) {
  const CliRun r = run("doctor --json --sgemm-seconds 0.2 --log-level off");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_GT(j["sgemm"]["gflops"].get<double>(), 0.0);
  EXPECT_FALSE(j["versions"]["libtorch"].get<std::string>().empty());
  EXPECT_FALSE(j["versions"]["rocksdb"].get<std::string>().empty());
  EXPECT_FALSE(j["blas"]["kind"].get<std::string>().empty());
  EXPECT_TRUE(j["nccl"]["compiled"].is_boolean());
  EXPECT_TRUE(j["warnings"].is_array());
}

TEST(Cli, SynthBadArgumentsFailCleanly) {
  const fs::path dir = fs::temp_directory_path() / ("radclear_cli_synth_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  CliRun r = run("synth --out " + dir.string() + " --slices 0 --quiet");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("slices"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir));
  r = run("synth --out " + dir.string() + " --patients 1 --studies-per-patient 1 --slices 4 --size 32 --quiet");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("1 patients, 1 studies, 4 slices"), std::string::npos) << r.out;
  r = run("synth --out " + dir.string() + " --patients 1 --quiet");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("--force"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

TEST(Cli, SynthConfigFileWithOverride) {
  const fs::path dir = fs::temp_directory_path() / ("radclear_cli_cfg_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path cfg = dir / "synth.yaml";
  { std::FILE* f = std::fopen(cfg.c_str(), "w"); std::fputs("patients: 2\nstudies_per_patient: 1\nslices: 3\nsize: 32\n", f); std::fclose(f); }
  CliRun r = run("synth --out " + (dir / "out").string() + " --config " + cfg.string() + " --slices 5 --quiet");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("2 patients, 2 studies, 10 slices"), std::string::npos) << r.out;
  { std::FILE* f = std::fopen(cfg.c_str(), "w"); std::fputs("patiens: 2\n", f); std::fclose(f); }
  r = run("synth --out " + (dir / "out2").string() + " --config " + cfg.string() + " --quiet");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("did you mean 'patients'"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

}  // namespace
