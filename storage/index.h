#pragma once
// SliceIndex: the RocksDB-backed index of slices, lesions, studies and
// patients. It is the system's one source of truth about the data: the
// pretraining sampler, feature extraction, cross-validation and the
// coordinator read it instead of walking the file system.
//
// Column families (record layouts and key design in storage/records.h):
//   default           meta: schema version, data root, layout of the last ingest
//   slices            slice key   -> SliceRecord    (study prefix scan = z order)
//   lesions           lesion key  -> LesionRecord   (one per DL_info row)
//   lesion_slices     slice key   -> ""             (all lesion slices)
//   studies           study id    -> StudyRecord
//   studies_by_split  split+study -> ""             (all studies of a split)
//   patients          patient id  -> PatientRecord
// Column families made by other modules (feature shards, jobs) are opened
// too and reachable through column_family().
//
// Thread safety: a SliceIndex may be shared by many threads. Every const
// method is safe to call concurrently with any other method. Write() is
// thread-safe as a RocksDB write, but a read-modify-write sequence (what
// ingest does: read a study, merge, write it back) is not atomic, so:
//
// THE ONE-WRITER RULE: at most one process opens an index for writing
// (RocksDB's LOCK file enforces it: a second writable Open() fails with
// IoError), and inside that process one thread at a time runs an ingest or
// any other read-modify-write sequence. Any number of processes may open the
// same index with IndexOptions::read_only = true; a read-only handle sees
// the index as it was when it was opened (reopen to see later writes).
//
// Errors: methods return Status / Result (common/status.h). Unless stated
// otherwise: NotFound = the named record is absent; Corruption = a stored
// key or value does not decode (the message names the column family and the
// key), or RocksDB found a damaged or truncated file when opening or reading
// it (the message says to rebuild the index with `radclear index`; a damaged
// index is never read as fewer records); IoError = RocksDB or the OS failed. Out-parameters and Result values
// are unspecified when the Status is not OK.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/records.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace radclear::storage {

// Bumped when a column family or key layout changes incompatibly. Open()
// refuses an index written with a different schema version.
inline constexpr int kIndexSchemaVersion = 1;

struct IndexOptions {
  // Open without the write lock; writes are refused. Default: false.
  bool read_only = false;
  // Create the index when `path` holds none (ignored when read_only).
  // Default: true.
  bool create_if_missing = true;
  // Tune RocksDB for a large ingest (bigger memtables, more background
  // threads). Reads are unaffected. Default: false.
  bool bulk_load = false;
};

// A slice that holds lesions, with its DL_info rows (none for a CLEAR
// lesion slice, whose CSV has no boxes).
struct LesionSlice {
  SliceRecord slice;
  std::vector<LesionRecord> lesions;
};

// Counts for `radclear index-stats`.
struct IndexStats {
  int64_t patients = 0;
  int64_t studies = 0;
  int64_t slices = 0;
  int64_t lesion_slices = 0;
  int64_t lesions = 0;                          // LesionRecords
  std::map<int, int64_t> lesions_by_type;       // Coarse_lesion_type -> count
  std::map<Split, int64_t> lesions_by_split;
  std::map<Split, int64_t> studies_by_split;
  std::map<Split, int64_t> slices_by_split;
};

class IndexBatch;

class SliceIndex {
 public:
  // Opens (or creates, see IndexOptions) the index at `path`.
  // OK: the handle is ready; all column families exist (created when
  // writable). NotFound: read_only or !create_if_missing and there is no
  // index at `path`. IoError: RocksDB could not open it, e.g. another process
  // holds the write lock (the message says so). FailedPrecondition: the index
  // has another schema version.
  static Result<std::unique_ptr<SliceIndex>> Open(const std::filesystem::path& path,
                                                  const IndexOptions& options = {});
  ~SliceIndex();
  SliceIndex(const SliceIndex&) = delete;
  SliceIndex& operator=(const SliceIndex&) = delete;

  const std::filesystem::path& path() const { return path_; }
  bool read_only() const { return read_only_; }

  // ---- reads ----------------------------------------------------------------

  // The study. NotFound if it is not indexed.
  Result<StudyRecord> GetStudy(std::string_view study_id) const;
  // The patient id of a study. NotFound if the study is not indexed.
  Result<std::string> PatientOfStudy(std::string_view study_id) const;
  // The clinical labels of a study (empty when none were ingested).
  // NotFound if the study is not indexed.
  Result<std::vector<ClinicalLabel>> ClinicalLabels(std::string_view study_id) const;
  // All study ids in ascending byte order; with `split`, only that split's
  // (one range scan of studies_by_split). OK with an empty vector when none.
  Result<std::vector<std::string>> ListStudyIds(std::optional<Split> split = std::nullopt) const;
  // As ListStudyIds, with the records.
  Result<std::vector<StudyRecord>> ListStudies(std::optional<Split> split = std::nullopt) const;

  Result<PatientRecord> GetPatient(std::string_view patient_id) const;  // NotFound if absent
  Result<std::vector<PatientRecord>> ListPatients() const;             // ascending id

  // The slice. NotFound if absent.
  Result<SliceRecord> GetSlice(const SliceId& id) const;
  // All slices of a study in (series, slice_number, name) order: one prefix
  // scan. OK with an empty vector when the study has no slices.
  Result<std::vector<SliceRecord>> SlicesOfStudy(std::string_view study_id) const;
  // Calls fn for every slice in key order (study, series, z); stops early
  // and returns OK when fn returns false. The scan sees the index as it was
  // when the call began (RocksDB iterators hold an implicit snapshot).
  Status ForEachSlice(const std::function<bool(const SliceRecord&)>& fn) const;

  // Every slice that holds a lesion, in key order, with its lesions.
  Result<std::vector<LesionSlice>> LesionSlices() const;
  // The DL_info rows of a slice in ordinal order (empty when none).
  Result<std::vector<LesionRecord>> LesionsOfSlice(const SliceId& id) const;
  // The DL_info rows of every slice of a study, in key order (one prefix
  // scan; empty when none).
  Result<std::vector<LesionRecord>> LesionsOfStudy(std::string_view study_id) const;
  // Calls fn for every lesion in key order; stops early when fn returns false.
  Status ForEachLesion(const std::function<bool(const LesionRecord&)>& fn) const;

  // Counts over the whole index (scans studies, patients and lesions; reads
  // no slice values).
  Result<IndexStats> Stats() const;

  // Reads every SST file of the index and checks its block checksums
  // (RocksDB's DB::VerifyChecksum). OK: every file is intact. Corruption: a
  // file is damaged or truncated (the message names it and says to rebuild
  // the index with `radclear index`). Reads and scans check the checksums of
  // the blocks they touch too; this checks all of them.
  Status VerifyChecksums() const;
  // A meta value (default column family). NotFound if unset.
  Result<std::string> GetMeta(std::string_view key) const;

  // ---- writes ---------------------------------------------------------------

  // A batch bound to this index's column families.
  IndexBatch NewBatch() const;
  // Applies every operation of `batch` atomically: after a crash either all
  // of them or none are in the index. OK: applied (and in the WAL; with
  // sync, fsynced) and the batch is cleared. FailedPrecondition: read-only
  // handle. IoError: RocksDB refused; nothing was applied, the batch is
  // kept.
  Status Write(IndexBatch* batch, bool sync = false);
  // Flushes memtables to SST files (end of a bulk ingest). OK: flushed.
  Status Flush();

  // ---- extension points for other storage modules ---------------------------

  // The underlying RocksDB handle (for modules that add their own column
  // families; they follow the one-writer rule too).
  rocksdb::DB* raw_db() const { return db_.get(); }
  // The handle of a column family by name; a writable index creates a
  // missing one. NotFound: absent and the index is read-only.
  Result<rocksdb::ColumnFamilyHandle*> column_family(const std::string& name);

 private:
  SliceIndex() = default;
  friend class IndexBatch;
  struct Handles;
  std::filesystem::path path_;
  bool read_only_ = false;
  std::unique_ptr<rocksdb::DB> db_;
  std::unique_ptr<Handles> cf_;
};

// Operations queued for one atomic SliceIndex::Write. Keeps the derived
// column families (lesion_slices, studies_by_split) in step with the
// records. Not thread-safe; cheap to move.
class IndexBatch {
 public:
  IndexBatch(IndexBatch&&) noexcept;
  IndexBatch& operator=(IndexBatch&&) noexcept;
  ~IndexBatch();

  // Writes the slice and adds/removes its lesion_slices entry per r.lesion.
  void PutSlice(const SliceRecord& r);
  void DeleteSlice(const SliceId& id);
  void PutLesion(const LesionRecord& r);
  void DeleteLesion(const SliceId& slice, uint16_t ordinal);
  // Writes the study; `previous` (the stored record, or null when new) lets
  // the batch drop a stale studies_by_split entry when the split changed.
  void PutStudy(const StudyRecord& r, const StudyRecord* previous);
  void PutPatient(const PatientRecord& r);
  void PutMeta(std::string_view key, std::string_view value);

  size_t operations() const { return operations_; }
  size_t bytes() const;
  void Clear();

 private:
  friend class SliceIndex;
  explicit IndexBatch(const SliceIndex* index);
  const SliceIndex* index_;
  std::unique_ptr<rocksdb::WriteBatch> batch_;
  size_t operations_ = 0;
};

}  // namespace radclear::storage
