#include "storage/index.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <mutex>

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

namespace radclear::storage {

namespace {

constexpr const char* kCfSlices = "slices";
constexpr const char* kCfLesions = "lesions";
constexpr const char* kCfLesionSlices = "lesion_slices";
constexpr const char* kCfStudies = "studies";
constexpr const char* kCfStudiesBySplit = "studies_by_split";
constexpr const char* kCfPatients = "patients";
constexpr const char* kMetaSchema = "schema_version";

const std::vector<std::string>& own_families() {
  static const std::vector<std::string> names = {
      rocksdb::kDefaultColumnFamilyName, kCfSlices,         kCfLesions, kCfLesionSlices,
      kCfStudies,                        kCfStudiesBySplit, kCfPatients};
  return names;
}

// RocksDB found a damaged or truncated file (block checksum, SST size or
// footer): the message says so and how to recover.
Status damaged_index(const rocksdb::Status& s, std::string_view what) {
  return Status::Corruption(fmt::format(
      "{}: {}. The index's files are damaged; delete the index directory and rebuild it with `radclear index` "
      "(it recreates the index from the data)",
      what, s.ToString()));
}

Status from_rocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  if (s.IsNotFound()) return Status::NotFound(fmt::format("{}: {}", what, s.ToString()));
  if (s.IsCorruption()) return damaged_index(s, what);
  if (s.IsInvalidArgument()) return Status::InvalidArgument(fmt::format("{}: {}", what, s.ToString()));
  return Status::IoError(fmt::format("{}: {}", what, s.ToString()));
}

// RocksDB's info log goes to radclear's log (debug level; its errors as
// warnings) instead of a LOG file in the index directory: that file grew by
// ~120 KB per open, and when writing it failed (a full disk, a file-size
// limit) RocksDB's file writer aborted the process on the next line.
class IndexLogger : public rocksdb::Logger {
 public:
  explicit IndexLogger(std::string index)
      : rocksdb::Logger(rocksdb::InfoLogLevel::DEBUG_LEVEL), index_(std::move(index)) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override { Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap); }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    const auto spd = level >= rocksdb::InfoLogLevel::ERROR_LEVEL ? spdlog::level::warn : spdlog::level::debug;
    if (!spdlog::default_logger_raw()->should_log(spd)) return;
    char line[1024];
    const int n = std::vsnprintf(line, sizeof line, format, ap);
    std::string_view text(line, n < 0 ? 0 : std::min<size_t>(static_cast<size_t>(n), sizeof line - 1));
    while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    spdlog::log(spd, "index {}: rocksdb: {}", index_, text);
  }

 private:
  std::string index_;
};

// RocksDB writes its OPTIONS file to "OPTIONS-<n>.dbtmp" and renames it; a
// failed write (a full disk) is only logged, and the temporary file stays.
// Called while this process holds the index's lock, outside any options write.
void remove_failed_options_files(const std::filesystem::path& dir) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("OPTIONS-", 0) == 0 && e.path().extension() == ".dbtmp") std::filesystem::remove(e.path(), ec);
  }
}

rocksdb::Slice as_slice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
std::string_view as_view(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

// The smallest key greater than every key starting with `prefix` (prefix
// must not be all 0xff bytes; ours end in '\0' or a split byte).
std::string prefix_end(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

rocksdb::ColumnFamilyOptions family_options(const std::string& name, bool bulk) {
  rocksdb::ColumnFamilyOptions o;
  if (bulk && name == kCfSlices) {
    o.write_buffer_size = 128 << 20;
    o.max_write_buffer_number = 4;
  }
  if (name == kCfSlices || name == kCfLesions) {
    rocksdb::BlockBasedTableOptions t;
    t.block_size = 16 * 1024;
    o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  }
  return o;
}

}  // namespace

struct SliceIndex::Handles {
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  rocksdb::ColumnFamilyHandle* slices = nullptr;
  rocksdb::ColumnFamilyHandle* lesions = nullptr;
  rocksdb::ColumnFamilyHandle* lesion_slices = nullptr;
  rocksdb::ColumnFamilyHandle* studies = nullptr;
  rocksdb::ColumnFamilyHandle* studies_by_split = nullptr;
  rocksdb::ColumnFamilyHandle* patients = nullptr;
  std::map<std::string, rocksdb::ColumnFamilyHandle*> all;  // owns every handle
  std::mutex mu;                                             // guards `all` in column_family()
};

// ---- open / close ------------------------------------------------------------

Result<std::unique_ptr<SliceIndex>> SliceIndex::Open(const std::filesystem::path& path,
                                                     const IndexOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing && !options.read_only;
  db_options.create_missing_column_families = !options.read_only;
  db_options.IncreaseParallelism(2);
  db_options.info_log = std::make_shared<IndexLogger>(path.string());
  if (options.bulk_load) db_options.max_background_jobs = 4;

  std::vector<std::string> existing;
  const rocksdb::Status listed = rocksdb::DB::ListColumnFamilies(db_options, path.string(), &existing);
  if (!listed.ok()) {
    if (options.read_only || !options.create_if_missing) {
      return Status::NotFound(fmt::format("no index at {} ({})", path.string(), listed.ToString()));
    }
    existing = {rocksdb::kDefaultColumnFamilyName};
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return Status::IoError(fmt::format("cannot create {}: {}", path.string(), ec.message()));
  }

  std::vector<std::string> names = existing;
  for (const auto& own : own_families()) {
    if (std::find(names.begin(), names.end(), own) != names.end()) continue;
    if (options.read_only) {
      return Status::NotFound(fmt::format(
          "{} is not a radclear index (column family '{}' is missing)", path.string(), own));
    }
    names.push_back(own);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& n : names) descriptors.emplace_back(n, family_options(n, options.bulk_load));

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      options.read_only
          ? rocksdb::DB::OpenForReadOnly(db_options, path.string(), descriptors, &handles, &raw)
          : rocksdb::DB::Open(db_options, path.string(), descriptors, &handles, &raw);
  if (!s.ok()) {
    if (!options.read_only && s.IsIOError()) {
      return Status::IoError(fmt::format(
          "cannot open index {} for writing: {} (only one process may write an index; "
          "is another `radclear index` running?)",
          path.string(), s.ToString()));
    }
    return from_rocks(s, fmt::format("open index {}", path.string()));
  }

  if (!options.read_only) remove_failed_options_files(path);
  std::unique_ptr<SliceIndex> index(new SliceIndex());
  index->path_ = path;
  index->read_only_ = options.read_only;
  index->db_.reset(raw);
  index->cf_ = std::make_unique<Handles>();
  Handles& h = *index->cf_;
  for (size_t i = 0; i < handles.size(); ++i) h.all[names[i]] = handles[i];
  h.meta = h.all.at(rocksdb::kDefaultColumnFamilyName);
  h.slices = h.all.at(kCfSlices);
  h.lesions = h.all.at(kCfLesions);
  h.lesion_slices = h.all.at(kCfLesionSlices);
  h.studies = h.all.at(kCfStudies);
  h.studies_by_split = h.all.at(kCfStudiesBySplit);
  h.patients = h.all.at(kCfPatients);

  const std::string want = std::to_string(kIndexSchemaVersion);
  auto version = index->GetMeta(kMetaSchema);
  if (version.ok()) {
    if (version.value() != want) {
      return Status::FailedPrecondition(fmt::format(
          "index {} has schema version {}, this build reads {}; rebuild it with `radclear index`",
          path.string(), version.value(), want));
    }
  } else if (version.status().code() != StatusCode::kNotFound) {
    return version.status();
  } else if (!options.read_only) {
    s = index->db_->Put(rocksdb::WriteOptions(), h.meta, kMetaSchema, want);
    if (!s.ok()) return from_rocks(s, fmt::format("index {}: write the schema version", path.string()));
  }
  return index;
}

SliceIndex::~SliceIndex() {
  if (db_ && cf_) {
    for (auto& [name, handle] : cf_->all) {
      db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
    }
    cf_->all.clear();
  }
  if (db_ && !read_only_) remove_failed_options_files(path_);  // still under the index's lock
  if (db_) db_->Close().PermitUncheckedError();
  db_.reset();
}

Result<rocksdb::ColumnFamilyHandle*> SliceIndex::column_family(const std::string& name) {
  std::lock_guard<std::mutex> lock(cf_->mu);
  auto it = cf_->all.find(name);
  if (it != cf_->all.end()) return it->second;
  if (read_only_) {
    return Status::NotFound(fmt::format("index {} has no column family '{}'", path_.string(), name));
  }
  rocksdb::ColumnFamilyHandle* handle = nullptr;
  const rocksdb::Status s = db_->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), name, &handle);
  if (!s.ok()) return from_rocks(s, fmt::format("create column family '{}'", name));
  cf_->all[name] = handle;
  return handle;
}

// ---- scans -------------------------------------------------------------------

namespace {

// Calls fn(key, value) for keys in [lower, upper) (upper empty: to the end);
// stops when fn returns false or a non-OK status.
Status scan(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, std::string_view lower,
            std::string_view upper,
            const std::function<Status(std::string_view, std::string_view, bool*)>& fn) {
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper_slice = as_slice(upper);
  if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, cf));
  if (lower.empty()) {
    it->SeekToFirst();
  } else {
    it->Seek(as_slice(lower));
  }
  for (; it->Valid(); it->Next()) {
    bool more = true;
    Status s = fn(as_view(it->key()), as_view(it->value()), &more);
    if (!s.ok()) return s;
    if (!more) return Status::Ok();
  }
  return from_rocks(it->status(), fmt::format("index {}: scan column family {}", db->GetName(), cf->GetName()));
}

// Every record whose key starts with `prefix`, decoded by
// decode(key, value, &record): the one prefix scan behind the
// "all X of Y" queries.
template <typename Record, typename Decode>
Result<std::vector<Record>> scan_prefix(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, const std::string& prefix,
                                        Decode decode) {
  std::vector<Record> out;
  Status s = scan(db, cf, prefix, prefix_end(prefix), [&](std::string_view key, std::string_view value, bool*) {
    out.emplace_back();
    return decode(key, value, &out.back());
  });
  if (!s.ok()) return s;
  return out;
}

Status with_key(Status s, const char* cf, std::string_view key) {
  if (s.ok()) return s;
  return Status::Corruption(fmt::format("column family {} key \"{}\": {}", cf, key, s.message()));
}

}  // namespace

Result<std::string> SliceIndex::GetMeta(std::string_view key) const {
  std::string value;
  const rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_->meta, as_slice(key), &value);
  if (s.IsNotFound()) return Status::NotFound(fmt::format("meta key '{}' is not set", key));
  if (!s.ok()) return from_rocks(s, fmt::format("read meta '{}'", key));
  return value;
}

Result<StudyRecord> SliceIndex::GetStudy(std::string_view study_id) const {
  std::string value;
  const rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_->studies, as_slice(study_id), &value);
  if (s.IsNotFound()) {
    return Status::NotFound(fmt::format("study '{}' is not in index {}", study_id, path_.string()));
  }
  if (!s.ok()) return from_rocks(s, fmt::format("read study '{}'", study_id));
  StudyRecord r;
  r.study_id.assign(study_id);
  Status d = with_key(decode_study(value, &r), kCfStudies, study_id);
  if (!d.ok()) return d;
  return r;
}

Result<std::string> SliceIndex::PatientOfStudy(std::string_view study_id) const {
  auto r = GetStudy(study_id);
  if (!r.ok()) return r.status();
  return std::move(r.value().patient_id);
}

Result<std::vector<ClinicalLabel>> SliceIndex::ClinicalLabels(std::string_view study_id) const {
  auto r = GetStudy(study_id);
  if (!r.ok()) return r.status();
  return std::move(r.value().clinical);
}

Result<std::vector<std::string>> SliceIndex::ListStudyIds(std::optional<Split> split) const {
  std::vector<std::string> ids;
  Status s;
  if (split) {
    const std::string lower(1, static_cast<char>(*split));
    const std::string upper(1, static_cast<char>(static_cast<uint8_t>(*split) + 1));
    s = scan(db_.get(), cf_->studies_by_split, lower, upper,
             [&](std::string_view key, std::string_view, bool*) {
               Split sp;
               std::string id;
               Status p = parse_split_study_key(key, &sp, &id);
               if (!p.ok()) return p;
               ids.push_back(std::move(id));
               return Status::Ok();
             });
  } else {
    s = scan(db_.get(), cf_->studies, {}, {}, [&](std::string_view key, std::string_view, bool*) {
      ids.emplace_back(key);
      return Status::Ok();
    });
  }
  if (!s.ok()) return s;
  return ids;
}

Result<std::vector<StudyRecord>> SliceIndex::ListStudies(std::optional<Split> split) const {
  std::vector<StudyRecord> out;
  if (split) {
    auto ids = ListStudyIds(split);
    if (!ids.ok()) return ids.status();
    out.reserve(ids.value().size());
    for (const auto& id : ids.value()) {
      auto r = GetStudy(id);
      if (!r.ok()) {
        return Status::Corruption(fmt::format(
            "studies_by_split lists study '{}' but its record cannot be read: {}", id,
            r.status().to_string()));
      }
      out.push_back(std::move(r.value()));
    }
    return out;
  }
  Status s = scan(db_.get(), cf_->studies, {}, {},
                  [&](std::string_view key, std::string_view value, bool*) {
                    StudyRecord r;
                    r.study_id.assign(key);
                    Status d = with_key(decode_study(value, &r), kCfStudies, key);
                    if (d.ok()) out.push_back(std::move(r));
                    return d;
                  });
  if (!s.ok()) return s;
  return out;
}

Result<PatientRecord> SliceIndex::GetPatient(std::string_view patient_id) const {
  std::string value;
  const rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), cf_->patients, as_slice(patient_id), &value);
  if (s.IsNotFound()) {
    return Status::NotFound(fmt::format("patient '{}' is not in index {}", patient_id, path_.string()));
  }
  if (!s.ok()) return from_rocks(s, fmt::format("read patient '{}'", patient_id));
  PatientRecord r;
  r.patient_id.assign(patient_id);
  Status d = with_key(decode_patient(value, &r), kCfPatients, patient_id);
  if (!d.ok()) return d;
  return r;
}

Result<std::vector<PatientRecord>> SliceIndex::ListPatients() const {
  std::vector<PatientRecord> out;
  Status s = scan(db_.get(), cf_->patients, {}, {},
                  [&](std::string_view key, std::string_view value, bool*) {
                    PatientRecord r;
                    r.patient_id.assign(key);
                    Status d = with_key(decode_patient(value, &r), kCfPatients, key);
                    if (d.ok()) out.push_back(std::move(r));
                    return d;
                  });
  if (!s.ok()) return s;
  return out;
}

namespace {

Status decode_slice_kv(std::string_view key, std::string_view value, SliceRecord* r) {
  Status s = parse_slice_key(key, &r->id);
  if (s.ok()) s = decode_slice(value, r);
  return with_key(s, kCfSlices, key);
}

Status decode_lesion_kv(std::string_view key, std::string_view value, LesionRecord* r) {
  Status s = parse_lesion_key(key, &r->slice, &r->ordinal);
  if (s.ok()) s = decode_lesion(value, r);
  return with_key(s, kCfLesions, key);
}

}  // namespace

Result<SliceRecord> SliceIndex::GetSlice(const SliceId& id) const {
  const std::string key = slice_key(id);
  std::string value;
  const rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_->slices, key, &value);
  if (s.IsNotFound()) {
    return Status::NotFound(fmt::format("slice {}/{}/{} ('{}') is not in index {}", id.study_id,
                                        id.series, id.slice_number, id.name, path_.string()));
  }
  if (!s.ok()) return from_rocks(s, "read slice");
  SliceRecord r;
  Status d = decode_slice_kv(key, value, &r);
  if (!d.ok()) return d;
  return r;
}

Result<std::vector<SliceRecord>> SliceIndex::SlicesOfStudy(std::string_view study_id) const {
  return scan_prefix<SliceRecord>(db_.get(), cf_->slices, study_slice_prefix(study_id), decode_slice_kv);
}

Status SliceIndex::ForEachSlice(const std::function<bool(const SliceRecord&)>& fn) const {
  SliceRecord r;
  return scan(db_.get(), cf_->slices, {}, {},
              [&](std::string_view key, std::string_view value, bool* more) {
                Status d = decode_slice_kv(key, value, &r);
                if (d.ok()) *more = fn(r);
                return d;
              });
}

Result<std::vector<LesionRecord>> SliceIndex::LesionsOfSlice(const SliceId& id) const {
  return scan_prefix<LesionRecord>(db_.get(), cf_->lesions, slice_key(id), decode_lesion_kv);
}

Result<std::vector<LesionRecord>> SliceIndex::LesionsOfStudy(std::string_view study_id) const {
  return scan_prefix<LesionRecord>(db_.get(), cf_->lesions, study_slice_prefix(study_id), decode_lesion_kv);
}

Status SliceIndex::ForEachLesion(const std::function<bool(const LesionRecord&)>& fn) const {
  LesionRecord r;
  return scan(db_.get(), cf_->lesions, {}, {},
              [&](std::string_view key, std::string_view value, bool* more) {
                Status d = decode_lesion_kv(key, value, &r);
                if (d.ok()) *more = fn(r);
                return d;
              });
}

Result<std::vector<LesionSlice>> SliceIndex::LesionSlices() const {
  std::vector<LesionSlice> out;
  Status s = scan(db_.get(), cf_->lesion_slices, {}, {},
                  [&](std::string_view key, std::string_view, bool*) {
                    SliceId id;
                    Status p = with_key(parse_slice_key(key, &id), kCfLesionSlices, key);
                    if (!p.ok()) return p;
                    auto slice = GetSlice(id);
                    if (!slice.ok()) {
                      return Status::Corruption(fmt::format(
                          "lesion_slices lists a slice whose record cannot be read: {}",
                          slice.status().to_string()));
                    }
                    auto lesions = LesionsOfSlice(id);
                    if (!lesions.ok()) return lesions.status();
                    out.push_back({std::move(slice.value()), std::move(lesions.value())});
                    return Status::Ok();
                  });
  if (!s.ok()) return s;
  return out;
}

Result<IndexStats> SliceIndex::Stats() const {
  IndexStats st;
  Status s = scan(db_.get(), cf_->studies, {}, {},
                  [&](std::string_view key, std::string_view value, bool*) {
                    StudyRecord r;
                    Status d = with_key(decode_study(value, &r), kCfStudies, key);
                    if (!d.ok()) return d;
                    ++st.studies;
                    st.slices += r.slice_count;
                    st.lesion_slices += r.lesion_slice_count;
                    ++st.studies_by_split[r.split];
                    st.slices_by_split[r.split] += r.slice_count;
                    return Status::Ok();
                  });
  if (!s.ok()) return s;
  s = scan(db_.get(), cf_->patients, {}, {}, [&](std::string_view, std::string_view, bool*) {
    ++st.patients;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  s = ForEachLesion([&](const LesionRecord& r) {
    ++st.lesions;
    ++st.lesions_by_type[r.coarse_lesion_type];
    ++st.lesions_by_split[r.split];
    return true;
  });
  if (!s.ok()) return s;
  return st;
}

// ---- writes ------------------------------------------------------------------

IndexBatch SliceIndex::NewBatch() const { return IndexBatch(this); }

Status SliceIndex::Write(IndexBatch* batch, bool sync) {
  if (read_only_) {
    return Status::FailedPrecondition(
        fmt::format("index {} was opened read-only; it cannot be written", path_.string()));
  }
  if (batch->index_ != this) {
    return Status::InvalidArgument("IndexBatch was made by another SliceIndex");
  }
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  const rocksdb::Status s = db_->Write(wo, batch->batch_.get());
  if (!s.ok()) {
    return from_rocks(s, fmt::format("index {}: writing {} operations", path_.string(), batch->operations()));
  }
  batch->Clear();
  return Status::Ok();
}

Status SliceIndex::VerifyChecksums() const {
  return from_rocks(db_->VerifyChecksum(), fmt::format("index {}: RocksDB checksum verification", path_.string()));
}

Status SliceIndex::Flush() {
  if (read_only_) return Status::Ok();
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  {
    std::lock_guard<std::mutex> lock(cf_->mu);
    for (auto& [name, h] : cf_->all) handles.push_back(h);
  }
  return from_rocks(db_->Flush(rocksdb::FlushOptions(), handles), fmt::format("index {}: flush", path_.string()));
}

IndexBatch::IndexBatch(const SliceIndex* index)
    : index_(index), batch_(std::make_unique<rocksdb::WriteBatch>()) {}
IndexBatch::IndexBatch(IndexBatch&&) noexcept = default;
IndexBatch& IndexBatch::operator=(IndexBatch&&) noexcept = default;
IndexBatch::~IndexBatch() = default;

size_t IndexBatch::bytes() const { return batch_->GetDataSize(); }

void IndexBatch::Clear() {
  batch_->Clear();
  operations_ = 0;
}

// rocksdb::WriteBatch::Put only fails past 4 GiB per batch; ingest caps its
// batches far below that, so these statuses are dropped on purpose.
void IndexBatch::PutSlice(const SliceRecord& r) {
  const std::string key = slice_key(r.id);
  batch_->Put(index_->cf_->slices, key, encode_slice(r)).PermitUncheckedError();
  if (r.lesion) {
    batch_->Put(index_->cf_->lesion_slices, key, rocksdb::Slice()).PermitUncheckedError();
  } else {
    batch_->Delete(index_->cf_->lesion_slices, key).PermitUncheckedError();
  }
  ++operations_;
}

void IndexBatch::DeleteSlice(const SliceId& id) {
  const std::string key = slice_key(id);
  batch_->Delete(index_->cf_->slices, key).PermitUncheckedError();
  batch_->Delete(index_->cf_->lesion_slices, key).PermitUncheckedError();
  ++operations_;
}

void IndexBatch::PutLesion(const LesionRecord& r) {
  batch_->Put(index_->cf_->lesions, lesion_key(r.slice, r.ordinal), encode_lesion(r))
      .PermitUncheckedError();
  ++operations_;
}

void IndexBatch::DeleteLesion(const SliceId& slice, uint16_t ordinal) {
  batch_->Delete(index_->cf_->lesions, lesion_key(slice, ordinal)).PermitUncheckedError();
  ++operations_;
}

void IndexBatch::PutStudy(const StudyRecord& r, const StudyRecord* previous) {
  batch_->Put(index_->cf_->studies, r.study_id, encode_study(r)).PermitUncheckedError();
  if (previous && previous->split != r.split) {
    batch_->Delete(index_->cf_->studies_by_split, split_study_key(previous->split, r.study_id))
        .PermitUncheckedError();
  }
  batch_->Put(index_->cf_->studies_by_split, split_study_key(r.split, r.study_id), rocksdb::Slice())
      .PermitUncheckedError();
  ++operations_;
}

void IndexBatch::PutPatient(const PatientRecord& r) {
  batch_->Put(index_->cf_->patients, r.patient_id, encode_patient(r)).PermitUncheckedError();
  ++operations_;
}

void IndexBatch::PutMeta(std::string_view key, std::string_view value) {
  batch_->Put(index_->cf_->meta, as_slice(key), as_slice(value)).PermitUncheckedError();
  ++operations_;
}

}  // namespace radclear::storage
