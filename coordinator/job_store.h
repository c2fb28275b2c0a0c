#pragma once
// JobStore: the coordinator's RocksDB, holding jobs, their payloads and
// sweeps. The scheduler keeps the live table in memory; this store is what
// survives a crash, and Load*() rebuilds the table from it.
//
// Its own directory, not column families in the slice index: RocksDB allows
// one writing process per DB, and the index is written by `radclear index`
// and by extraction (finished feature shards) while the coordinator runs
// for days. A separate DB keeps both single-writer, lets the coordinator
// fsync its WAL on every group commit without stalling an index bulk load,
// and can be moved or wiped without touching the data set.
//
// Column families:
//   default   meta: schema version
//   jobs      job id   -> Job (JSON, job_json.h); rewritten on every transition
//   payloads  job id   -> the job's payload (serialized stage spec); written once
//   sweeps    sweep id -> Sweep (JSON)
//
// Durability: Commit() writes one WriteBatch; with JobStoreOptions::sync
// (the default) it returns only after the WAL is fsynced, so a caller that
// acknowledges after Commit() never acknowledges a change a crash can undo.
// Group commit is the caller's: gather many transitions into one batch.
//
// Thread safety: a JobStore may be used from several threads (RocksDB
// calls are), but the coordinator is its one writer (RocksDB's LOCK file
// makes a second writable Open fail with IoError). Read-only handles (e.g.
// `radclear status` while no coordinator runs) may be opened any number of
// times, also while a writer is running; they see the DB as of Open.
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "coordinator/job.h"

namespace rocksdb {
class DB;
}

namespace radclear::coordinator {

inline constexpr int kJobStoreSchemaVersion = 1;

struct JobStoreOptions {
  // Open without the write lock; Commit is refused. Default: false.
  bool read_only = false;
  // Create the DB when the directory holds none (ignored when read_only).
  // Default: true.
  bool create_if_missing = true;
  // fsync the WAL before Commit returns. Default: true. Only benchmarks
  // that measure the cost of durability turn it off.
  bool sync = true;
};

// Records for one atomic Commit. Plain data so the scheduler can fill it
// without seeing RocksDB.
struct StoreBatch {
  std::vector<Job> jobs;                                   // full records, upserted
  std::vector<std::pair<std::string, std::string>> payloads;  // (job id, payload)
  std::vector<Sweep> sweeps;                               // full records, upserted
  bool empty() const { return jobs.empty() && payloads.empty() && sweeps.empty(); }
  size_t size() const { return jobs.size() + payloads.size() + sweeps.size(); }
  void clear() {
    jobs.clear();
    payloads.clear();
    sweeps.clear();
  }
};

class JobStore {
 public:
  // Opens or creates the store at `path`.
  // NotFound: read_only (or !create_if_missing) and no store at `path`.
  // IoError: RocksDB could not open it, e.g. a coordinator already holds it
  // (the message says so). FailedPrecondition: another schema version.
  static Result<std::unique_ptr<JobStore>> Open(const std::filesystem::path& path,
                                                const JobStoreOptions& options = {});
  ~JobStore();
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  const std::filesystem::path& path() const { return path_; }
  bool read_only() const { return options_.read_only; }

  // Writes every record of `batch` atomically (all or none after a crash).
  // OK: written (and fsynced when options.sync); the batch is left as is.
  // FailedPrecondition: read-only handle. IoError: RocksDB refused; nothing
  // was written.
  Status Commit(const StoreBatch& batch);

  // Every job, in id order. Corruption names the key that does not decode.
  Result<std::vector<Job>> LoadJobs() const;
  // Every sweep, in id order.
  Result<std::vector<Sweep>> LoadSweeps() const;
  // A job's payload. NotFound if the job has none.
  Result<std::string> GetPayload(const std::string& job_id) const;

 private:
  JobStore() = default;
  struct Handles;
  std::filesystem::path path_;
  JobStoreOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::unique_ptr<Handles> cf_;
};

}  // namespace radclear::coordinator
