#pragma once
// Scheduler: the job table's rules, with no sockets and no clock of its own
// (every call takes `now_ms`), so tests drive time by hand. It keeps the
// live table in memory and queues every change; Commit() writes the queued
// changes to the JobStore in one synced batch. The server calls Commit()
// once per poll round, before sending any reply of that round: that is the
// group commit (many transitions, one fsync) and the reason no reply ever
// acknowledges a change that a crash could undo.
//
// Leases: a grant bumps the job's epoch and the lease carries it; every
// heartbeat, done and fail must name the current epoch. After a lease
// expires and the job is granted again, the old holder's messages carry an
// old epoch and are refused as stale, so a late "done" never double-records.
// A done repeated with the epoch that already recorded it (a retry after a
// lost reply) is acknowledged as a duplicate and changes nothing.
//
// Matching: a group of R ranks gets the oldest READY gang job with
// min_ranks <= R if there is one (gang jobs are the trial's critical path:
// everything downstream waits for the pretrained encoder), else the oldest
// READY shard/fold job. A group may hold several leases.
//
// Not thread-safe: one thread (the server loop) owns a Scheduler.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/status.h"
#include "coordinator/job.h"
#include "coordinator/job_store.h"
#include "coordinator/status_report.h"

namespace radclear::coordinator {

struct SchedulerOptions {
  // A lease lives this long after its grant or its last heartbeat.
  // Default: 30 s (workers heartbeat every 5 s).
  int64_t lease_ttl_ms = 30000;
  // max_attempts of a job submitted with 0. Default: 3.
  int default_max_attempts = 3;
};

// One job as submitted. `inputs` are job ids: jobs already in the table or
// earlier in the same submission (job_id_for(content_key_for(...))).
struct JobSubmission {
  Stage stage = Stage::kSynth;
  std::string payload;
  std::vector<std::string> inputs;
  int min_ranks = 1;     // for gang stages; others run on any group
  int max_attempts = 0;  // 0: SchedulerOptions::default_max_attempts
  // The id this submission gets (stage + content key).
  std::string id() const;
};

struct TrialSubmission {
  std::string id;
  std::vector<std::string> overrides;
  std::vector<JobSubmission> jobs;  // inputs before the jobs reading them
};

struct SweepSubmission {
  std::string sweep;
  std::vector<TrialSubmission> trials;
};

struct SubmitResult {
  std::string sweep;
  int64_t jobs_new = 0;      // created by this submission
  int64_t jobs_shared = 0;   // already in the table (same content key), reused
  int64_t jobs_rearmed = 0;  // were FAILED/CANCELLED, queued again
};

struct GroupInfo {
  std::string id;  // unique per worker group (e.g. host:pid of rank 0)
  int ranks = 1;
};

// What a worker needs to run a job: the payload and its inputs' outputs.
struct InputOutputs {
  std::string id;
  Stage stage = Stage::kSynth;
  std::vector<std::string> outputs;
};

struct LeaseGrant {
  std::string job_id;
  Stage stage = Stage::kSynth;
  uint64_t epoch = 0;
  int attempt = 0;
  int64_t expires_ms = 0;
  std::string payload;
  std::vector<InputOutputs> inputs;
};

// One job's entry in a group heartbeat.
struct Beat {
  std::string job_id;
  uint64_t epoch = 0;
  std::optional<Progress> progress;
};

enum class BeatVerdict : uint8_t {
  kOk,         // lease renewed
  kCancelled,  // the job was cancelled: stop working on it
  kStale,      // not this lease (expired and granted again, or unknown): stop
};
const char* beat_verdict_name(BeatVerdict v);

struct BeatReply {
  std::string job_id;
  BeatVerdict verdict = BeatVerdict::kOk;
};

// done / fail outcome: recorded now, or already recorded by this epoch.
struct Recorded {
  bool recorded = false;  // false: a repeat of an already recorded message
};

struct SchedulerCounters {
  int64_t transitions = 0;    // job state changes
  int64_t grants = 0;
  int64_t done_recorded = 0;  // DONE transitions (each job at most once per success)
  int64_t stale_refused = 0;  // done/fail/heartbeat carrying an old epoch
  int64_t expired = 0;        // leases that ran out
  int64_t cancelled = 0;      // CANCELLED transitions (cascades included)
  int64_t commits = 0;        // synced batches written
  int64_t committed_records = 0;
};

class Scheduler {
 public:
  // `store` must outlive the scheduler; nullptr keeps everything in
  // memory (Commit then only clears the queue).
  Scheduler(JobStore* store, SchedulerOptions options);

  // Rebuilds the table from the store: what a restarted coordinator does.
  // Leases held at the crash stay held, with a fresh ttl from `now_ms`, so
  // groups that are still working keep their jobs and reconnect; those
  // that died lose them at the next expiry.
  Status Load(int64_t now_ms);

  // ---- mutations (queued until Commit) --------------------------------------
  // InvalidArgument: an empty sweep id, an input that names no job, a
  // payload that is empty.
  Result<SubmitResult> Submit(const SweepSubmission& sub, int64_t now_ms);
  // The job for `group`, or nullopt when none is READY for it. `token`
  // (may be empty) makes the call idempotent: a retried request with the
  // token of a live grant gets that grant again.
  Result<std::optional<LeaseGrant>> Lease(const GroupInfo& group, const std::string& token, int64_t now_ms);
  std::vector<BeatReply> Heartbeat(const GroupInfo& group, const std::vector<Beat>& beats, int64_t now_ms);
  // NotFound: no such job. FailedPrecondition: a stale epoch (not recorded).
  Result<Recorded> Done(const std::string& job_id, uint64_t epoch, const std::vector<std::string>& outputs,
                        int64_t now_ms);
  // The holder gives up: READY again, or FAILED after max_attempts.
  Result<Recorded> Fail(const std::string& job_id, uint64_t epoch, const std::string& error, int64_t now_ms);
  // Returns expired leases to the queue (or FAILED). Returns how many.
  int64_t ExpireLeases(int64_t now_ms);
  // `target`: a job id, a sweep id or "sweep/trial". Cancels what is not
  // DONE and every job depending on it; a job shared with a trial outside
  // the target is left alone. Returns the number of jobs cancelled,
  // those downstream included.
  Result<int64_t> Cancel(const std::string& target, int64_t now_ms);
  // Queues FAILED/CANCELLED jobs of `target` again with fresh attempts, and
  // the cancelled jobs downstream of them. Returns how many.
  Result<int64_t> Retry(const std::string& target, int64_t now_ms);

  // Writes every queued change in one batch (synced, see JobStore).
  // With `with_progress`, heartbeat progress noted since the last commit is
  // written too (progress alone is never worth an fsync: the next
  // heartbeat repeats it). On failure the in-memory table is rebuilt from
  // the store, so memory never runs ahead of disk; the caller must then
  // answer the round's requests with the error. Internal: the rebuild
  // failed too and the table is unusable.
  Status Commit(int64_t now_ms, bool with_progress = false);
  bool has_pending() const { return !dirty_.empty() || !dirty_sweeps_.empty(); }

  // ---- reads ------------------------------------------------------------------
  // NotFound: the query names no sweep, trial or job.
  Result<StatusReport> Query(const std::string& query, int64_t now_ms) const;
  const Job* Find(const std::string& job_id) const;
  // The payload of a job (queued or stored).
  Result<std::string> Payload(const std::string& job_id) const;
  size_t size() const { return jobs_.size(); }
  const SchedulerCounters& counters() const { return counters_; }
  // Live leases (LEASED or RUNNING jobs).
  size_t leased_count() const { return leased_.size(); }

 private:
  using QueueKey = std::pair<uint64_t, std::string>;  // (seq, id)

  void set_state(Job& job, JobState state, int64_t now_ms);
  // Adds `delta` to the state counts of every trial and sweep `job` serves
  // (a sweep once even when several of its trials share the job).
  void tally(const Job& job, JobState state, int delta);
  void tally_owner(const Job& job, const TrialRef& owner, int delta);
  void release_lease(Job& job);
  void refresh_readiness(Job& job, int64_t now_ms);
  void cascade_cancel(const std::string& from_id, const std::string& reason, int64_t now_ms);
  void enqueue(const Job& job);
  void dequeue(const Job& job);
  void mark(const Job& job) { dirty_.insert(job.id); }
  void index_job(const Job& job);
  // The jobs a target names (job id, sweep, sweep/trial); NotFound if none.
  Result<std::vector<std::string>> resolve_target(const std::string& target, std::vector<TrialRef>* trials) const;
  JobRow row_of(const Job& job, int64_t now_ms) const;
  LeaseGrant grant_of(const Job& job) const;

  JobStore* store_;
  SchedulerOptions options_;
  std::unordered_map<std::string, Job> jobs_;
  std::unordered_map<std::string, std::vector<std::string>> dependants_;  // input id -> readers
  std::map<std::string, Sweep> sweeps_;
  std::set<QueueKey> ready_any_;   // READY shard/fold/... jobs, oldest first
  std::set<QueueKey> ready_gang_;  // READY gang jobs, oldest first
  std::set<std::string> leased_;   // LEASED or RUNNING
  // Jobs per state per trial ("sweep/trial") and per sweep, kept as jobs
  // move, so a status summary costs O(trials + leases), not O(jobs).
  std::unordered_map<std::string, StateCounts> trial_counts_;
  std::unordered_map<std::string, StateCounts> sweep_counts_;
  // Queued for the next Commit.
  std::unordered_set<std::string> dirty_;
  std::unordered_set<std::string> progress_dirty_;
  std::set<std::string> dirty_sweeps_;
  std::unordered_map<std::string, std::string> pending_payloads_;
  uint64_t next_seq_ = 1;
  SchedulerCounters counters_;
};

}  // namespace radclear::coordinator
