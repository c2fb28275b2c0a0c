#include "coordinator/status_report.h"
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/check.h"
#include "coordinator/job_json.h"

namespace radclear::coordinator {

using nlohmann::json;

namespace {

json counts_json(const StateCounts& c) {
  json j = json::object();
  for (size_t i = 0; i < c.by_state.size(); ++i)
    if (c.by_state[i] != 0) j[job_state_name(static_cast<JobState>(i))] = c.by_state[i];
  return j;
}

StateCounts counts_from(const json& j) {
  StateCounts c;
  for (const auto& [name, n] : j.items()) {
    const auto s = parse_job_state(name);
    if (!s) throw CorruptData("status: unknown state '" + name + "'");
    c.by_state[static_cast<size_t>(*s)] = n.get<int64_t>();
    c.total += n.get<int64_t>();
  }
  return c;
}

std::string counts_text(const StateCounts& c) {
  std::string out;
  for (size_t i = 0; i < c.by_state.size(); ++i) {
    if (c.by_state[i] == 0) continue;
    if (!out.empty()) out += " ";
    out += fmt::format("{}={}", job_state_name(static_cast<JobState>(i)), c.by_state[i]);
  }
  return out.empty() ? "-" : out;
}

std::string eta_text(double s) {
  if (s < 0) return "-";
  if (s < 60) return fmt::format("{:.0f}s", s);
  if (s < 3600) return fmt::format("{:.0f}m{:02.0f}s", std::floor(s / 60), std::fmod(s, 60));
  return fmt::format("{:.0f}h{:02.0f}m", std::floor(s / 3600), std::fmod(s, 3600) / 60);
}

}  // namespace

void to_json(json& j, const StatusReport& v) {
  j = json::object();
  json sweeps = json::array();
  for (const SweepRow& r : v.sweeps)
    sweeps.push_back({{"id", r.id}, {"submitted_ms", r.submitted_ms}, {"trials", r.trials},
                      {"jobs", r.counts.total}, {"states", counts_json(r.counts)}, {"fraction", r.fraction}});
  json trials = json::array();
  for (const TrialRow& r : v.trials)
    trials.push_back({{"sweep", r.sweep}, {"id", r.id}, {"overrides", r.overrides}, {"jobs", r.counts.total},
                      {"states", counts_json(r.counts)}, {"fraction", r.fraction}});
  json jobs = json::array();
  for (const JobRow& r : v.jobs)
    jobs.push_back({{"id", r.id}, {"stage", stage_name(r.stage)}, {"state", job_state_name(r.state)},
                    {"group", r.group}, {"ranks", r.ranks}, {"fraction", r.fraction}, {"rate", r.rate},
                    {"unit", r.unit}, {"eta_s", r.eta_s}, {"attempts", r.attempts},
                    {"max_attempts", r.max_attempts}, {"last_error", r.last_error}, {"outputs", r.outputs},
                    {"inputs", r.inputs}, {"owners", r.owners}});
  j["sweeps"] = std::move(sweeps);
  j["trials"] = std::move(trials);
  j["jobs"] = std::move(jobs);
}

void from_json(const json& j, StatusReport& v) {
  v = StatusReport{};
  for (const json& s : j.at("sweeps")) {
    SweepRow r;
    s.at("id").get_to(r.id);
    s.at("submitted_ms").get_to(r.submitted_ms);
    s.at("trials").get_to(r.trials);
    r.counts = counts_from(s.at("states"));
    s.at("fraction").get_to(r.fraction);
    v.sweeps.push_back(std::move(r));
  }
  for (const json& t : j.at("trials")) {
    TrialRow r;
    t.at("sweep").get_to(r.sweep);
    t.at("id").get_to(r.id);
    t.at("overrides").get_to(r.overrides);
    r.counts = counts_from(t.at("states"));
    t.at("fraction").get_to(r.fraction);
    v.trials.push_back(std::move(r));
  }
  for (const json& x : j.at("jobs")) {
    JobRow r;
    x.at("id").get_to(r.id);
    const auto stage = parse_stage(x.at("stage").get<std::string>());
    const auto state = parse_job_state(x.at("state").get<std::string>());
    if (!stage || !state) throw CorruptData("status: job " + r.id + " has an unknown stage or state");
    r.stage = *stage;
    r.state = *state;
    x.at("group").get_to(r.group);
    x.at("ranks").get_to(r.ranks);
    x.at("fraction").get_to(r.fraction);
    x.at("rate").get_to(r.rate);
    x.at("unit").get_to(r.unit);
    x.at("eta_s").get_to(r.eta_s);
    x.at("attempts").get_to(r.attempts);
    x.at("max_attempts").get_to(r.max_attempts);
    x.at("last_error").get_to(r.last_error);
    x.at("outputs").get_to(r.outputs);
    x.at("inputs").get_to(r.inputs);
    x.at("owners").get_to(r.owners);
    v.jobs.push_back(std::move(r));
  }
}

std::string format_status(const StatusReport& report) {
  std::string out;
  if (!report.sweeps.empty()) {
    out += fmt::format("{:<24} {:>6} {:>7} {:>6}  {}\n", "SWEEP", "TRIALS", "JOBS", "DONE%", "STATES");
    for (const SweepRow& r : report.sweeps)
      out += fmt::format("{:<24} {:>6} {:>7} {:>5.1f}%  {}\n", r.id, r.trials, r.counts.total, 100 * r.fraction,
                         counts_text(r.counts));
  }
  if (!report.trials.empty()) {
    if (!out.empty()) out += "\n";
    out += fmt::format("{:<28} {:>5} {:>6}  {:<40} {}\n", "TRIAL", "JOBS", "DONE%", "STATES", "OVERRIDES");
    for (const TrialRow& r : report.trials) {
      std::string overrides;
      for (const std::string& o : r.overrides) overrides += (overrides.empty() ? "" : " ") + o;
      out += fmt::format("{:<28} {:>5} {:>5.1f}%  {:<40} {}\n", r.sweep + "/" + r.id, r.counts.total,
                         100 * r.fraction, counts_text(r.counts), overrides);
    }
  }
  if (!report.jobs.empty()) {
    if (!out.empty()) out += "\n";
    out += fmt::format("{:<26} {:<9} {:<18} {:>6} {:>12} {:>8} {:>5}  {}\n", "JOB", "STATE", "GROUP", "DONE%",
                       "RATE", "ETA", "TRIES", "LAST ERROR / OUTPUTS");
    for (const JobRow& r : report.jobs) {
      std::string tail = r.last_error;
      if (tail.empty() && !r.outputs.empty()) {
        for (const std::string& o : r.outputs) tail += (tail.empty() ? "" : " ") + o;
      }
      const std::string group = r.group.empty() ? "-" : fmt::format("{}x{}", r.group, r.ranks);
      const std::string rate = r.rate > 0 ? fmt::format("{:.1f} {}/s", r.rate, r.unit) : "-";
      out += fmt::format("{:<26} {:<9} {:<18} {:>5.1f}% {:>12} {:>8} {:>2}/{:<2}  {}\n", r.id,
                         job_state_name(r.state), group, 100 * r.fraction, rate, eta_text(r.eta_s), r.attempts,
                         r.max_attempts, tail);
    }
  }
  if (out.empty()) out = "no sweeps\n";
  return out;
}

}  // namespace radclear::coordinator
