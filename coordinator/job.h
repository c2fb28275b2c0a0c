#pragma once
// The coordinator's job record: what a job is (stage, opaque payload,
// inputs), where it stands (state, lease, attempts, progress, error) and
// which sweeps and trials it belongs to. Torch-free on purpose: the
// coordinator stores and ships jobs without knowing what a spec contains.
//
// Life of a job (states, and who moves it):
//   PENDING   an input is not DONE yet                       (submit)
//   READY     every input is DONE; waits for a worker group   (an input's done, expiry, retry)
//   LEASED    granted to a group, not yet confirmed           (lease)
//   RUNNING   the group heartbeats it                         (first heartbeat)
//   DONE      a holder of the current lease said so          (done)
//   FAILED    max_attempts used up; last_error says why      (fail, expiry)
//   CANCELLED by a user, or an input FAILED / was CANCELLED  (cancel, cascade)
// LEASED and RUNNING always come with a live lease; when it expires the job
// goes back to READY (or FAILED after max_attempts).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace radclear::coordinator {

enum class Stage : uint8_t { kSynth, kIndex, kPretrain, kExtract, kCrossval, kDeploy, kReport };
enum class JobState : uint8_t { kPending, kReady, kLeased, kRunning, kDone, kFailed, kCancelled };

// "pretrain", "RUNNING", ...; parse_* return nullopt for an unknown name.
const char* stage_name(Stage s);
std::optional<Stage> parse_stage(std::string_view name);
const char* job_state_name(JobState s);
std::optional<JobState> parse_job_state(std::string_view name);
// "synth, index, pretrain, ..." for error messages.
std::string stage_names();

// DONE, FAILED, CANCELLED: nothing moves the job again except retry.
bool is_terminal(JobState s);
// LEASED, RUNNING: a lease is held.
bool is_leased(JobState s);

// Whether a stage needs a whole worker group (gang) or runs on any group.
// Pretraining is one MPI world (gradients are averaged over its ranks);
// extraction shards and cross-validation folds run on whatever group asks.
bool is_gang_stage(Stage s);

// A lease: which group holds the job, under which epoch, until when.
// The epoch is the job's lease counter at grant time. Every heartbeat,
// done and fail names it, so a holder whose lease expired (and whose job
// was granted again under a newer epoch) can never record anything.
struct Lease {
  std::string group;     // worker group id (one MPI world)
  int ranks = 0;         // size of that group
  uint64_t epoch = 0;    // the job's lease epoch this lease carries
  int64_t expires_ms = 0;  // wall clock (ms since the Unix epoch)
  // The token of the lease request that got this grant, so a request
  // retried after a lost reply gets the same grant instead of a second job.
  std::string token;
};

// Progress as the worker reports it.
struct Progress {
  double fraction = 0;   // 0..1
  double rate = 0;       // work units per second (slices/s, steps/s, ...)
  std::string unit;      // what `rate` counts, for people ("slices", "steps")
  int64_t updated_ms = 0;
};

// A (sweep, trial) a job serves. Identical jobs are shared, so one job may
// serve several trials of several sweeps.
struct TrialRef {
  std::string sweep;
  std::string trial;
  bool operator==(const TrialRef& o) const { return sweep == o.sweep && trial == o.trial; }
};

struct Job {
  // Identity. `id` is derived from the content key (job_id_for), so
  // submitting the same (stage, payload, inputs) twice names the same job.
  std::string id;
  std::string content_key;  // sha256 hex of stage, payload and input ids
  Stage stage = Stage::kSynth;
  std::vector<std::string> inputs;  // ids of the jobs whose outputs this one reads
  std::vector<TrialRef> owners;
  // Scheduling.
  int min_ranks = 1;  // a gang job needs a group of at least this many ranks
  JobState state = JobState::kPending;
  int attempts = 0;   // leases granted so far
  int max_attempts = 3;
  uint64_t epoch = 0;  // lease counter; the live lease (if any) carries this value
  std::optional<Lease> lease;
  Progress progress;
  std::string last_error;
  std::vector<std::string> outputs;  // what the job produced (paths, report lines)
  int64_t submitted_ms = 0;
  int64_t started_ms = 0;   // current attempt's lease time
  int64_t finished_ms = 0;  // DONE / FAILED / CANCELLED
  // Submission order: ties in the ready queue go to the older job.
  uint64_t seq = 0;
  // The payload (serialized stage spec) is stored apart from this record
  // (JobStore::GetPayload): it is written once, while the record is
  // rewritten on every transition, and it need not sit in memory.
};

// content_key: sha256 over stage name, payload and input ids, each
// length-prefixed so no concatenation of fields can collide with another.
std::string content_key_for(Stage stage, std::string_view payload, const std::vector<std::string>& inputs);
// "<stage>-<first 16 hex digits of the content key>", e.g. "pretrain-3fa9c0d1e2b4a6f8".
std::string job_id_for(Stage stage, std::string_view content_key);

// A trial of a sweep: its point in the grid and its jobs.
struct Trial {
  std::string id;                     // "t000", "t001", ...
  std::vector<std::string> overrides;  // "pretrain.lr=0.0003", for people
  std::vector<std::string> jobs;      // its job ids, in submission order
};

struct Sweep {
  std::string id;
  int64_t submitted_ms = 0;
  std::vector<Trial> trials;
};

}  // namespace radclear::coordinator
