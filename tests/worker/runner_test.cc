// The stage entry points called in process, as the coordinator's worker loop
// calls them: several stages in one process, through the job runner, and a
// cancelled pretraining that resumes to the weights of an uninterrupted run.
#include "worker/runner/job_runner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <unistd.h>

#include <filesystem>

#include <torch/torch.h>

#include "stages/checkpoint_name.h"
#include "storage/checkpoint/checkpoint.h"
#include "worker/comm/communicator.h"
#include "worker/extract/feature_agreement.h"

namespace radclear::runner {
namespace {

namespace fs = std::filesystem;

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("radclear_runner_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    comm_ = worker::make_local_communicator();
  }
  void TearDown() override { fs::remove_all(dir_); }

  stages::RankContext context() {
    stages::RankContext ctx;
    ctx.comm = comm_.get();
    ctx.threads = 2;
    ctx.show_progress = false;
    return ctx;
  }
  StageReport run(const stages::AnySpec& spec, stages::RankContext& ctx) {
    auto r = run_stage(spec, ctx);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? r.value() : StageReport{};
  }
  // A tiny indexed data set, made by the synth and index stages in this process.
  void make_data() {
    auto ctx = context();
    stages::SynthSpec synth;
    synth.out = dir_ / "data";
    synth.patients = 4;
    synth.studies_per_patient = 1;
    synth.slices = 16;
    synth.size = 64;
    run(synth, ctx);
    stages::IndexSpec index;
    index.data_root = dir_ / "data";
    index.db = dir_ / "idx";
    index.dl_info = dir_ / "data" / "DL_info.csv";
    run(index, ctx);
  }
  stages::PretrainSpec pretrain_spec(const std::string& out) const {
    stages::PretrainSpec p;
    p.db = dir_ / "idx";
    p.data = dir_ / "data";
    p.out = dir_ / out;
    p.arch = "vit_tiny";
    p.image_size = 32;
    p.batch_size = 8;
    p.epochs = 2;
    p.warmup_epochs = 1;
    p.lr = 0.01;
    p.moco_dim = 32;
    p.moco_mlp_dim = 64;
    p.workers = 1;
    return p;
  }
  fs::path final_checkpoint(const stages::PretrainSpec& p) const {
    return p.out / storage::moco_checkpoint_file_name(p.arch, p.name, p.epochs);
  }

  fs::path dir_;
  std::unique_ptr<worker::Communicator> comm_;
};

TEST_F(RunnerTest, FourStagesInOneProcessThroughPayloads) {
  make_data();
  auto ctx = context();
  const auto pre = pretrain_spec("straight");
  // The coordinator's path: the spec travels as a payload.
  auto r = run_job(stages::to_payload(stages::AnySpec(pre)), ctx);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r.value().outcome, stages::Outcome::kDone);
  ASSERT_TRUE(fs::exists(final_checkpoint(pre)));

  stages::ExtractSpec ext;
  ext.db = pre.db;
  ext.data = pre.data;
  ext.checkpoint = final_checkpoint(pre);
  ext.out = dir_ / "features";
  ext.windows = {"abdomen"};
  const auto e = run(ext, ctx);
  EXPECT_EQ(e.outcome, stages::Outcome::kDone);
  EXPECT_EQ(e.failed_items, 0);
  int files = 0;
  for (const auto& f : fs::directory_iterator(ext.out)) files += f.path().extension() == ".h5";
  EXPECT_EQ(files, 4);

  // A bad spec comes back as InvalidArgument, not an exception.
  ext.windows = {"liver"};
  auto bad = run_stage(ext, ctx);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

// A coordinator's shard jobs: extract runs narrowed to disjoint study
// lists fill one feature set, with the same bytes as one run over all.
TEST_F(RunnerTest, ShardRunsOfStudiesEqualOneWholeRun) {
  make_data();
  auto ctx = context();
  auto pre = pretrain_spec("shards");
  pre.epochs = 1;
  pre.warmup_epochs = 0;
  run(pre, ctx);
  ASSERT_TRUE(fs::exists(stages::final_checkpoint(pre)));

  stages::ExtractSpec ext;
  ext.db = pre.db;
  ext.data = pre.data;
  ext.checkpoint = stages::final_checkpoint(pre);
  ext.windows = {"abdomen"};
  ext.out = dir_ / "whole";
  run(ext, ctx);
  std::vector<std::string> studies;
  for (const auto& f : fs::directory_iterator(ext.out)) {
    if (f.path().extension() == ".h5") studies.push_back(f.path().stem().string());
  }
  std::sort(studies.begin(), studies.end());
  ASSERT_EQ(studies.size(), 4u);

  ext.out = dir_ / "sharded";
  ext.studies = {studies[0], studies[2]};
  auto first = run(ext, ctx);
  EXPECT_NE(first.summary.find("2 studies extracted"), std::string::npos) << first.summary;
  ext.studies = {studies[1], studies[3]};
  run(ext, ctx);
  for (const auto& s : studies) {
    std::ifstream a(dir_ / "whole" / (s + ".h5"), std::ios::binary), b(dir_ / "sharded" / (s + ".h5"), std::ios::binary);
    const std::string x((std::istreambuf_iterator<char>(a)), {}), y((std::istreambuf_iterator<char>(b)), {});
    EXPECT_FALSE(x.empty());
    EXPECT_TRUE(x == y) << s << ": a shard's file differs from the whole run's";
  }
  ext.studies = {"no-such-study"};
  auto bad = run_stage(ext, ctx);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

// --precision bf16 on the CPU: the same studies as fp32 within a row cosine
// of 0.999 (but not bit-equal: autocast ran), as another feature set; and
// --device cuda on a CPU-only build fails before any work, with the fix.
TEST_F(RunnerTest, Bf16ExtractionAgreesWithFp32AndCudaIsRefusedWithoutIt) {
  make_data();
  auto ctx = context();
  auto pre = pretrain_spec("bf16");
  pre.epochs = 1;
  pre.warmup_epochs = 0;
  run(pre, ctx);
  stages::ExtractSpec ext;
  ext.db = pre.db;
  ext.data = pre.data;
  ext.checkpoint = stages::final_checkpoint(pre);
  ext.windows = {"abdomen", "lung"};
  ext.out = dir_ / "fp32";
  const auto a = run(ext, ctx);
  ext.out = dir_ / "bf16";
  ext.precision = Precision::kBFloat16;
  const auto b = run(ext, ctx);
  EXPECT_NE(a.summary.substr(0, a.summary.find(':', 6)), b.summary.substr(0, b.summary.find(':', 6)))
      << "a bf16 set must be another feature set: " << a.summary << " / " << b.summary;
  const auto agree = worker::compare_feature_dirs(dir_ / "bf16", dir_ / "fp32");
  EXPECT_EQ(agree.studies, 4);
  EXPECT_EQ(agree.rows, 4 * 16 * 2);
  EXPECT_GE(agree.min_cosine, 0.999);
  EXPECT_LT(agree.min_cosine, 1.0) << "bf16 features equal fp32 bit for bit: autocast did not run";
  EXPECT_EQ(YAML::LoadFile((dir_ / "bf16" / "extract.yaml").string())["precision"].as<std::string>(), "bf16");

  if (!torch::cuda::is_available()) {
    ext.out = dir_ / "cuda";
    ext.device = stages::DeviceChoice::parse("cuda");
    auto refused = run_stage(ext, ctx);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(refused.status().message().find(torch::hasCUDA() ? "no GPU is visible" : "RADCLEAR_TORCH_DIR"),
              std::string::npos)
        << refused.status().message();
    EXPECT_FALSE(fs::exists(ext.out)) << "work started before the device was checked";
    // auto falls back to the CPU.
    ext.device = stages::DeviceChoice::parse("auto");
    ext.precision = Precision::kFloat16;
    auto fp16 = run_stage(ext, ctx);
    ASSERT_FALSE(fp16.ok());
    EXPECT_NE(fp16.status().message().find("fp16 needs a CUDA device"), std::string::npos)
        << fp16.status().message();
  }
}

TEST_F(RunnerTest, CancelledPretrainingResumesToTheUninterruptedWeights) {
  make_data();
  auto ctx = context();
  const auto straight = pretrain_spec("straight");
  ASSERT_EQ(run(straight, ctx).outcome, stages::Outcome::kDone);

  // Cancel after 5 of the 16 steps (mid-epoch), as SIGINT would.
  const auto cut = pretrain_spec("cancelled");
  auto cancelling = context();
  int64_t seen = 0;
  cancelling.progress = [&](const stages::ProgressEvent& e) {
    seen = e.done;
    if (e.done >= 5) cancelling.cancel.request();
  };
  const auto first = run(cut, cancelling);
  EXPECT_EQ(first.outcome, stages::Outcome::kCancelled);
  EXPECT_EQ(seen, 5);
  EXPECT_FALSE(fs::exists(final_checkpoint(cut)));

  auto again = context();
  ASSERT_EQ(run(cut, again).outcome, stages::Outcome::kDone);
  const auto a = storage::load_moco_checkpoint(final_checkpoint(straight));
  const auto b = storage::load_moco_checkpoint(final_checkpoint(cut));
  ASSERT_EQ(a.state_dict.size(), b.state_dict.size());
  for (const auto& kv : a.state_dict) {
    const auto* other = b.state_dict.find(kv.key());
    ASSERT_NE(other, nullptr) << kv.key();
    EXPECT_TRUE(torch::allclose(kv.value().to(torch::kDouble), other->to(torch::kDouble), 1e-6, 1e-7)) << kv.key();
  }
}

}  // namespace
}  // namespace radclear::runner
