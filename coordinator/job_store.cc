#include "coordinator/job_store.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "coordinator/job_json.h"

namespace radclear::coordinator {
namespace {

constexpr const char* kCfJobs = "jobs";
constexpr const char* kCfPayloads = "payloads";
constexpr const char* kCfSweeps = "sweeps";
constexpr const char* kMetaSchema = "schema_version";

Status from_rocks(const rocksdb::Status& s, const std::string& what) {
  if (s.IsNotFound()) return Status::NotFound(what + ": " + s.ToString());
  if (s.IsCorruption()) return Status::Corruption(what + ": " + s.ToString());
  return Status::IoError(what + ": " + s.ToString());
}

template <typename T>
Result<std::vector<T>> load_all(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, const std::string& where) {
  std::vector<T> out;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    try {
      out.push_back(nlohmann::json::parse(it->value().ToStringView()).get<T>());
    } catch (const std::exception& e) {
      return Status::Corruption(fmt::format("{}: key '{}' does not decode: {}", where, it->key().ToString(), e.what()));
    }
  }
  if (!it->status().ok()) return from_rocks(it->status(), "scan " + where);
  return out;
}

}  // namespace

struct JobStore::Handles {
  std::vector<rocksdb::ColumnFamilyHandle*> all;  // owned; destroyed in ~JobStore
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  rocksdb::ColumnFamilyHandle* jobs = nullptr;
  rocksdb::ColumnFamilyHandle* payloads = nullptr;
  rocksdb::ColumnFamilyHandle* sweeps = nullptr;
};

Result<std::unique_ptr<JobStore>> JobStore::Open(const std::filesystem::path& path, const JobStoreOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing && !options.read_only;
  db_options.create_missing_column_families = !options.read_only;
  db_options.keep_log_file_num = 5;
  db_options.max_background_jobs = 2;

  const std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName, kCfJobs, kCfPayloads, kCfSweeps};
  std::vector<std::string> existing;
  if (!rocksdb::DB::ListColumnFamilies(db_options, path.string(), &existing).ok()) {
    if (options.read_only || !options.create_if_missing)
      return Status::NotFound(fmt::format("no coordinator DB at {}", path.string()));
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return Status::IoError(fmt::format("cannot create {}: {}", path.string(), ec.message()));
  } else if (options.read_only) {
    for (const auto& n : names)
      if (std::find(existing.begin(), existing.end(), n) == existing.end())
        return Status::NotFound(fmt::format("{} is not a coordinator DB (column family '{}' is missing)", path.string(), n));
  }

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& n : names) descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s =
      options.read_only ? rocksdb::DB::OpenForReadOnly(db_options, path.string(), descriptors, &handles, &raw)
                        : rocksdb::DB::Open(db_options, path.string(), descriptors, &handles, &raw);
  if (!s.ok()) {
    if (!options.read_only && s.IsIOError())
      return Status::IoError(fmt::format(
          "cannot open coordinator DB {} for writing: {} (one coordinator per DB; is another "
          "`radclear coordinator --db {}` running?)",
          path.string(), s.ToString(), path.string()));
    return from_rocks(s, fmt::format("open coordinator DB {}", path.string()));
  }

  std::unique_ptr<JobStore> store(new JobStore());
  store->path_ = path;
  store->options_ = options;
  store->db_.reset(raw);
  store->cf_ = std::make_unique<Handles>();
  Handles& h = *store->cf_;
  h.all = handles;
  h.meta = handles[0];
  h.jobs = handles[1];
  h.payloads = handles[2];
  h.sweeps = handles[3];

  const std::string want = std::to_string(kJobStoreSchemaVersion);
  std::string have;
  const rocksdb::Status got = raw->Get(rocksdb::ReadOptions(), h.meta, kMetaSchema, &have);
  if (got.ok()) {
    if (have != want)
      return Status::FailedPrecondition(fmt::format(
          "coordinator DB {} has schema version {}, this build reads {}", path.string(), have, want));
  } else if (!got.IsNotFound()) {
    return from_rocks(got, fmt::format("read schema version of {}", path.string()));
  } else if (!options.read_only) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    const rocksdb::Status put = raw->Put(wo, h.meta, kMetaSchema, want);
    if (!put.ok()) return from_rocks(put, fmt::format("write schema version of {}", path.string()));
  }
  return store;
}

JobStore::~JobStore() {
  if (db_ && cf_) {
    for (auto* handle : cf_->all) db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  }
  if (db_) db_->Close().PermitUncheckedError();
}

Status JobStore::Commit(const StoreBatch& batch) {
  if (options_.read_only)
    return Status::FailedPrecondition(fmt::format("coordinator DB {} is open read-only", path_.string()));
  if (batch.empty()) return Status::Ok();
  rocksdb::WriteBatch wb;
  for (const Job& job : batch.jobs) {
    rocksdb::Status s = wb.Put(cf_->jobs, job.id, nlohmann::json(job).dump());
    if (!s.ok()) return from_rocks(s, fmt::format("{}: batch job {}", path_.string(), job.id));
  }
  for (const auto& [id, payload] : batch.payloads) {
    rocksdb::Status s = wb.Put(cf_->payloads, id, payload);
    if (!s.ok()) return from_rocks(s, fmt::format("{}: batch payload {}", path_.string(), id));
  }
  for (const Sweep& sweep : batch.sweeps) {
    rocksdb::Status s = wb.Put(cf_->sweeps, sweep.id, nlohmann::json(sweep).dump());
    if (!s.ok()) return from_rocks(s, fmt::format("{}: batch sweep {}", path_.string(), sweep.id));
  }
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  const rocksdb::Status s = db_->Write(wo, &wb);
  if (!s.ok()) return from_rocks(s, fmt::format("commit {} records to coordinator DB {}", batch.size(), path_.string()));
  return Status::Ok();
}

Result<std::vector<Job>> JobStore::LoadJobs() const {
  return load_all<Job>(db_.get(), cf_->jobs, fmt::format("{} [jobs]", path_.string()));
}

Result<std::vector<Sweep>> JobStore::LoadSweeps() const {
  return load_all<Sweep>(db_.get(), cf_->sweeps, fmt::format("{} [sweeps]", path_.string()));
}

Result<std::string> JobStore::GetPayload(const std::string& job_id) const {
  std::string value;
  const rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_->payloads, job_id, &value);
  if (!s.ok()) return from_rocks(s, fmt::format("{} [payloads]: job {}", path_.string(), job_id));
  return value;
}

}  // namespace radclear::coordinator
