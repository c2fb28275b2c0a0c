#include "worker/pretrain/spec.h"
#include "worker/pretrain/epoch_samples.h"

#include <gtest/gtest.h>

#include "common/check.h"

namespace radclear::worker {
namespace {

PretrainSpec minimal() {
  PretrainSpec s;
  s.db = "idx";
  s.data = "data";
  s.out = "out";
  return s;
}

TEST(PretrainSpec, DefaultsAreClearsAndValidate) {
  const PretrainSpec s = minimal();
  EXPECT_NO_THROW(s.validate());
  EXPECT_EQ(s.optimizer, OptimizerKind::kAdamW);
  EXPECT_DOUBLE_EQ(s.lr, 1e-4);
  EXPECT_DOUBLE_EQ(s.weight_decay, 1e-6);
  EXPECT_EQ(s.epochs, 100);
  EXPECT_DOUBLE_EQ(s.moco_m, 0.99);
  EXPECT_DOUBLE_EQ(s.moco_t, 1.0);
  EXPECT_EQ(s.moco_dim, 256);
  EXPECT_EQ(s.moco_mlp_dim, 4096);
  EXPECT_EQ(s.views, ViewRecipe::kClear);
  EXPECT_EQ(s.windows, (std::vector<std::string>{"abdomen", "lung"}));
}

TEST(PretrainSpec, YamlRoundTripsAndRejectsTypos) {
  PretrainSpec s = minimal();
  s.arch = "mambaout_femto";
  s.sampling = Sampling::kNone;
  s.optimizer = OptimizerKind::kLars;
  s.precision = Precision::kBFloat16;
  s.batch_size = 64;
  s.lesion_repeat = 3;
  s.views = ViewRecipe::kCt;
  s.windows = {"lung", "400/40"};
  PretrainSpec back;
  stages::merge_yaml(back, stages::to_yaml(s), "resolved.yaml");
  EXPECT_EQ(YAML::Dump(stages::to_yaml(back)), YAML::Dump(stages::to_yaml(s)));
  EXPECT_EQ(back.optimizer, OptimizerKind::kLars);
  EXPECT_EQ(back.sampling, Sampling::kNone);
  EXPECT_EQ(back.lesion_repeat, 3);
  EXPECT_EQ(back.views, ViewRecipe::kCt);
  EXPECT_EQ(back.windows, (std::vector<std::string>{"lung", "400/40"}));
  // A pretrain.yaml written before `windows` names one window.
  stages::merge_yaml(back, YAML::Load("window: bone"), "old.yaml");
  EXPECT_EQ(back.windows, (std::vector<std::string>{"bone"}));
  EXPECT_THROW(stages::merge_yaml(back, YAML::Load("views: imagenet"), "p.yaml"), InvalidArgument);
  try {
    stages::merge_yaml(back, YAML::Load("bacth_size: 3"), "p.yaml");
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'batch_size'"), std::string::npos);
  }
  EXPECT_THROW(stages::merge_yaml(back, YAML::Load("sampling: Tumour"), "p.yaml"), InvalidArgument);
  EXPECT_THROW(stages::merge_yaml(back, YAML::Load("epochs: many"), "p.yaml"), InvalidArgument);
}

TEST(PretrainSpec, ValidationNamesTheField) {
  auto expect_field = [](auto mutate, const char* field) {
    PretrainSpec s = minimal();
    mutate(s);
    try {
      s.validate();
      FAIL() << field;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  expect_field([](PretrainSpec& s) { s.db.clear(); }, "--db");
  expect_field([](PretrainSpec& s) { s.image_size = 100; }, "image_size");
  expect_field([](PretrainSpec& s) { s.crop_min = 1.5; }, "crop_min");
  expect_field([](PretrainSpec& s) { s.windows = {}; }, "windows");
  expect_field([](PretrainSpec& s) { s.windows = {"lung", "lung"}; }, "listed twice");
  expect_field([](PretrainSpec& s) { s.windows = {"abdomen", "livr"}; }, "unknown CT window 'livr'");
  expect_field([](PretrainSpec& s) { s.lesion_repeat = 0; }, "lesion_repeat");
  expect_field([](PretrainSpec& s) { s.warmup_epochs = -1; }, "warmup_epochs");
  expect_field([](PretrainSpec& s) { s.moco_m = 1.5; }, "moco_m");
  expect_field([](PretrainSpec& s) { s.name = "a/b"; }, "name");
}

TEST(PretrainSpec, ResolveScalesLrAndSplitsTheBatch) {
  PretrainSpec s = minimal();
  s.batch_size = 512;
  stages::RankContext ctx;
  ctx.rank = 1;
  ctx.world = 4;
  ctx.local_world = 2;
  ctx.threads = 8;
  const auto plan = resolve_pretrain(s, ctx);
  EXPECT_EQ(plan.batch_per_rank, 128);
  EXPECT_DOUBLE_EQ(plan.lr, 2e-4);
  EXPECT_EQ(plan.threads_per_rank, 8);
  EXPECT_EQ(plan.loader_threads, 8);
  EXPECT_DOUBLE_EQ(s.lr, 1e-4);  // the spec itself is untouched
  s.batch_size = 10;
  ctx.rank = 0;
  EXPECT_THROW(resolve_pretrain(s, ctx), InvalidArgument);
}

// A run shorter than its warmup (`--epochs 1` with the default 10) warms up
// over half the run instead of failing; the spec itself is untouched.
TEST(PretrainSpec, ResolveClampsAWarmupLongerThanTheRun) {
  PretrainSpec s = minimal();
  s.epochs = 1;
  ASSERT_DOUBLE_EQ(s.warmup_epochs, 10);
  EXPECT_NO_THROW(s.validate());
  const stages::RankContext alone;
  const auto plan = resolve_pretrain(s, alone);
  EXPECT_DOUBLE_EQ(plan.spec.warmup_epochs, 0.5);
  EXPECT_DOUBLE_EQ(s.warmup_epochs, 10);
  s.epochs = 20;  // fits: kept
  EXPECT_DOUBLE_EQ(resolve_pretrain(s, alone).spec.warmup_epochs, 10);
}

TEST(EpochSamples, RepeatsLesionSlicesAndPlainMocoDropsThem) {
  std::vector<data::SliceSample> slices(5);
  for (int i = 0; i < 5; ++i) {
    slices[i].id = i;
    slices[i].path = "s" + std::to_string(i) + ".png";
  }
  slices[1].lesion = true;
  slices[1].boxes = {{1, 2, 3, 4}};
  slices[3].lesion = true;  // a lesion CSV row: flagged, no box
  PretrainSpec s = minimal();
  EXPECT_EQ(epoch_samples(s, slices).size(), 5u);  // lesion_repeat 1: the list as given

  s.lesion_repeat = 3;
  const auto repeated = epoch_samples(s, slices);
  std::vector<int64_t> ids;
  for (const auto& x : repeated) ids.push_back(x.id);
  EXPECT_EQ(ids, (std::vector<int64_t>{0, 1, 2, 3, 4, 1, 3, 1, 3}));
  EXPECT_EQ(repeated[7].boxes.size(), 1u);
  EXPECT_DOUBLE_EQ(repeated[7].boxes[0].y2, 4);
  EXPECT_TRUE(repeated[8].lesion);

  s.sampling = Sampling::kNone;  // plain MoCo: no lesions, so nothing to repeat
  const auto plain = epoch_samples(s, slices);
  ASSERT_EQ(plain.size(), 5u);
  for (const auto& x : plain) {
    EXPECT_FALSE(x.lesion);
    EXPECT_TRUE(x.boxes.empty());
  }
}

}  // namespace
}  // namespace radclear::worker
