#include "coordinator/scheduler.h"

#include <algorithm>

#include <fmt/format.h>

namespace radclear::coordinator {

const char* beat_verdict_name(BeatVerdict v) {
  switch (v) {
    case BeatVerdict::kOk: return "ok";
    case BeatVerdict::kCancelled: return "cancelled";
    case BeatVerdict::kStale: return "stale";
  }
  return "?";
}

std::string JobSubmission::id() const { return job_id_for(stage, content_key_for(stage, payload, inputs)); }

Scheduler::Scheduler(JobStore* store, SchedulerOptions options) : store_(store), options_(options) {}

// ---- bookkeeping ---------------------------------------------------------------

void Scheduler::enqueue(const Job& job) {
  (is_gang_stage(job.stage) ? ready_gang_ : ready_any_).insert({job.seq, job.id});
}

void Scheduler::dequeue(const Job& job) {
  (is_gang_stage(job.stage) ? ready_gang_ : ready_any_).erase({job.seq, job.id});
}

namespace {
std::string trial_key(const TrialRef& t) { return t.sweep + "/" + t.trial; }
void bump(StateCounts& c, JobState s, int delta) {
  c.by_state[static_cast<size_t>(s)] += delta;
  c.total += delta;
}
}  // namespace

void Scheduler::tally(const Job& job, JobState state, int delta) {
  for (size_t i = 0; i < job.owners.size(); ++i) {
    bump(trial_counts_[trial_key(job.owners[i])], state, delta);
    bool sweep_seen = false;
    for (size_t k = 0; k < i && !sweep_seen; ++k) sweep_seen = job.owners[k].sweep == job.owners[i].sweep;
    if (!sweep_seen) bump(sweep_counts_[job.owners[i].sweep], state, delta);
  }
}

// Before `owner` is appended to job.owners.
void Scheduler::tally_owner(const Job& job, const TrialRef& owner, int delta) {
  bump(trial_counts_[trial_key(owner)], job.state, delta);
  const bool sweep_seen = std::any_of(job.owners.begin(), job.owners.end(),
                                      [&](const TrialRef& o) { return o.sweep == owner.sweep; });
  if (!sweep_seen) bump(sweep_counts_[owner.sweep], job.state, delta);
}

void Scheduler::set_state(Job& job, JobState state, int64_t now_ms) {
  if (job.state == state) return;
  tally(job, job.state, -1);
  tally(job, state, +1);
  if (job.state == JobState::kReady) dequeue(job);
  if (is_leased(job.state) && !is_leased(state)) release_lease(job);
  job.state = state;
  if (state == JobState::kReady) enqueue(job);
  if (is_terminal(state)) job.finished_ms = now_ms;
  if (state == JobState::kCancelled) ++counters_.cancelled;
  ++counters_.transitions;
  mark(job);
}

void Scheduler::release_lease(Job& job) {
  job.lease.reset();
  leased_.erase(job.id);
}

void Scheduler::index_job(const Job& job) {
  tally(job, job.state, +1);
  for (const std::string& in : job.inputs) dependants_[in].push_back(job.id);
  if (job.state == JobState::kReady) enqueue(job);
  if (is_leased(job.state)) leased_.insert(job.id);
  next_seq_ = std::max(next_seq_, job.seq + 1);
}

// PENDING until every input is DONE, then READY; CANCELLED when an input
// can no longer finish. Only for jobs that are not leased or terminal.
void Scheduler::refresh_readiness(Job& job, int64_t now_ms) {
  if (is_leased(job.state) || is_terminal(job.state)) return;
  bool all_done = true;
  for (const std::string& in : job.inputs) {
    const Job& input = jobs_.at(in);
    if (input.state == JobState::kFailed || input.state == JobState::kCancelled) {
      job.last_error = fmt::format("upstream job {} is {}: {}", in, job_state_name(input.state), input.last_error);
      set_state(job, JobState::kCancelled, now_ms);
      cascade_cancel(job.id, job.last_error, now_ms);
      return;
    }
    if (input.state != JobState::kDone) all_done = false;
  }
  set_state(job, all_done ? JobState::kReady : JobState::kPending, now_ms);
}

void Scheduler::cascade_cancel(const std::string& from_id, const std::string& reason, int64_t now_ms) {
  // Every job downstream names the job that stopped the chain and why.
  const Job& root = jobs_.at(from_id);
  const std::string why = fmt::format("upstream job {} is {}{}{}", from_id, job_state_name(root.state),
                                      reason.empty() ? "" : ": ", reason);
  std::vector<std::string> stack = {from_id};
  while (!stack.empty()) {
    const std::string id = stack.back();
    stack.pop_back();
    auto it = dependants_.find(id);
    if (it == dependants_.end()) continue;
    for (const std::string& dep_id : it->second) {
      Job& dep = jobs_.at(dep_id);
      if (is_terminal(dep.state)) continue;
      dep.last_error = why;
      set_state(dep, JobState::kCancelled, now_ms);
      stack.push_back(dep_id);
    }
  }
}

// ---- load / commit -------------------------------------------------------------

Status Scheduler::Load(int64_t now_ms) {
  jobs_.clear();
  dependants_.clear();
  sweeps_.clear();
  ready_any_.clear();
  ready_gang_.clear();
  leased_.clear();
  trial_counts_.clear();
  sweep_counts_.clear();
  dirty_.clear();
  progress_dirty_.clear();
  dirty_sweeps_.clear();
  pending_payloads_.clear();
  next_seq_ = 1;
  if (store_ == nullptr) return Status::Ok();

  auto jobs = store_->LoadJobs();
  if (!jobs.ok()) return jobs.status();
  auto sweeps = store_->LoadSweeps();
  if (!sweeps.ok()) return sweeps.status();
  for (Job& job : jobs.value()) {
    if (is_leased(job.state)) {
      if (job.lease) {
        // The lease clock restarts: a group that is alive heartbeats within
        // the ttl and keeps its job; one that died with us loses it.
        job.lease->expires_ms = now_ms + options_.lease_ttl_ms;
      } else {
        // Never written by this code; if found, do not leave it RUNNING.
        job.state = JobState::kReady;
        job.last_error = "recovered leased without a lease";
        dirty_.insert(job.id);
      }
    }
    jobs_.emplace(job.id, std::move(job));
  }
  for (auto& [id, job] : jobs_) {
    for (const std::string& in : job.inputs)
      if (!jobs_.count(in))
        return Status::Corruption(fmt::format("{}: job {} reads input {}, which is not stored",
                                              store_->path().string(), id, in));
    index_job(job);
  }
  for (Sweep& sweep : sweeps.value()) sweeps_.emplace(sweep.id, std::move(sweep));
  return Status::Ok();
}

Status Scheduler::Commit(int64_t now_ms, bool with_progress) {
  if (!has_pending() && !(with_progress && !progress_dirty_.empty())) return Status::Ok();
  // Progress rides along whenever a batch is written anyway.
  for (const std::string& id : progress_dirty_) dirty_.insert(id);
  progress_dirty_.clear();

  StoreBatch batch;
  batch.jobs.reserve(dirty_.size());
  for (const std::string& id : dirty_) batch.jobs.push_back(jobs_.at(id));
  for (auto& [id, payload] : pending_payloads_) batch.payloads.emplace_back(id, payload);
  for (const std::string& id : dirty_sweeps_) batch.sweeps.push_back(sweeps_.at(id));

  Status s = store_ ? store_->Commit(batch) : Status::Ok();
  if (!s.ok()) {
    // Memory must not run ahead of disk: forget everything not written.
    Status reload = Load(now_ms);
    if (!reload.ok())
      return Status::Internal(s.message() + "; rebuilding the table from the store failed too: " + reload.message());
    return s;
  }
  ++counters_.commits;
  counters_.committed_records += static_cast<int64_t>(batch.size());
  dirty_.clear();
  dirty_sweeps_.clear();
  pending_payloads_.clear();
  return Status::Ok();
}

// ---- submit --------------------------------------------------------------------

Result<SubmitResult> Scheduler::Submit(const SweepSubmission& sub, int64_t now_ms) {
  if (sub.sweep.empty() || sub.sweep.find('/') != std::string::npos)
    return Status::InvalidArgument(fmt::format("sweep id '{}' must be non-empty and hold no '/'", sub.sweep));
  // Validate everything before changing anything.
  std::unordered_set<std::string> known;
  for (const TrialSubmission& trial : sub.trials) {
    if (trial.id.empty() || trial.id.find('/') != std::string::npos)
      return Status::InvalidArgument(fmt::format("sweep {}: trial id '{}' must be non-empty and hold no '/'", sub.sweep, trial.id));
    for (const JobSubmission& js : trial.jobs) {
      if (js.payload.empty())
        return Status::InvalidArgument(fmt::format("sweep {} trial {}: a {} job has an empty payload", sub.sweep,
                                                   trial.id, stage_name(js.stage)));
      for (const std::string& in : js.inputs)
        if (!jobs_.count(in) && !known.count(in))
          return Status::InvalidArgument(fmt::format(
              "sweep {} trial {}: a {} job reads input {}, which is neither in the table nor earlier in the submission",
              sub.sweep, trial.id, stage_name(js.stage), in));
      known.insert(js.id());
    }
  }

  SubmitResult result;
  result.sweep = sub.sweep;
  auto [sweep_it, sweep_new] = sweeps_.try_emplace(sub.sweep);
  Sweep& sweep = sweep_it->second;
  if (sweep_new) {
    sweep.id = sub.sweep;
    sweep.submitted_ms = now_ms;
  }
  dirty_sweeps_.insert(sweep.id);
  std::unordered_set<std::string> rearmed_now;

  for (const TrialSubmission& ts : sub.trials) {
    auto trial_it = std::find_if(sweep.trials.begin(), sweep.trials.end(), [&](const Trial& t) { return t.id == ts.id; });
    if (trial_it == sweep.trials.end()) {
      sweep.trials.push_back(Trial{ts.id, ts.overrides, {}});
      trial_it = sweep.trials.end() - 1;
    }
    Trial& trial = *trial_it;
    const TrialRef owner{sub.sweep, ts.id};
    for (const JobSubmission& js : ts.jobs) {
      const std::string key = content_key_for(js.stage, js.payload, js.inputs);
      const std::string id = job_id_for(js.stage, key);
      if (std::find(trial.jobs.begin(), trial.jobs.end(), id) == trial.jobs.end()) trial.jobs.push_back(id);
      auto it = jobs_.find(id);
      if (it != jobs_.end()) {
        Job& job = it->second;
        if (std::find(job.owners.begin(), job.owners.end(), owner) == job.owners.end()) {
          tally_owner(job, owner, +1);
          job.owners.push_back(owner);
          mark(job);
        }
        if ((job.state == JobState::kFailed || job.state == JobState::kCancelled) && !rearmed_now.count(id)) {
          // Submitting a failed job again is asking for another run.
          job.attempts = 0;
          set_state(job, JobState::kPending, now_ms);
          refresh_readiness(job, now_ms);
          rearmed_now.insert(id);
          ++result.jobs_rearmed;
        } else {
          ++result.jobs_shared;  // in the table already, or earlier in this submission
        }
        continue;
      }
      Job job;
      job.id = id;
      job.content_key = key;
      job.stage = js.stage;
      job.inputs = js.inputs;
      job.owners = {owner};
      job.min_ranks = is_gang_stage(js.stage) ? std::max(1, js.min_ranks) : 1;
      job.max_attempts = js.max_attempts > 0 ? js.max_attempts : options_.default_max_attempts;
      job.submitted_ms = now_ms;
      job.seq = next_seq_++;
      job.state = JobState::kPending;
      Job& stored = jobs_.emplace(id, std::move(job)).first->second;
      for (const std::string& in : stored.inputs) dependants_[in].push_back(id);
      tally(stored, stored.state, +1);
      pending_payloads_[id] = js.payload;
      mark(stored);
      ++counters_.transitions;
      refresh_readiness(stored, now_ms);
      rearmed_now.insert(id);
      ++result.jobs_new;
    }
  }
  return result;
}

// ---- leases --------------------------------------------------------------------

LeaseGrant Scheduler::grant_of(const Job& job) const {
  LeaseGrant g;
  g.job_id = job.id;
  g.stage = job.stage;
  g.epoch = job.epoch;
  g.attempt = job.attempts;
  g.expires_ms = job.lease ? job.lease->expires_ms : 0;
  for (const std::string& in : job.inputs) {
    const Job& input = jobs_.at(in);
    g.inputs.push_back(InputOutputs{input.id, input.stage, input.outputs});
  }
  return g;
}

Result<std::optional<LeaseGrant>> Scheduler::Lease(const GroupInfo& group, const std::string& token, int64_t now_ms) {
  if (group.id.empty() || group.ranks < 1)
    return Status::InvalidArgument(fmt::format("lease: group '{}' with {} ranks", group.id, group.ranks));
  if (!token.empty()) {
    for (const std::string& id : leased_) {
      const Job& job = jobs_.at(id);
      if (job.lease->group == group.id && job.lease->token == token) {
        LeaseGrant g = grant_of(job);
        auto payload = Payload(id);
        if (!payload.ok()) return payload.status();
        g.payload = std::move(payload).value();
        return std::optional<LeaseGrant>(std::move(g));
      }
    }
  }
  const Job* pick = nullptr;
  for (const QueueKey& key : ready_gang_) {
    const Job& job = jobs_.at(key.second);
    if (job.min_ranks <= group.ranks) {
      pick = &job;
      break;
    }
  }
  if (pick == nullptr && !ready_any_.empty()) pick = &jobs_.at(ready_any_.begin()->second);
  if (pick == nullptr) return std::optional<LeaseGrant>();

  Job& job = jobs_.at(pick->id);
  auto payload = Payload(job.id);
  if (!payload.ok()) return payload.status();
  ++job.attempts;
  ++job.epoch;
  job.started_ms = now_ms;
  job.progress = Progress{};
  set_state(job, JobState::kLeased, now_ms);
  job.lease = coordinator::Lease{group.id, group.ranks, job.epoch, now_ms + options_.lease_ttl_ms, token};
  leased_.insert(job.id);
  ++counters_.grants;
  LeaseGrant g = grant_of(job);
  g.payload = std::move(payload).value();
  return std::optional<LeaseGrant>(std::move(g));
}

std::vector<BeatReply> Scheduler::Heartbeat(const GroupInfo& group, const std::vector<Beat>& beats, int64_t now_ms) {
  std::vector<BeatReply> replies;
  replies.reserve(beats.size());
  for (const Beat& beat : beats) {
    BeatReply reply{beat.job_id, BeatVerdict::kStale};
    auto it = jobs_.find(beat.job_id);
    if (it != jobs_.end()) {
      Job& job = it->second;
      if (is_leased(job.state) && job.epoch == beat.epoch) {
        job.lease->expires_ms = now_ms + options_.lease_ttl_ms;
        if (job.state == JobState::kLeased) set_state(job, JobState::kRunning, now_ms);
        if (beat.progress) {
          job.progress = *beat.progress;
          job.progress.updated_ms = now_ms;
          progress_dirty_.insert(job.id);
        }
        reply.verdict = BeatVerdict::kOk;
      } else if (job.state == JobState::kCancelled && job.epoch == beat.epoch) {
        reply.verdict = BeatVerdict::kCancelled;
      }
    }
    if (reply.verdict == BeatVerdict::kStale) ++counters_.stale_refused;
    replies.push_back(std::move(reply));
  }
  return replies;
}

Result<Recorded> Scheduler::Done(const std::string& job_id, uint64_t epoch, const std::vector<std::string>& outputs,
                                 int64_t now_ms) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return Status::NotFound(fmt::format("done: no job {}", job_id));
  Job& job = it->second;
  if (job.state == JobState::kDone && job.epoch == epoch) return Recorded{false};
  if (!is_leased(job.state) || job.epoch != epoch) {
    ++counters_.stale_refused;
    return Status::FailedPrecondition(fmt::format(
        "done for job {} under lease epoch {} refused: the job is {} at epoch {} (the lease expired or "
        "was revoked); not recorded",
        job_id, epoch, job_state_name(job.state), job.epoch));
  }
  job.outputs = outputs;
  job.progress.fraction = 1;
  job.last_error.clear();
  set_state(job, JobState::kDone, now_ms);
  ++counters_.done_recorded;
  auto deps = dependants_.find(job_id);
  if (deps != dependants_.end())
    for (const std::string& dep : deps->second) refresh_readiness(jobs_.at(dep), now_ms);
  return Recorded{true};
}

Result<Recorded> Scheduler::Fail(const std::string& job_id, uint64_t epoch, const std::string& error, int64_t now_ms) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return Status::NotFound(fmt::format("fail: no job {}", job_id));
  Job& job = it->second;
  if (!is_leased(job.state) && job.epoch == epoch) return Recorded{false};  // already released
  if (!is_leased(job.state) || job.epoch != epoch) {
    ++counters_.stale_refused;
    return Status::FailedPrecondition(fmt::format(
        "fail for job {} under lease epoch {} refused: the job is {} at epoch {}; not recorded", job_id, epoch,
        job_state_name(job.state), job.epoch));
  }
  job.last_error = fmt::format("attempt {}/{} on group {}: {}", job.attempts, job.max_attempts, job.lease->group, error);
  if (job.attempts >= job.max_attempts) {
    set_state(job, JobState::kFailed, now_ms);
    cascade_cancel(job_id, job.last_error, now_ms);
  } else {
    set_state(job, JobState::kReady, now_ms);
  }
  return Recorded{true};
}

int64_t Scheduler::ExpireLeases(int64_t now_ms) {
  std::vector<std::string> expired;
  for (const std::string& id : leased_)
    if (jobs_.at(id).lease->expires_ms <= now_ms) expired.push_back(id);
  for (const std::string& id : expired) {
    Job& job = jobs_.at(id);
    job.last_error = fmt::format("attempt {}/{}: lease of group {} ({} ranks) expired: no heartbeat for {} ms",
                                 job.attempts, job.max_attempts, job.lease->group, job.lease->ranks,
                                 options_.lease_ttl_ms);
    ++counters_.expired;
    if (job.attempts >= job.max_attempts) {
      set_state(job, JobState::kFailed, now_ms);
      cascade_cancel(id, job.last_error, now_ms);
    } else {
      set_state(job, JobState::kReady, now_ms);
    }
  }
  return static_cast<int64_t>(expired.size());
}

// ---- cancel / retry ------------------------------------------------------------

Result<std::vector<std::string>> Scheduler::resolve_target(const std::string& target,
                                                           std::vector<TrialRef>* trials) const {
  if (jobs_.count(target)) return std::vector<std::string>{target};
  const size_t slash = target.find('/');
  const std::string sweep_id = target.substr(0, slash);
  auto sweep = sweeps_.find(sweep_id);
  if (sweep == sweeps_.end())
    return Status::NotFound(fmt::format("'{}' names no job and no sweep", target));
  std::vector<std::string> ids;
  std::string rest = slash == std::string::npos ? "" : target.substr(slash + 1);
  const size_t slash2 = rest.find('/');
  if (slash2 != std::string::npos) {  // sweep/trial/job
    const std::string job = rest.substr(slash2 + 1);
    if (!jobs_.count(job)) return Status::NotFound(fmt::format("'{}': no job {}", target, job));
    return std::vector<std::string>{job};
  }
  bool found = false;
  for (const Trial& t : sweep->second.trials) {
    if (!rest.empty() && t.id != rest) continue;
    found = true;
    trials->push_back(TrialRef{sweep_id, t.id});
    ids.insert(ids.end(), t.jobs.begin(), t.jobs.end());
  }
  if (!found) return Status::NotFound(fmt::format("sweep {} has no trial '{}'", sweep_id, rest));
  return ids;
}

Result<int64_t> Scheduler::Cancel(const std::string& target, int64_t now_ms) {
  std::vector<TrialRef> trials;
  auto ids = resolve_target(target, &trials);
  if (!ids.ok()) return ids.status();
  const int64_t before = counters_.cancelled;
  for (const std::string& id : ids.value()) {
    Job& job = jobs_.at(id);
    if (is_terminal(job.state)) continue;
    // A job shared with a trial outside the target keeps running for it.
    if (!trials.empty()) {
      const bool all_inside = std::all_of(job.owners.begin(), job.owners.end(), [&](const TrialRef& o) {
        return std::find(trials.begin(), trials.end(), o) != trials.end();
      });
      if (!all_inside) continue;
    }
    job.last_error = fmt::format("cancelled ({})", target);
    set_state(job, JobState::kCancelled, now_ms);
    cascade_cancel(id, job.last_error, now_ms);
  }
  return counters_.cancelled - before;
}

Result<int64_t> Scheduler::Retry(const std::string& target, int64_t now_ms) {
  std::vector<TrialRef> trials;
  auto ids = resolve_target(target, &trials);
  if (!ids.ok()) return ids.status();
  // The failed jobs of the target and the cancelled jobs downstream of them,
  // requeued in submission order so inputs are re-armed before readers.
  std::set<QueueKey> todo;
  std::vector<std::string> stack;
  for (const std::string& id : ids.value()) {
    const Job& job = jobs_.at(id);
    if (job.state == JobState::kFailed || job.state == JobState::kCancelled) stack.push_back(id);
  }
  while (!stack.empty()) {
    const std::string id = stack.back();
    stack.pop_back();
    const Job& job = jobs_.at(id);
    if (!todo.insert({job.seq, id}).second) continue;
    auto deps = dependants_.find(id);
    if (deps == dependants_.end()) continue;
    for (const std::string& dep : deps->second)
      if (jobs_.at(dep).state == JobState::kCancelled) stack.push_back(dep);
  }
  for (const QueueKey& key : todo) {
    Job& job = jobs_.at(key.second);
    job.attempts = 0;
    set_state(job, JobState::kPending, now_ms);
  }
  for (const QueueKey& key : todo) refresh_readiness(jobs_.at(key.second), now_ms);
  return static_cast<int64_t>(todo.size());
}

// ---- reads ---------------------------------------------------------------------

const Job* Scheduler::Find(const std::string& job_id) const {
  auto it = jobs_.find(job_id);
  return it == jobs_.end() ? nullptr : &it->second;
}

Result<std::string> Scheduler::Payload(const std::string& job_id) const {
  auto it = pending_payloads_.find(job_id);
  if (it != pending_payloads_.end()) return it->second;
  if (store_ == nullptr) return Status::NotFound(fmt::format("job {}: payload not in memory", job_id));
  return store_->GetPayload(job_id);
}

JobRow Scheduler::row_of(const Job& job, int64_t now_ms) const {
  JobRow r;
  r.id = job.id;
  r.stage = job.stage;
  r.state = job.state;
  if (job.lease) {
    r.group = job.lease->group;
    r.ranks = job.lease->ranks;
  }
  r.fraction = job.state == JobState::kDone ? 1.0 : job.progress.fraction;
  r.rate = job.progress.rate;
  r.unit = job.progress.unit;
  if (is_leased(job.state) && r.fraction > 0 && r.fraction < 1 && job.progress.updated_ms > job.started_ms) {
    // Time so far over fraction so far, as of the last report.
    const double elapsed_s = (job.progress.updated_ms - job.started_ms) / 1000.0;
    r.eta_s = elapsed_s * (1 - r.fraction) / r.fraction - (now_ms - job.progress.updated_ms) / 1000.0;
    r.eta_s = std::max(0.0, r.eta_s);
  }
  r.attempts = job.attempts;
  r.max_attempts = job.max_attempts;
  r.last_error = job.last_error;
  r.outputs = job.outputs;
  r.inputs = job.inputs;
  r.owners = job.owners;
  return r;
}

namespace {
double job_fraction(const Job& job) {
  if (job.state == JobState::kDone) return 1;
  if (is_leased(job.state)) return std::clamp(job.progress.fraction, 0.0, 1.0);
  return 0;
}
}  // namespace

Result<StatusReport> Scheduler::Query(const std::string& query, int64_t now_ms) const {
  StatusReport report;
  // Fractions: DONE jobs count 1, leased ones their reported progress; the
  // leased set is small (one or a few per worker group), so summaries cost
  // O(trials + leases) however many jobs there are.
  std::unordered_map<std::string, double> leased_progress;  // trial key or sweep id -> sum
  if (!leased_.empty()) {
    for (const std::string& id : leased_) {
      const Job& job = jobs_.at(id);
      const double f = job_fraction(job);
      for (size_t i = 0; i < job.owners.size(); ++i) {
        leased_progress[trial_key(job.owners[i])] += f;
        bool seen = false;
        for (size_t k = 0; k < i && !seen; ++k) seen = job.owners[k].sweep == job.owners[i].sweep;
        if (!seen) leased_progress[job.owners[i].sweep] += f;
      }
    }
  }
  auto fraction = [&](const StateCounts& c, const std::string& key) {
    if (c.total == 0) return 0.0;
    auto it = leased_progress.find(key);
    const double running = it == leased_progress.end() ? 0.0 : it->second;
    return (static_cast<double>(c.of(JobState::kDone)) + running) / static_cast<double>(c.total);
  };
  auto counts_of = [](const std::unordered_map<std::string, StateCounts>& m, const std::string& key) {
    auto it = m.find(key);
    return it == m.end() ? StateCounts{} : it->second;
  };
  auto trial_row = [&](const Sweep& sweep, const Trial& t) {
    TrialRow row;
    row.sweep = sweep.id;
    row.id = t.id;
    row.overrides = t.overrides;
    const std::string key = trial_key(TrialRef{sweep.id, t.id});
    row.counts = counts_of(trial_counts_, key);
    row.fraction = fraction(row.counts, key);
    return row;
  };
  auto sweep_row = [&](const Sweep& sweep) {
    SweepRow row;
    row.id = sweep.id;
    row.submitted_ms = sweep.submitted_ms;
    row.trials = static_cast<int>(sweep.trials.size());
    row.counts = counts_of(sweep_counts_, sweep.id);
    row.fraction = fraction(row.counts, sweep.id);
    return row;
  };

  if (query.empty()) {
    for (const auto& [id, sweep] : sweeps_) report.sweeps.push_back(sweep_row(sweep));
    return report;
  }
  if (const Job* job = Find(query)) {
    report.jobs.push_back(row_of(*job, now_ms));
    return report;
  }
  const size_t slash = query.find('/');
  auto sweep = sweeps_.find(query.substr(0, slash));
  if (sweep == sweeps_.end()) return Status::NotFound(fmt::format("status: '{}' names no sweep and no job", query));
  if (slash == std::string::npos) {
    report.sweeps.push_back(sweep_row(sweep->second));
    for (const Trial& t : sweep->second.trials) report.trials.push_back(trial_row(sweep->second, t));
    return report;
  }
  const std::string rest = query.substr(slash + 1);
  const size_t slash2 = rest.find('/');
  const std::string trial_id = rest.substr(0, slash2);
  auto trial = std::find_if(sweep->second.trials.begin(), sweep->second.trials.end(),
                            [&](const Trial& t) { return t.id == trial_id; });
  if (trial == sweep->second.trials.end())
    return Status::NotFound(fmt::format("status: sweep {} has no trial '{}'", sweep->first, trial_id));
  if (slash2 != std::string::npos) {
    const std::string job_id = rest.substr(slash2 + 1);
    if (std::find(trial->jobs.begin(), trial->jobs.end(), job_id) == trial->jobs.end())
      return Status::NotFound(fmt::format("status: trial {}/{} has no job '{}'", sweep->first, trial_id, job_id));
    report.jobs.push_back(row_of(jobs_.at(job_id), now_ms));
    return report;
  }
  report.trials.push_back(trial_row(sweep->second, *trial));
  for (const std::string& id : trial->jobs) report.jobs.push_back(row_of(jobs_.at(id), now_ms));
  return report;
}

}  // namespace radclear::coordinator
