#pragma once
// What `radclear status` shows: rows per sweep, trial and job, computed by
// Scheduler::Query from the in-memory table (or from a read-only JobStore
// when no coordinator runs), shipped as JSON, printed as a table.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "coordinator/job.h"

namespace radclear::coordinator {

// Jobs per state, indexed by JobState.
struct StateCounts {
  std::array<int64_t, 7> by_state{};
  int64_t total = 0;
  void add(JobState s) {
    ++by_state[static_cast<size_t>(s)];
    ++total;
  }
  int64_t of(JobState s) const { return by_state[static_cast<size_t>(s)]; }
};

struct JobRow {
  std::string id;
  Stage stage = Stage::kSynth;
  JobState state = JobState::kPending;
  std::string group;  // the lease holder, when leased
  int ranks = 0;
  double fraction = 0;
  double rate = 0;
  std::string unit;
  double eta_s = -1;  // seconds left at the current pace; -1 unknown
  int attempts = 0;
  int max_attempts = 0;
  std::string last_error;
  std::vector<std::string> outputs;
  std::vector<std::string> inputs;
  std::vector<TrialRef> owners;
};

struct TrialRow {
  std::string sweep;
  std::string id;
  std::vector<std::string> overrides;
  StateCounts counts;
  double fraction = 0;  // (DONE jobs + fractions of leased ones) / jobs
};

struct SweepRow {
  std::string id;
  int64_t submitted_ms = 0;
  int trials = 0;
  StateCounts counts;  // over distinct jobs (a job shared by trials counts once)
  double fraction = 0;
};

// The answer to a status query. Which vectors are filled depends on the
// query's depth: "" -> sweeps; "S" -> that sweep and its trials; "S/T" ->
// that trial and its jobs; "S/T/J" or a job id -> that job.
struct StatusReport {
  std::vector<SweepRow> sweeps;
  std::vector<TrialRow> trials;
  std::vector<JobRow> jobs;
};

void to_json(nlohmann::json& j, const StatusReport& v);
void from_json(const nlohmann::json& j, StatusReport& v);

// A human-readable table of the report (what `radclear status` prints).
std::string format_status(const StatusReport& report);

}  // namespace radclear::coordinator
