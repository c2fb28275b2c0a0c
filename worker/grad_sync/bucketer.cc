#include "worker/grad_sync/bucketer.h"

namespace radclear::worker {

std::vector<std::vector<size_t>> assign_buckets(const std::vector<size_t>& sizes_bytes, const BucketOptions& options) {
  std::vector<std::vector<size_t>> buckets;
  std::vector<size_t> current;
  size_t current_bytes = 0;
  for (size_t k = sizes_bytes.size(); k-- > 0;) {
    const size_t cap = buckets.empty() ? options.first_cap_bytes : options.cap_bytes;
    if (!current.empty() && current_bytes + sizes_bytes[k] > cap) {
      buckets.push_back(std::move(current));
      current.clear();
      current_bytes = 0;
    }
    current.push_back(k);
    current_bytes += sizes_bytes[k];
  }
  if (!current.empty()) buckets.push_back(std::move(current));
  return buckets;
}

}  // namespace radclear::worker
