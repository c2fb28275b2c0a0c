#pragma once
// The pipeline's random numbers. Every sample's randomness is a pure
// function of (seed, epoch, sample index): SampleRng is a xoshiro256**
// generator whose state is expanded with SplitMix64 from those three
// numbers (plus a stream tag), so a sample draws the same crops and jitters
// whichever thread decodes it and in whatever order. The epoch permutation
// of the sampler uses the same generator with its own stream tag.
#include <cmath>
#include <cstdint>

namespace radclear::data {

// Stream tags keep the sampler's permutation and the samples' augmentations
// from ever sharing a state.
enum class RngStream : uint64_t { kAugment = 0x61756700, kPermutation = 0x7065726d };

inline uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class SampleRng {
 public:
  SampleRng(uint64_t seed, uint64_t epoch, uint64_t index, RngStream stream = RngStream::kAugment) {
    uint64_t x = seed;
    // Fold each coordinate through the mixer so nearby (epoch, index) pairs
    // give unrelated states.
    x = splitmix64(x) ^ epoch;
    x = splitmix64(x) ^ index;
    x = splitmix64(x) ^ static_cast<uint64_t>(stream);
    for (auto& s : s_) s = splitmix64(x);
  }

  uint64_t next_u64() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  // Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [lo, hi] (inclusive), unbiased (Lemire's method).
  int64_t uniform_int(int64_t lo, int64_t hi) {
    const uint64_t range = static_cast<uint64_t>(hi - lo) + 1;
    if (range == 0) return static_cast<int64_t>(next_u64());  // full 64-bit range
    __uint128_t m = static_cast<__uint128_t>(next_u64()) * range;
    uint64_t low = static_cast<uint64_t>(m);
    if (low < range) {
      const uint64_t threshold = -range % range;
      while (low < threshold) {
        m = static_cast<__uint128_t>(next_u64()) * range;
        low = static_cast<uint64_t>(m);
      }
    }
    return lo + static_cast<int64_t>(m >> 64);
  }
  bool bernoulli(double p) { return uniform() < p; }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace radclear::data
