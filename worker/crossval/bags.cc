#include "worker/crossval/bags.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "common/check.h"

namespace radclear::crossval {

uint64_t mix_seed(uint64_t a, uint64_t b) {
  uint64_t z = a + 0x9e3779b97f4a7c15ull * (b + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::vector<int64_t> select_bag_rows(int64_t rows, const std::vector<int64_t>& key_rows, int64_t bag_size,
                                     uint64_t seed) {
  RADCLEAR_CHECK(bag_size > 0 && rows >= 0, "bag_size {} rows {}", bag_size, rows);
  std::vector<int64_t> out;
  if (rows <= bag_size) {
    out.resize(static_cast<size_t>(rows));
    std::iota(out.begin(), out.end(), 0);
    return out;
  }
  std::mt19937_64 rng(seed);
  std::vector<char> is_key(static_cast<size_t>(rows), 0);
  std::vector<int64_t> keys, others;
  for (int64_t r : key_rows) {
    RADCLEAR_CHECK(r >= 0 && r < rows, "key row {} outside [0, {})", r, rows);
    if (!is_key[r]) keys.push_back(r);
    is_key[r] = 1;
  }
  for (int64_t r = 0; r < rows; ++r) {
    if (!is_key[r]) others.push_back(r);
  }
  // Partial Fisher-Yates: the first m entries become a uniform sample.
  auto sample = [&](std::vector<int64_t>& v, size_t m) {
    for (size_t i = 0; i < m && i < v.size(); ++i) {
      const size_t j = i + static_cast<size_t>(rng() % (v.size() - i));
      std::swap(v[i], v[j]);
    }
    v.resize(std::min(m, v.size()));
  };
  const auto want = static_cast<size_t>(bag_size);
  if (keys.size() >= want) {
    sample(keys, want);
    out = keys;
  } else {
    sample(others, want - keys.size());
    out = keys;
    out.insert(out.end(), others.begin(), others.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace radclear::crossval
