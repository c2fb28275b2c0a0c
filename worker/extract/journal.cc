#include "worker/extract/journal.h"

#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/check.h"

namespace radclear::worker {

namespace fs = std::filesystem;

fs::path journal_path(const fs::path& out, const std::string& set_id, int rank) {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "host");
  for (char* c = host; *c; ++c) {
    if (*c == '/' || *c == '.') *c = '_';
  }
  return out / ".journal" / fmt::format("{}.rank{}.{}.{}.jsonl", set_id, rank, host, ::getpid());
}

bool journal_in_use(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool busy = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // drops a lock we got
  return busy;
}

std::vector<fs::path> journal_files(const fs::path& out, const std::string& set_id) {
  std::vector<fs::path> files;
  const fs::path dir = out / ".journal";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return files;
  const std::string prefix = set_id + ".rank";
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && e.path().extension() == ".jsonl") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

ShardJournal::ShardJournal(fs::path path) : path_(std::move(path)) {
  std::error_code ec;
  fs::create_directories(path_.parent_path(), ec);
  file_ = std::fopen(path_.c_str(), "ab");
  if (!file_) throw IoError(fmt::format("cannot open journal {}: {}", path_.string(), std::strerror(errno)));
  // Held while this writer lives: another job's ingest leaves the file alone.
  if (::flock(fileno(file_), LOCK_EX | LOCK_NB) != 0) {
    spdlog::warn("journal {}: cannot lock it ({}); another run's cleanup may remove it early", path_.string(),
                 std::strerror(errno));
  }
}

ShardJournal::~ShardJournal() {
  if (file_) std::fclose(file_);
}

void ShardJournal::append(const storage::FeatureShardRecord& r) {
  const std::string line = storage::encode_feature_shard(r) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0 ||
      ::fsync(fileno(file_)) != 0) {
    throw IoError(fmt::format("cannot append to journal {}: {}", path_.string(), std::strerror(errno)));
  }
}

std::vector<storage::FeatureShardRecord> read_journal(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("cannot read journal {}", path.string()));
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<storage::FeatureShardRecord> records;
  size_t pos = 0;
  int64_t line_no = 0;
  while (pos < content.size()) {
    const size_t end = content.find('\n', pos);
    ++line_no;
    if (end == std::string::npos) {
      // No newline: the writer died inside append(); that study is redone.
      spdlog::warn("{}:{}: ignoring a torn last line (the run was killed while writing it)", path.string(),
                   line_no);
      break;
    }
    storage::FeatureShardRecord r;
    Status s = storage::decode_feature_shard(std::string_view(content).substr(pos, end - pos),
                                             fmt::format("{}:{}", path.string(), line_no), &r);
    if (!s.ok()) throw CorruptData(s.message());
    records.push_back(std::move(r));
    pos = end + 1;
  }
  return records;
}

}  // namespace radclear::worker
