#pragma once
// The list of slices a pretraining epoch permutes, derived from the index's
// slices and the spec's LeCL settings.
#include <vector>

#include "data/sample.h"
#include "worker/pretrain/spec.h"

namespace radclear::worker {

// With sampling None every slice loses its lesion flag and boxes (plain MoCo
// v3: two random crops everywhere, no lesion negatives). With sampling Lesion
// and lesion_repeat R > 1, the lesion slices are appended R - 1 more times,
// in their original order: each appears R times per epoch. The sampler still
// permutes a plain list, so sharding and resume stay exact, and a copy's
// list position (which seeds its augmentation) differs from the original's,
// so the copies get different views.
std::vector<data::SliceSample> epoch_samples(const PretrainSpec& spec, std::vector<data::SliceSample> samples);

}  // namespace radclear::worker
