#pragma once
// Which rows of a study go into a bag (pure, no torch): all rows when they
// fit, else `bag_size` rows that keep the key-slice rows (sampled among
// them only when they alone overflow), in their original order. The choice
// depends only on the seed, so reruns and ranks agree.
#include <cstdint>
#include <vector>

namespace radclear::crossval {

std::vector<int64_t> select_bag_rows(int64_t rows, const std::vector<int64_t>& key_rows, int64_t bag_size,
                                     uint64_t seed);

// SplitMix64 of (a, b): derives per-fold / per-epoch / per-study seeds.
uint64_t mix_seed(uint64_t a, uint64_t b);

}  // namespace radclear::crossval
