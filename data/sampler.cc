#include "data/sampler.h"

#include <algorithm>
#include <numeric>

#include "common/check.h"
#include "data/rng.h"

namespace radclear::data {

ShardedSampler::ShardedSampler(int64_t num_samples, const ShardSpec& spec) : n_(num_samples), spec_(spec) {
  if (spec.world < 1 || spec.rank < 0 || spec.rank >= spec.world) {
    throw InvalidArgument(fmt::format("sampler: rank {} outside world {}", spec.rank, spec.world));
  }
  if (spec.global_batch < 1 || spec.global_batch % spec.world != 0) {
    throw InvalidArgument(fmt::format("sampler: global batch {} must be a positive multiple of world {}",
                                      spec.global_batch, spec.world));
  }
  if (num_samples < 0) throw InvalidArgument(fmt::format("sampler: {} samples", num_samples));
  if (spec.drop_last && num_samples < spec.global_batch) {
    throw InvalidArgument(fmt::format("sampler: {} samples do not fill one global batch of {} (drop_last)",
                                      num_samples, spec.global_batch));
  }
}

int64_t ShardedSampler::steps_per_epoch() const {
  return spec_.drop_last ? n_ / spec_.global_batch : (n_ + spec_.global_batch - 1) / spec_.global_batch;
}

std::vector<int64_t> ShardedSampler::permutation(int64_t epoch) const {
  std::vector<int64_t> perm(n_);
  std::iota(perm.begin(), perm.end(), 0);
  if (spec_.shuffle) {
    SampleRng rng(spec_.seed, static_cast<uint64_t>(epoch), 0, RngStream::kPermutation);
    for (int64_t i = n_ - 1; i > 0; --i) std::swap(perm[i], perm[rng.uniform_int(0, i)]);
  }
  return perm;
}

std::vector<int64_t> ShardedSampler::batch(const std::vector<int64_t>& perm, int64_t step) const {
  RADCLEAR_CHECK_EQ(static_cast<int64_t>(perm.size()), n_, "permutation size");
  if (step < 0 || step >= steps_per_epoch()) {
    throw InvalidArgument(fmt::format("sampler: step {} outside [0, {})", step, steps_per_epoch()));
  }
  const int64_t begin = step * spec_.global_batch;
  const int64_t size = std::min(spec_.global_batch, n_ - begin);
  // Contiguous split of `size` into world parts, the first size % world one
  // longer (equal parts for a full batch).
  const int64_t base = size / spec_.world, extra = size % spec_.world;
  const int64_t r = spec_.rank;
  const int64_t lo = begin + r * base + std::min(r, extra);
  const int64_t len = base + (r < extra ? 1 : 0);
  return std::vector<int64_t>(perm.begin() + lo, perm.begin() + lo + len);
}

std::vector<int64_t> ShardedSampler::batch(int64_t epoch, int64_t step) const {
  return batch(permutation(epoch), step);
}

std::vector<int64_t> ShardedSampler::global_batch(int64_t epoch, int64_t step) const {
  ShardSpec single = spec_;
  single.rank = 0;
  single.world = 1;
  return ShardedSampler(n_, single).batch(epoch, step);
}

}  // namespace radclear::data
