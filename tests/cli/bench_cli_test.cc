// `radclear bench loader` as a user runs it: synth -> index -> bench, which
// also exercises the index -> SliceSample adapter (worker/slice_samples.h) and
// the torchvision comparison script.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/cli/run_cli.h"

namespace {
namespace fs = std::filesystem;

using BenchCliRun = radclear::test_util::CliRun;

// stdout only (logs go to stderr).
BenchCliRun radclear_stdout(const std::string& args) { return radclear::test_util::run_radclear(args, false); }

// One small data set and index for the whole suite (synth + index cost
// seconds).
class BenchCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("radclear_cli_bench_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    data_ = (dir_ / "synth").string();
    db_ = (dir_ / "db").string();
    synth_code_ = radclear_stdout("synth --out " + data_ +
                                  " --patients 3 --studies-per-patient 2 --slices 6 --size 64 --seed 3 --quiet")
                      .code;
    index_code_ = radclear_stdout("index --data " + data_ + " --db " + db_ + " --dl-info " + data_ +
                                  "/DL_info.csv --quiet 2>/dev/null")
                      .code;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  void SetUp() override {
    ASSERT_EQ(synth_code_, 0);
    ASSERT_EQ(index_code_, 0);
  }
  static inline fs::path dir_;
  static inline std::string data_, db_;
  static inline int synth_code_ = -1, index_code_ = -1;
};

TEST_F(BenchCli, LoaderReportsDecodeLoaderAndTorchvision) {
  const std::string script = std::string(RADCLEAR_SOURCE_DIR) + "/scripts/bench/torchvision_pipeline.py";
  const BenchCliRun r = radclear_stdout("bench loader --data " + data_ + " --db " + db_ +
                                        " --threads 2 --batch 4 --batches 3 --size 32 --repeat 1 --json"
                                        " --torchvision " + script + " 2>/dev/null");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["threads"], 2);
  EXPECT_EQ(j["samples"], 12);  // 3 measured batches of 4
  EXPECT_GT(j["decode"]["images_per_s"].get<double>(), 0);
  EXPECT_GT(j["loader"]["samples_per_s"].get<double>(), 0);
  EXPECT_EQ(j["loader"]["replaced"], 0);
  EXPECT_GT(j["torchvision"]["samples_per_s"].get<double>(), 0);
  EXPECT_EQ(j["torchvision"]["workers"], 2);
  EXPECT_GT(j["loader_vs_torchvision"].get<double>(), 0);
}

TEST_F(BenchCli, TooFewSlicesIsBadInput) {
  // 36 slices cannot fill (10 + 1) batches of 8.
  const BenchCliRun r =
      radclear_stdout("bench loader --data " + data_ + " --db " + db_ + " --batch 8 --batches 10 2>/dev/null");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(radclear_stdout("bench --help").out.find("loader"), std::string::npos);
}

// The benches resolve --device and --precision as the stages do, before any
// work: fp16 on the CPU and a GPU on a CPU-only build are bad input (exit 2)
// with the way out in the message.
TEST_F(BenchCli, StepAndPretrainRefuseWhatTheMachineCannotRun) {
  const BenchCliRun fp16 = radclear::test_util::run_radclear("bench step --device cpu --precision fp16 2>&1", false);
  EXPECT_EQ(fp16.code, 2) << fp16.out;
  EXPECT_NE(fp16.out.find("use bf16"), std::string::npos) << fp16.out;
  const BenchCliRun pre = radclear::test_util::run_radclear(
      "bench pretrain --db " + db_ + " --data " + data_ + " --device cpu --precision fp16 2>&1", false);
  EXPECT_EQ(pre.code, 2) << pre.out;
  EXPECT_NE(pre.out.find("use bf16"), std::string::npos) << pre.out;
  if (radclear_stdout("doctor 2>&1").out.find("LibTorch has no CUDA") != std::string::npos) {
    for (const std::string& cmd :
         {std::string("bench step --device cuda:1"),
          "bench pretrain --db " + db_ + " --data " + data_ + " --device cuda"}) {
      const BenchCliRun r = radclear::test_util::run_radclear(cmd + " 2>&1", false);
      EXPECT_EQ(r.code, 2) << cmd << ": " << r.out;
      EXPECT_NE(r.out.find("RADCLEAR_TORCH_DIR"), std::string::npos) << cmd << ": " << r.out;
    }
  }
}

// `radclear bench coordinator` at a tiny size: every figure is there and adds
// up (each job is two transitions: leased, then done).
TEST(BenchCoordinatorCli, ReportsTransitionsStatusAndHeartbeats) {
  const BenchCliRun r = radclear_stdout(
      "bench coordinator --clients 2 --jobs-per-client 15 --status-jobs 2000 --workers 20 --heartbeat 1 "
      "--heartbeat-seconds 1 --json 2>/dev/null");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["transitions"].size(), 2u);
  for (const auto& t : j["transitions"]) {
    EXPECT_EQ(t["clients"], 2);
    EXPECT_EQ(t["transitions"], 2 * 2 * 15);
    EXPECT_GT(t["per_second"].get<double>(), 0);
    EXPECT_GE(t["records_per_commit"].get<double>(), 1);
  }
  EXPECT_EQ(j["status"]["jobs"], 2000);
  EXPECT_GT(j["status"]["all_ms"].get<double>(), 0);
  EXPECT_EQ(j["heartbeats"]["workers"], 20);
  EXPECT_GE(j["heartbeats"]["beats"].get<int>(), 18);  // 20 per second for 1 s
  EXPECT_GT(j["heartbeats"]["coordinator_core_share"].get<double>(), 0);
}

}  // namespace
