#pragma once
// The feature-extraction stage (reference.md §3): a frozen encoder embeds
// every slice of every study under each CT window and writes one HDF5 file
// per study (storage/feature_store.h). Every rank runs run_extract() with
// its Communicator; studies are dealt to ranks by slice count.
//
// Resume: finished studies are recorded in the index's feature records
// (storage/feature_index.h) under a feature-set id (checkpoint hash,
// extractor, windows, dtype, image size). A rerun skips a study whose
// recorded file still exists with the recorded size and SHA-256, redoes
// missing or changed ones, and with `force` redoes all. Files are written to
// a temporary name and renamed, so a killed run leaves no partial .h5.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "common/cancel.h"

#include "worker/comm/communicator.h"
#include "worker/extract/spec.h"

namespace radclear::worker {

struct ExtractOptions {
  bool show_progress = true;  // rank 0's progress bar
  int threads_per_rank = 1;   // torch threads of this rank (node cores / ranks on the node)
  int local_rank = 0;         // this rank's index on its node: its GPU under --device cuda / auto
  // Checked after each finished study: a cancelled run records what it
  // finished (a rerun skips those) and returns with ExtractResult::cancelled.
  CancelToken cancel;
  // Called after each study this rank finished, with (done, this rank's studies).
  std::function<void(int64_t, int64_t)> on_study;
};

struct ExtractResult {
  std::string set_id;
  std::string arch;
  int64_t feature_dim = 0;
  int64_t image_size = 0;
  int64_t studies_total = 0;    // studies of the requested splits
  int64_t studies_skipped = 0;  // already finished before this run
  int64_t studies_done = 0;     // extracted by this run, all ranks
  int64_t studies_failed = 0;   // unreadable (strict = false), all ranks
  int64_t slices = 0;           // slices embedded by this run, all ranks
  int64_t rows = 0;             // feature rows written by this run, all ranks
  double seconds = 0;           // wall time of the extraction loop
  double slices_per_second = 0; // all ranks together
  std::vector<std::string> failed_studies;  // this rank's
  bool cancelled = false;       // some rank stopped at the cancel token
};

// Throws InvalidArgument for bad settings or weights that do not fit the
// arch, NotFound / CorruptData naming the file for unreadable inputs; with
// spec.strict an unreadable slice stops the run (finished studies stay
// recorded).
ExtractResult run_extract(const ExtractSpec& spec, Communicator& comm, const ExtractOptions& options = {});

}  // namespace radclear::worker
