// `radclear index --verify`: the index's files pass RocksDB's checksum
// verification and every indexed slice exists with its size.
#include "storage/ingest.h"

#include <algorithm>
#include <atomic>
#include <mutex>

#include <fmt/format.h>

#include "common/parallel.h"

namespace radclear::storage {

namespace fs = std::filesystem;

// ---- verify ------------------------------------------------------------------

Status verify_files(const SliceIndex& index, const fs::path& root, int threads, VerifyReport* report) {
  *report = VerifyReport();
  // RocksDB's own files first: every block of every SST against its checksum.
  if (Status s = index.VerifyChecksums(); !s.ok()) return s;
  std::vector<std::pair<std::string, uint64_t>> files;
  Status s = index.ForEachSlice([&](const SliceRecord& r) {
    files.emplace_back(r.rel_path, r.file_size);
    return true;
  });
  if (!s.ok()) return s;
  std::mutex mu;
  std::atomic<int64_t> missing{0}, mismatch{0};
  parallel_for(static_cast<int64_t>(files.size()), threads, [&](int64_t i) {
    const auto& [rel, size] = files[static_cast<size_t>(i)];
    std::string problem;
    std::error_code ec;
    if (!is_safe_relative_path(rel)) {
      problem = fmt::format("{}: indexed path escapes the data root", rel);
      ++missing;
    } else {
      const uint64_t actual = fs::file_size(root / rel, ec);
      if (ec) {
        problem = fmt::format("{}: missing ({})", rel, ec.message());
        ++missing;
      } else if (actual != size) {
        problem = fmt::format("{}: {} bytes, indexed with {}", rel, actual, size);
        ++mismatch;
      }
    }
    if (!problem.empty()) {
      std::lock_guard<std::mutex> lock(mu);
      if (report->problems.size() < 100) report->problems.push_back(std::move(problem));
    }
  });
  report->checked = static_cast<int64_t>(files.size());
  report->missing = missing;
  report->size_mismatch = mismatch;
  std::sort(report->problems.begin(), report->problems.end());
  return Status::Ok();
}

}  // namespace radclear::storage
