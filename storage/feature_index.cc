#include "storage/feature_index.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "common/sha256.h"

namespace radclear::storage {

namespace {

constexpr int kFormat = 1;
using nlohmann::json;

std::string shard_key(const std::string& set_id, const std::string& study_id) {
  std::string k = set_id;
  k.push_back('\0');
  k += study_id;
  return k;
}

// Errors name the index directory (a failed write's message from RocksDB
// names only the file inside it, and that only for some causes).
Status from_rocks(const SliceIndex& index, const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  const std::string msg = fmt::format("index {}: {}: {}", index.path().string(), what, s.ToString());
  if (s.IsNotFound()) return Status::NotFound(msg);
  if (s.IsCorruption()) return Status::Corruption(msg);
  return Status::IoError(msg);
}

// Runs `fn`, turning a JSON type/field error into Corruption naming `what`.
template <typename Fn>
Status decode_json(std::string_view value, const std::string& what, Fn&& fn) {
  try {
    const json j = json::parse(value);
    const int v = j.at("v").get<int>();
    if (v != kFormat) return Status::Corruption(fmt::format("{}: unknown record format {}", what, v));
    fn(j);
    return Status::Ok();
  } catch (const json::exception& e) {
    return Status::Corruption(fmt::format("{}: bad record: {}", what, e.what()));
  }
}

}  // namespace

bool FeatureSetRecord::operator==(const FeatureSetRecord& o) const {
  return set_id == o.set_id && arch == o.arch && checkpoint_path == o.checkpoint_path &&
         checkpoint_sha256 == o.checkpoint_sha256 && windows == o.windows && dtype == o.dtype &&
         image_size == o.image_size && dim == o.dim && out_dir == o.out_dir && splits == o.splits &&
         studies_total == o.studies_total && updated_utc == o.updated_utc;
}

bool FeatureShardRecord::operator==(const FeatureShardRecord& o) const {
  return set_id == o.set_id && study_id == o.study_id && file == o.file && rows == o.rows && dim == o.dim &&
         slices == o.slices && file_size == o.file_size && file_sha256 == o.file_sha256;
}

std::string feature_set_id(const std::string& checkpoint_sha256, const std::string& arch,
                           const std::vector<std::string>& windows, const std::string& dtype,
                           int64_t image_size, const std::string& precision) {
  std::string identity = fmt::format("ckpt={}\narch={}\ndtype={}\nsize={}\nwindows=", checkpoint_sha256, arch,
                                     dtype, image_size);
  for (const auto& w : windows) identity += w + ",";
  if (precision != "fp32") identity += "\nprecision=" + precision;
  return sha256_hex(identity).substr(0, 16);
}

std::string encode_feature_set(const FeatureSetRecord& r) {
  return json{{"v", kFormat},
              {"set_id", r.set_id},
              {"arch", r.arch},
              {"checkpoint_path", r.checkpoint_path},
              {"checkpoint_sha256", r.checkpoint_sha256},
              {"windows", r.windows},
              {"dtype", r.dtype},
              {"image_size", r.image_size},
              {"dim", r.dim},
              {"out_dir", r.out_dir},
              {"splits", r.splits},
              {"studies_total", r.studies_total},
              {"updated_utc", r.updated_utc}}
      .dump();
}

Status decode_feature_set(std::string_view value, const std::string& what, FeatureSetRecord* out) {
  return decode_json(value, what, [&](const json& j) {
    out->set_id = j.at("set_id").get<std::string>();
    out->arch = j.at("arch").get<std::string>();
    out->checkpoint_path = j.at("checkpoint_path").get<std::string>();
    out->checkpoint_sha256 = j.at("checkpoint_sha256").get<std::string>();
    out->windows = j.at("windows").get<std::vector<std::string>>();
    out->dtype = j.at("dtype").get<std::string>();
    out->image_size = j.at("image_size").get<int64_t>();
    out->dim = j.at("dim").get<int64_t>();
    out->out_dir = j.at("out_dir").get<std::string>();
    out->splits = j.at("splits").get<std::vector<std::string>>();
    out->studies_total = j.at("studies_total").get<int64_t>();
    out->updated_utc = j.at("updated_utc").get<std::string>();
  });
}

std::string encode_feature_shard(const FeatureShardRecord& r) {
  return json{{"v", kFormat},         {"set_id", r.set_id}, {"study_id", r.study_id},
              {"file", r.file},       {"rows", r.rows},     {"dim", r.dim},
              {"slices", r.slices},   {"file_size", r.file_size}, {"file_sha256", r.file_sha256}}
      .dump();
}

Status decode_feature_shard(std::string_view value, const std::string& what, FeatureShardRecord* out) {
  return decode_json(value, what, [&](const json& j) {
    out->set_id = j.at("set_id").get<std::string>();
    out->study_id = j.at("study_id").get<std::string>();
    out->file = j.at("file").get<std::string>();
    out->rows = j.at("rows").get<int64_t>();
    out->dim = j.at("dim").get<int64_t>();
    out->slices = j.at("slices").get<int64_t>();
    out->file_size = j.at("file_size").get<uint64_t>();
    out->file_sha256 = j.at("file_sha256").get<std::string>();
  });
}

Result<rocksdb::ColumnFamilyHandle*> FeatureIndex::family(const char* name) const {
  return index_.column_family(name);
}

Status FeatureIndex::PutSet(const FeatureSetRecord& r) {
  auto cf = family(kCfFeatureSets);
  if (!cf.ok()) return cf.status();
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return from_rocks(index_, index_.raw_db()->Put(wo, cf.value(), r.set_id, encode_feature_set(r)),
                    fmt::format("write feature set {}", r.set_id));
}

Result<std::optional<FeatureSetRecord>> FeatureIndex::GetSet(const std::string& set_id) const {
  auto cf = family(kCfFeatureSets);
  if (!cf.ok()) {
    if (cf.status().code() == StatusCode::kNotFound) return std::optional<FeatureSetRecord>();
    return cf.status();
  }
  std::string value;
  const rocksdb::Status s = index_.raw_db()->Get(rocksdb::ReadOptions(), cf.value(), set_id, &value);
  if (s.IsNotFound()) return std::optional<FeatureSetRecord>();
  if (!s.ok()) return from_rocks(index_, s, fmt::format("read feature set {}", set_id));
  FeatureSetRecord r;
  Status d = decode_feature_set(value, fmt::format("{} [{}] {}", index_.path().string(), kCfFeatureSets, set_id), &r);
  if (!d.ok()) return d;
  return std::optional<FeatureSetRecord>(std::move(r));
}

Result<std::vector<FeatureSetRecord>> FeatureIndex::ListSets() const {
  std::vector<FeatureSetRecord> sets;
  auto cf = family(kCfFeatureSets);
  if (!cf.ok()) {
    if (cf.status().code() == StatusCode::kNotFound) return sets;
    return cf.status();
  }
  std::unique_ptr<rocksdb::Iterator> it(index_.raw_db()->NewIterator(rocksdb::ReadOptions(), cf.value()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    FeatureSetRecord r;
    const std::string key = it->key().ToString();
    Status d = decode_feature_set(std::string_view(it->value().data(), it->value().size()),
                                  fmt::format("{} [{}] {}", index_.path().string(), kCfFeatureSets, key), &r);
    if (!d.ok()) return d;
    sets.push_back(std::move(r));
  }
  if (!it->status().ok()) return from_rocks(index_, it->status(), "scan feature sets");
  return sets;
}

Status FeatureIndex::PutShards(const std::vector<FeatureShardRecord>& records) {
  if (records.empty()) return Status::Ok();
  auto cf = family(kCfFeatureShards);
  if (!cf.ok()) return cf.status();
  rocksdb::WriteBatch batch;
  for (const auto& r : records) {
    const rocksdb::Status s = batch.Put(cf.value(), shard_key(r.set_id, r.study_id), encode_feature_shard(r));
    if (!s.ok()) return from_rocks(index_, s, "queue feature shard");
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return from_rocks(index_, index_.raw_db()->Write(wo, &batch), "write feature shards");
}

Status FeatureIndex::DeleteShard(const std::string& set_id, const std::string& study_id) {
  auto cf = family(kCfFeatureShards);
  if (!cf.ok()) return cf.status();
  return from_rocks(index_, index_.raw_db()->Delete(rocksdb::WriteOptions(), cf.value(), shard_key(set_id, study_id)),
                    fmt::format("delete feature shard {}/{}", set_id, study_id));
}

Status FeatureIndex::DeleteShardsOfSet(const std::string& set_id) {
  auto cf = family(kCfFeatureShards);
  if (!cf.ok()) return cf.status();
  std::string begin = set_id;
  begin.push_back('\0');
  std::string end = set_id;
  end.push_back('\1');
  rocksdb::WriteBatch batch;
  rocksdb::Status s = batch.DeleteRange(cf.value(), begin, end);
  if (!s.ok()) return from_rocks(index_, s, "queue delete range");
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return from_rocks(index_, index_.raw_db()->Write(wo, &batch), fmt::format("delete feature shards of {}", set_id));
}

Result<std::map<std::string, FeatureShardRecord>> FeatureIndex::ShardsOfSet(const std::string& set_id) const {
  std::map<std::string, FeatureShardRecord> shards;
  auto cf = family(kCfFeatureShards);
  if (!cf.ok()) {
    if (cf.status().code() == StatusCode::kNotFound) return shards;
    return cf.status();
  }
  std::string prefix = set_id;
  prefix.push_back('\0');
  std::string end = set_id;
  end.push_back('\1');
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper(end);
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(index_.raw_db()->NewIterator(ro, cf.value()));
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    FeatureShardRecord r;
    const std::string key = it->key().ToString();
    Status d = decode_feature_shard(
        std::string_view(it->value().data(), it->value().size()),
        fmt::format("{} [{}] {}", index_.path().string(), kCfFeatureShards, key.substr(prefix.size())), &r);
    if (!d.ok()) return d;
    shards.emplace(r.study_id, std::move(r));
  }
  if (!it->status().ok()) return from_rocks(index_, it->status(), "scan feature shards");
  return shards;
}

}  // namespace radclear::storage
