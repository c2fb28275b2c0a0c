#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/types.h>

#include "common/check.h"
#include "data/loader.h"

namespace radclear::data {
namespace {

namespace fs = std::filesystem;

constexpr int kOut = 16;

// 24 small 16-bit CT-like slices; every third has a lesion box.
class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("radclear_loader_test_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(root_ / "study");
    for (int i = 0; i < 24; ++i) {
      cv::Mat hu(48, 40, CV_32F);
      cv::randu(hu, -1000, 400);
      cv::circle(hu, cv::Point(10 + i, 20), 6, cv::Scalar(60 + 10 * i), -1);
      cv::Mat raw;
      hu.convertTo(raw, CV_16U, 1.0, 32768.0);
      SliceSample s;
      s.path = "study/" + std::to_string(i) + ".png";
      s.study = "study";
      s.slice = i;
      s.id = 1000 + i;
      if (i % 3 == 0) {
        s.lesion = true;
        s.boxes = {{4.0 + i, 14, 16.0 + i, 26}};
      }
      ASSERT_TRUE(cv::imwrite((root_ / s.path).string(), raw));
      samples_.push_back(s);
    }
  }
  void TearDown() override { fs::remove_all(root_); }

  // ct: the CT-native views drawn in two windows; else CLEAR's in one.
  LoaderSpec spec(int threads, bool ct = false) const {
    LoaderSpec s;
    s.data_root = root_.string();
    s.threads = threads;
    s.prefetch_batches = 2;
    s.seed = 42;
    if (ct) {
      s.views = ct_view_spec(kOut);
      s.windows = {"abdomen", "lung"};
    } else {
      LeclViewSpec v;
      v.out_size = kOut;
      s.views = v;
    }
    return s;
  }
  static ShardSpec shard(int rank, int world, int batch) {
    ShardSpec s;
    s.rank = rank;
    s.world = world;
    s.global_batch = batch;
    s.seed = 7;
    return s;
  }
  static std::vector<Batch> epoch(SliceLoader& loader, int64_t e, int64_t start = 0) {
    loader.start_epoch(e, start);
    std::vector<Batch> out;
    while (auto b = loader.next()) out.push_back(std::move(*b));
    return out;
  }
  static void expect_same(const Batch& a, const Batch& b) {
    EXPECT_EQ(a.step, b.step);
    EXPECT_TRUE(torch::equal(a.view1, b.view1));
    EXPECT_TRUE(torch::equal(a.view2, b.view2));
    EXPECT_TRUE(torch::equal(a.lesion, b.lesion));
    EXPECT_TRUE(torch::equal(a.ids, b.ids));
    EXPECT_EQ(a.indices, b.indices);
  }

  fs::path root_;
  std::vector<SliceSample> samples_;
};

TEST_F(LoaderTest, BatchesAreIdenticalForAnyThreadCount) {
  for (bool ct : {false, true}) {
    SCOPED_TRACE(ct ? "ct views, two windows" : "clear views");
    SliceLoader one(samples_, spec(1, ct), shard(0, 1, 6));
    const auto ref = epoch(one, 2);
    ASSERT_EQ(ref.size(), 4u);
    EXPECT_EQ(ref[0].view1.sizes(), (std::vector<int64_t>{6, 3, kOut, kOut}));
    EXPECT_EQ(ref[0].ids.scalar_type(), torch::kInt64);
    for (int threads : {2, 5}) {
      SliceLoader many(samples_, spec(threads, ct), shard(0, 1, 6));
      const auto got = epoch(many, 2);
      ASSERT_EQ(got.size(), ref.size());
      for (size_t i = 0; i < got.size(); ++i) expect_same(got[i], ref[i]);
    }
    // Another epoch is a different permutation and different augmentations.
    const auto other = epoch(one, 3);
    EXPECT_FALSE(torch::equal(other[0].view1, ref[0].view1));
  }
}

TEST_F(LoaderTest, RowsAreThePipelineOfTheSamplerIndices) {
  for (bool ct : {false, true}) {
  SCOPED_TRACE(ct ? "ct views, two windows" : "clear views");
  SliceLoader loader(samples_, spec(3, ct), shard(0, 1, 8));
  const auto batches = epoch(loader, 1);
  const SlicePipeline pipe(root_.string(), spec(1, ct).windows, spec(1, ct).views);
  const auto perm = loader.sampler().permutation(1);
  std::vector<float> v1(3 * kOut * kOut), v2(3 * kOut * kOut);
  for (const Batch& b : batches) {
    EXPECT_EQ(b.indices, loader.sampler().batch(perm, b.step));
    for (size_t j = 0; j < b.indices.size(); ++j) {
      const int64_t idx = b.indices[j];
      pipe.run(samples_[idx], 42, 1, idx, v1.data(), v2.data());
      EXPECT_TRUE(torch::equal(b.view1[j], torch::from_blob(v1.data(), {3, kOut, kOut})));
      EXPECT_TRUE(torch::equal(b.view2[j], torch::from_blob(v2.data(), {3, kOut, kOut})));
      EXPECT_EQ(b.ids[j].item<int64_t>(), samples_[idx].id);
      EXPECT_EQ(b.lesion[j].item<float>(), samples_[idx].lesion ? 1.0f : 0.0f);
    }
  }
  }
}

TEST_F(LoaderTest, RanksConcatenateToTheSingleProcessBatch) {
  SliceLoader single(samples_, spec(2), shard(0, 1, 8));
  const auto ref = epoch(single, 0);
  std::vector<std::vector<Batch>> ranks;
  for (int r = 0; r < 4; ++r) {
    SliceLoader rank(samples_, spec(1 + r % 2), shard(r, 4, 8));
    ranks.push_back(epoch(rank, 0));
  }
  for (size_t step = 0; step < ref.size(); ++step) {
    std::vector<torch::Tensor> v1, v2, ids;
    for (const auto& r : ranks) {
      ASSERT_EQ(r[step].view1.size(0), 2);
      v1.push_back(r[step].view1);
      v2.push_back(r[step].view2);
      ids.push_back(r[step].ids);
    }
    EXPECT_TRUE(torch::equal(torch::cat(v1), ref[step].view1)) << step;
    EXPECT_TRUE(torch::equal(torch::cat(v2), ref[step].view2)) << step;
    EXPECT_TRUE(torch::equal(torch::cat(ids), ref[step].ids)) << step;
  }
}

TEST_F(LoaderTest, ShortLastBatchWithoutDropLast) {
  // 24 samples, global batch 10: the last global batch has 4 samples, split
  // evenly over 1 or 2 ranks; with 10 ranks, ranks 4..9 get an empty batch.
  for (int world : {1, 2}) {
    ShardSpec sh = shard(0, world, 10);
    sh.drop_last = false;
    SliceLoader loader(samples_, spec(2), sh);
    const auto b = epoch(loader, 0);
    ASSERT_EQ(b.size(), 3u);
    EXPECT_EQ(b[2].view1.size(0), 4 / world);
  }
  ShardSpec sh = shard(5, 10, 10);
  sh.drop_last = false;
  SliceLoader loader(samples_, spec(2), sh);
  const auto b = epoch(loader, 0);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].view1.size(0), 1);
  EXPECT_EQ(b[2].view1.size(0), 0);
}

TEST_F(LoaderTest, ResumeAtEpochAndStep) {
  SliceLoader loader(samples_, spec(2), shard(0, 1, 4));
  const auto full = epoch(loader, 5);
  ASSERT_EQ(full.size(), 6u);
  const auto resumed = epoch(loader, 5, 4);
  ASSERT_EQ(resumed.size(), 2u);
  expect_same(resumed[0], full[4]);
  expect_same(resumed[1], full[5]);
  // Restarting mid-epoch discards what was in flight.
  loader.start_epoch(5, 0);
  ASSERT_TRUE(loader.next().has_value());
  const auto again = epoch(loader, 5, 1);
  expect_same(again[0], full[1]);
  EXPECT_THROW(loader.start_epoch(5, 7), InvalidArgument);
}

TEST_F(LoaderTest, CorruptImagesAreReplacedAndCounted) {
  // Truncate sample 4, delete sample 9.
  const std::string cut = (root_ / samples_[4].path).string();
  const auto size = fs::file_size(cut);
  fs::resize_file(cut, size / 2);
  fs::remove(root_ / samples_[9].path);
  ShardSpec sh = shard(0, 1, 24);
  SliceLoader loader(samples_, spec(3), sh);
  const auto batches = epoch(loader, 0);
  ASSERT_EQ(batches.size(), 1u);
  const Batch& b = batches[0];
  const auto planned = loader.sampler().batch(0, 0);
  for (size_t j = 0; j < planned.size(); ++j) {
    if (planned[j] == 4 || planned[j] == 9) {
      EXPECT_EQ(b.indices[j], planned[j] + 1) << "replaced by the next sample";
      EXPECT_EQ(b.ids[j].item<int64_t>(), samples_[planned[j] + 1].id);
    } else {
      EXPECT_EQ(b.indices[j], planned[j]);
    }
  }
  EXPECT_EQ(loader.replaced_count(), 2);
  epoch(loader, 1);
  EXPECT_EQ(loader.replaced_count(), 4);  // counted every time, logged once

  LoaderSpec strict = spec(2);
  strict.strict = true;
  SliceLoader fatal(samples_, strict, sh);
  fatal.start_epoch(0);
  try {
    fatal.next();
    FAIL() << "strict mode must fail";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_TRUE(msg.find("4.png") != std::string::npos || msg.find("9.png") != std::string::npos) << msg;
  }
  EXPECT_THROW(fatal.next(), Error);  // the failure sticks until the next start
  // The loader is usable again after a new start (and fails the same way).
  fatal.start_epoch(0);
  EXPECT_THROW(fatal.next(), Error);
}

TEST_F(LoaderTest, RejectsBadSpecs) {
  EXPECT_THROW(SliceLoader({}, spec(1), shard(0, 1, 4)), InvalidArgument);
  LoaderSpec bad = spec(1);
  bad.windows = {"nope"};
  EXPECT_THROW(SliceLoader(samples_, bad, shard(0, 1, 4)), InvalidArgument);
  bad.windows = {};
  EXPECT_THROW(SliceLoader(samples_, bad, shard(0, 1, 4)), InvalidArgument);
  SliceLoader ok(samples_, spec(1), shard(0, 1, 4));
  EXPECT_THROW(ok.next(), Error);  // before start_epoch
}

}  // namespace
}  // namespace radclear::data
