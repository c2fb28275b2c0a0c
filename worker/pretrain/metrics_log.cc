#include "worker/pretrain/metrics_log.h"

#include <cerrno>
#include <cstring>
#include <iterator>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/check.h"

namespace radclear::worker {
namespace fs = std::filesystem;

MetricsLog::MetricsLog(fs::path path, const std::string& header) : path_(std::move(path)) {
  std::string old;
  if (fs::exists(path_)) {
    std::ifstream in(path_, std::ios::binary);
    old.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    const size_t end = old.find_last_of('\n');
    const size_t keep = end == std::string::npos ? 0 : end + 1;
    if (keep != old.size()) {
      spdlog::warn("{}: dropping a torn last row ({} bytes) before appending", path_.string(), old.size() - keep);
      fs::resize_file(path_, keep);
      old.resize(keep);
    }
    if (!old.empty() && old.compare(0, old.find('\n'), header) != 0) {
      spdlog::warn("{}: the first line is not the header '{}'; appending anyway", path_.string(), header);
    }
  }
  out_.open(path_, std::ios::app);
  if (!out_) throw IoError(fmt::format("{}: cannot open for appending: {}", path_.string(), std::strerror(errno)));
  if (old.empty()) append(header);
}

void MetricsLog::append(const std::string& row) {
  // errno of the write that failed: nothing between the write and the check
  // touches it.
  errno = 0;
  out_ << row << '\n';
  out_.flush();
  if (!out_) {
    const int err = errno;
    throw IoError(fmt::format("{}: writing a metrics row failed: {}; the rows before it are kept (a rerun resumes "
                              "from the last checkpoint and cuts off the torn row)",
                              path_.string(), err != 0 ? std::strerror(err) : "unknown cause"));
  }
}

}  // namespace radclear::worker
