#pragma once
// The feature-shard records of the slice index: which feature sets exist
// and which studies of each are finished. Extraction writes them; a rerun
// reads them to skip finished studies; `radclear features-stats` lists them;
// the coordinator will schedule from them.
//
// A feature set is one (checkpoint, extractor, windows, dtype, image size)
// combination; its id is a hash of those, so the same extraction run twice
// lands in the same set and a different checkpoint in a new one.
//
// Column families (made on first use by a writable index):
//   feature_sets    set id                  -> FeatureSetRecord
//   feature_shards  set id '\0' study id    -> FeatureShardRecord
// Values are JSON objects with a format version "v" (small, rarely written,
// and readable with `ldb` when something goes wrong).
//
// Thread safety and writers: as SliceIndex (one writing process).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/index.h"

namespace radclear::storage {

inline constexpr const char* kCfFeatureSets = "feature_sets";
inline constexpr const char* kCfFeatureShards = "feature_shards";

struct FeatureSetRecord {
  std::string set_id;
  std::string arch;                  // backbone registry name
  std::string checkpoint_path;       // as given to extraction
  std::string checkpoint_sha256;
  std::vector<std::string> windows;  // CT window names, row order within a slice
  std::string dtype;                 // "float32" / "float16"
  int64_t image_size = 0;            // encoder input size
  int64_t dim = 0;                   // feature width
  std::string out_dir;               // where the <study>.h5 files are
  std::vector<std::string> splits;   // splits extracted ("all" when none given)
  int64_t studies_total = 0;         // studies the set covers
  std::string updated_utc;           // ISO-8601, last extraction run
  bool operator==(const FeatureSetRecord& o) const;
};

struct FeatureShardRecord {
  std::string set_id;
  std::string study_id;
  std::string file;         // file name inside the set's out_dir ("<study>.h5")
  int64_t rows = 0;
  int64_t dim = 0;
  int64_t slices = 0;
  uint64_t file_size = 0;   // bytes
  std::string file_sha256;
  bool operator==(const FeatureShardRecord& o) const;
};

// 16 hex digits of SHA-256 over the identity fields.
// `precision` is the encoder's arithmetic ("fp32", "bf16", "fp16"): a bf16
// set is another feature set; fp32 ids are those of the runs before it was
// recorded.
std::string feature_set_id(const std::string& checkpoint_sha256, const std::string& arch,
                           const std::vector<std::string>& windows, const std::string& dtype,
                           int64_t image_size, const std::string& precision = "fp32");

// JSON value encodings (exposed for the extraction journal and tests).
// decode_* return Corruption naming `what` on a malformed value.
std::string encode_feature_set(const FeatureSetRecord& r);
Status decode_feature_set(std::string_view value, const std::string& what, FeatureSetRecord* out);
std::string encode_feature_shard(const FeatureShardRecord& r);
Status decode_feature_shard(std::string_view value, const std::string& what, FeatureShardRecord* out);

// Reads and writes feature records through an open SliceIndex. Reads on a
// read-only index whose column families do not exist yet see no records.
class FeatureIndex {
 public:
  explicit FeatureIndex(SliceIndex& index) : index_(index) {}

  Status PutSet(const FeatureSetRecord& r);
  // nullopt when the set is unknown.
  Result<std::optional<FeatureSetRecord>> GetSet(const std::string& set_id) const;
  Result<std::vector<FeatureSetRecord>> ListSets() const;  // ascending id

  // Writes many shard records in one atomic batch.
  Status PutShards(const std::vector<FeatureShardRecord>& records);
  Status DeleteShard(const std::string& set_id, const std::string& study_id);
  // Deletes every shard record of a set (--force).
  Status DeleteShardsOfSet(const std::string& set_id);
  // study id -> record, one prefix scan.
  Result<std::map<std::string, FeatureShardRecord>> ShardsOfSet(const std::string& set_id) const;

 private:
  Result<rocksdb::ColumnFamilyHandle*> family(const char* name) const;
  SliceIndex& index_;
};

}  // namespace radclear::storage
