#pragma once
// Deals studies to ranks balanced by slice count (longest-processing-time
// first: largest study to the least-loaded rank), not round-robin by name:
// a study with 600 slices costs ten of 60. Deterministic: ties break by
// study id and rank, so every rank computes the same assignment alone.
#include <cstdint>
#include <string>
#include <vector>

namespace radclear::worker {

struct StudyLoad {
  std::string study;
  int64_t slices = 0;
};

// Returns, for each rank, the studies it owns (largest first).
std::vector<std::vector<StudyLoad>> shard_studies(std::vector<StudyLoad> studies, int world);

}  // namespace radclear::worker
