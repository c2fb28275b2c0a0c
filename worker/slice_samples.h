#pragma once
// The adapter from the RocksDB slice index to the slice pipeline's input:
// index records -> data::SliceSample. It lives in worker/, beside the
// stages that read the index, because data/ must not depend on RocksDB.
#include <optional>
#include <vector>

#include "common/status.h"
#include "data/sample.h"
#include "storage/index.h"

namespace radclear::worker {

// Every slice of the index in key order (study, series, z), or only the
// slices of studies in `split`. SliceSample::id is the position in the
// returned list; path is the record's rel_path (relative to the data root);
// boxes are the record's lesion boxes. Errors: the index's Status.
Result<std::vector<data::SliceSample>> slice_samples_from_index(const storage::SliceIndex& index,
                                                                 std::optional<storage::Split> split = std::nullopt);

// One record -> one sample (exposed for tests).
data::SliceSample to_slice_sample(const storage::SliceRecord& r, int64_t id);

}  // namespace radclear::worker
