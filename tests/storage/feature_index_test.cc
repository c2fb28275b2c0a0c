#include "storage/feature_index.h"

#include <gtest/gtest.h>

#include "tests/storage/index_fixtures.h"

namespace radclear::storage {
namespace {

using testing::TempDir;

FeatureSetRecord make_set(const std::string& id) {
  FeatureSetRecord r;
  r.set_id = id;
  r.arch = "vit_small";
  r.checkpoint_path = "/runs/a/ckpt.pth.tar";
  r.checkpoint_sha256 = std::string(64, 'a');
  r.windows = {"abdomen", "lung"};
  r.dtype = "float16";
  r.image_size = 224;
  r.dim = 384;
  r.out_dir = "/feats/a";
  r.splits = {"train", "val"};
  r.studies_total = 3;
  r.updated_utc = "2026-11-28T12:00:00Z";
  return r;
}

FeatureShardRecord make_shard(const std::string& set, const std::string& study, int64_t rows) {
  FeatureShardRecord r;
  r.set_id = set;
  r.study_id = study;
  r.file = study + ".h5";
  r.rows = rows;
  r.dim = 384;
  r.slices = rows / 2;
  r.file_size = 1000 + static_cast<uint64_t>(rows);
  r.file_sha256 = std::string(64, 'b');
  return r;
}

TEST(FeatureSetId, DependsOnEveryIdentityField) {
  const std::string base = feature_set_id("abc", "vit_small", {"abdomen", "lung"}, "float32", 224);
  EXPECT_EQ(base.size(), 16u);
  EXPECT_EQ(base, feature_set_id("abc", "vit_small", {"abdomen", "lung"}, "float32", 224));
  EXPECT_NE(base, feature_set_id("abd", "vit_small", {"abdomen", "lung"}, "float32", 224));
  EXPECT_NE(base, feature_set_id("abc", "vit_base", {"abdomen", "lung"}, "float32", 224));
  EXPECT_NE(base, feature_set_id("abc", "vit_small", {"lung", "abdomen"}, "float32", 224));
  EXPECT_NE(base, feature_set_id("abc", "vit_small", {"abdomen", "lung"}, "float16", 224));
  EXPECT_NE(base, feature_set_id("abc", "vit_small", {"abdomen", "lung"}, "float32", 112));
}

TEST(FeatureIndex, RoundTripsSetsAndShards) {
  TempDir tmp;
  auto index = SliceIndex::Open(tmp.path() / "idx");
  ASSERT_TRUE(index.ok()) << index.status().message();
  FeatureIndex fi(*index.value());
  EXPECT_FALSE(fi.GetSet("0123").value().has_value());
  ASSERT_TRUE(fi.PutSet(make_set("0123")).ok());
  ASSERT_TRUE(fi.PutSet(make_set("4567")).ok());
  ASSERT_TRUE(fi.PutShards({make_shard("0123", "s1", 10), make_shard("0123", "s2", 20),
                            make_shard("4567", "s1", 30)})
                  .ok());
  EXPECT_EQ(fi.GetSet("0123").value().value(), make_set("0123"));
  ASSERT_EQ(fi.ListSets().value().size(), 2u);

  auto shards = fi.ShardsOfSet("0123").value();
  ASSERT_EQ(shards.size(), 2u);
  EXPECT_EQ(shards.at("s2"), make_shard("0123", "s2", 20));
  // A set id that is a prefix of another's does not see its shards.
  EXPECT_TRUE(fi.ShardsOfSet("012").value().empty());

  ASSERT_TRUE(fi.DeleteShard("0123", "s1").ok());
  EXPECT_EQ(fi.ShardsOfSet("0123").value().size(), 1u);
  ASSERT_TRUE(fi.DeleteShardsOfSet("0123").ok());
  EXPECT_TRUE(fi.ShardsOfSet("0123").value().empty());
  EXPECT_EQ(fi.ShardsOfSet("4567").value().size(), 1u);
}

TEST(FeatureIndex, ReadOnlyIndexWithoutFeatureFamiliesHasNoRecords) {
  TempDir tmp;
  { ASSERT_TRUE(SliceIndex::Open(tmp.path() / "idx").ok()); }
  IndexOptions ro;
  ro.read_only = true;
  auto index = SliceIndex::Open(tmp.path() / "idx", ro);
  ASSERT_TRUE(index.ok()) << index.status().message();
  FeatureIndex fi(*index.value());
  EXPECT_TRUE(fi.ListSets().value().empty());
  EXPECT_TRUE(fi.ShardsOfSet("0123").value().empty());
  EXPECT_FALSE(fi.PutSet(make_set("0123")).ok());
}

TEST(FeatureRecords, MalformedValuesAreCorruptionNamingTheRecord) {
  FeatureShardRecord r;
  Status s = decode_feature_shard("{\"v\":1,\"set_id\":\"x\"}", "idx [feature_shards] s1", &r);
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_NE(s.message().find("idx [feature_shards] s1"), std::string::npos) << s.message();
  s = decode_feature_shard("{\"v\":9}", "w", &r);
  EXPECT_NE(s.message().find("unknown record format 9"), std::string::npos) << s.message();
  EXPECT_EQ(decode_feature_shard("not json", "w", &r).code(), StatusCode::kCorruption);
  const FeatureShardRecord good = make_shard("a", "b", 4);
  ASSERT_TRUE(decode_feature_shard(encode_feature_shard(good), "w", &r).ok());
  EXPECT_EQ(r, good);
}

}  // namespace
}  // namespace radclear::storage
