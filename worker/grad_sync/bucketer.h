#pragma once
// Assigns gradients to allreduce buckets (PyTorch DDP's
// compute_bucket_assignment_by_size): parameters in reverse registration
// order, which approximates the order backward produces their gradients,
// packed into buckets of at most `cap_bytes` (a tensor larger than the cap
// gets a bucket of its own). Pure, so it is tested without a communicator.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace radclear::worker {

struct BucketOptions {
  // Bucket size cap in bytes. Default: 25 MiB (DDP's bucket_cap_mb).
  size_t cap_bytes = 25u << 20;
  // Cap for the first bucket, which closes early so communication starts
  // soon after backward begins. Default: 1 MiB (DDP's first bucket).
  size_t first_cap_bytes = 1u << 20;
};

// `sizes_bytes[i]`: bytes of parameter i's gradient, in registration order.
// Returns the parameter indices of each bucket, in launch order.
std::vector<std::vector<size_t>> assign_buckets(const std::vector<size_t>& sizes_bytes, const BucketOptions& options);

}  // namespace radclear::worker
