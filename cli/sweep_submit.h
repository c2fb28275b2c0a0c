#pragma once
// A sweep file -> the submission a coordinator takes: the sweep parsed, its
// data paths made absolute (against the current directory, as command-line
// paths are), trials expanded, extraction shards balanced over the index's
// studies (by slice count), and every job's payload built from its stage
// spec (coordinator/stage_payload.h). Shared by `radclear submit` and
// `radclear run`.
#include <filesystem>

#include "common/status.h"
#include "coordinator/sweep.h"

namespace radclear::cli {

struct PreparedSweep {
  coordinator::SweepSpec spec;
  coordinator::SweepSubmission submission;
  std::filesystem::path out;  // data.out, absolute
  size_t jobs = 0;            // distinct jobs
};

Result<PreparedSweep> prepare_sweep(const std::filesystem::path& file);

}  // namespace radclear::cli
