#pragma once
// Distributed sharding of an epoch into batches (DistributedSampler done so
// that distributed training is exact): every epoch the global data set of N
// samples is permuted with a permutation seeded by (seed, epoch); global
// batch s is positions [s G, (s + 1) G) of that permutation; rank r of W
// takes the contiguous slice [r G / W, (r + 1) G / W) of each global batch.
// So the concatenation of the ranks' step-s batches, in rank order, is the
// single-process global batch s, whatever W.
// drop_last (default) drops the incomplete last global batch; without it,
// the last global batch is split into W contiguous near-equal parts (the
// first ranks get one more), so the concatenation property still holds.
// Batches are random access: resuming at (epoch, step) is just asking for
// them. Thread safety: const methods only, safe to share.
#include <cstdint>
#include <vector>

namespace radclear::data {

struct ShardSpec {
  int rank = 0;                 // 0 <= rank < world
  int world = 1;                // number of ranks
  int64_t global_batch = 256;   // samples per step over all ranks; divisible by world
  uint64_t seed = 0;            // permutation seed
  bool shuffle = true;          // false: identity order every epoch
  bool drop_last = true;
};

class ShardedSampler {
 public:
  // Throws InvalidArgument on a bad spec (rank outside world, batch not
  // divisible by world, drop_last with fewer samples than a global batch).
  ShardedSampler(int64_t num_samples, const ShardSpec& spec);

  int64_t num_samples() const { return n_; }
  const ShardSpec& spec() const { return spec_; }
  int64_t local_batch() const { return spec_.global_batch / spec_.world; }
  // Global batches per epoch.
  int64_t steps_per_epoch() const;
  // The epoch's permutation of [0, N).
  std::vector<int64_t> permutation(int64_t epoch) const;
  // This rank's sample indices for (epoch, step), in batch order.
  std::vector<int64_t> batch(int64_t epoch, int64_t step) const;
  // Same, given the epoch's permutation (saves recomputing it per step).
  std::vector<int64_t> batch(const std::vector<int64_t>& perm, int64_t step) const;
  // The global batch (all ranks) for (epoch, step).
  std::vector<int64_t> global_batch(int64_t epoch, int64_t step) const;

 private:
  int64_t n_;
  ShardSpec spec_;
};

}  // namespace radclear::data
