#include "common/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "common/check.h"

namespace radclear {
namespace fs = std::filesystem;

namespace {
void fsync_path(const fs::path& p, bool directory) {
  const int fd = ::open(p.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) throw IoError(fmt::format("cannot open {} to sync it: {}", p.string(), std::strerror(errno)));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw IoError(fmt::format("fsync {} failed: {}", p.string(), std::strerror(err)));
}
}  // namespace

fs::path temp_path_for(const fs::path& target) {
  static std::atomic<uint64_t> counter{0};
  const auto name = fmt::format(".{}.tmp.{}.{}", target.filename().string(), ::getpid(), counter++);
  return target.parent_path() / name;
}

void commit_file(const fs::path& tmp, const fs::path& target) {
  fsync_path(tmp, false);
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    throw IoError(fmt::format("cannot rename {} to {}: {}", tmp.string(), target.string(), std::strerror(errno)));
  }
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  fsync_path(dir, true);
}

void write_file_atomic(const fs::path& target, std::string_view contents) {
  AtomicOutputFile f(target, /*binary=*/true);
  f.stream().write(contents.data(), static_cast<std::streamsize>(contents.size()));
  f.commit();
}

AtomicOutputFile::AtomicOutputFile(fs::path target, bool binary)
    : target_(std::move(target)), tmp_(temp_path_for(target_)) {
  out_.open(tmp_, binary ? std::ios::binary | std::ios::trunc : std::ios::trunc);
  if (!out_) throw IoError(fmt::format("cannot write {}: {}", tmp_.string(), std::strerror(errno)));
}

AtomicOutputFile::~AtomicOutputFile() {
  if (!committed_) {
    out_.close();
    std::error_code ec;
    fs::remove(tmp_, ec);  // best effort: the target is untouched either way
  }
}

void AtomicOutputFile::commit() {
  // errno of the write that failed: an earlier one when the stream already
  // failed (nothing since has touched errno), else flush's or close's.
  if (out_) {
    errno = 0;
    out_.flush();
    if (out_) out_.close();  // close() flushes too and may fail the same way
  }
  if (!out_) {
    const int err = errno;
    throw IoError(fmt::format("writing {} failed: {} (its temporary file is removed; the previous {} is untouched)",
                              target_.string(), err != 0 ? std::strerror(err) : "unknown cause",
                              target_.filename().string()));
  }
  commit_file(tmp_, target_);
  committed_ = true;
}

}  // namespace radclear
