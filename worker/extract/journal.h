#pragma once
// The extraction journal: every rank appends one line per finished study
// (a FeatureShardRecord as JSON) to its own file and fsyncs it, because only
// one process may write the RocksDB index. Rank 0 moves journal lines into
// the index at the end of a run, and at the start of the next one (a run
// killed half way loses no finished study).
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "storage/feature_index.h"

namespace radclear::worker {

// <out>/.journal/<set_id>.rank<r>.<host>.<pid>.jsonl: one file per writing
// process, so shard jobs of one set running in several worker groups at
// once never share a journal.
std::filesystem::path journal_path(const std::filesystem::path& out, const std::string& set_id, int rank);
// True while a live ShardJournal holds `path` (an flock, released when its
// process ends, killed or not): its lines may be read, the file not removed.
bool journal_in_use(const std::filesystem::path& path);
// Every journal file of a set in `out` (any rank count).
std::vector<std::filesystem::path> journal_files(const std::filesystem::path& out, const std::string& set_id);

class ShardJournal {
 public:
  // Opens for appending (creating the directory). Throws IoError naming the file.
  explicit ShardJournal(std::filesystem::path path);
  ~ShardJournal();
  ShardJournal(const ShardJournal&) = delete;
  ShardJournal& operator=(const ShardJournal&) = delete;
  // One line, flushed and fsynced before returning. Throws IoError.
  void append(const storage::FeatureShardRecord& r);
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

// The records of a journal file in order. A torn last line (the writer was
// killed mid-write) is dropped with a warning; a bad line elsewhere throws
// CorruptData naming the file and line.
std::vector<storage::FeatureShardRecord> read_journal(const std::filesystem::path& path);

}  // namespace radclear::worker
