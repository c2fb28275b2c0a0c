#include "coordinator/job_json.h"

#include <nlohmann/json.hpp>

#include "common/check.h"

namespace radclear::coordinator {

using nlohmann::json;

void to_json(json& j, const Lease& v) {
  j = json{{"group", v.group}, {"ranks", v.ranks}, {"epoch", v.epoch}, {"expires_ms", v.expires_ms}, {"token", v.token}};
}
void from_json(const json& j, Lease& v) {
  j.at("group").get_to(v.group);
  j.at("ranks").get_to(v.ranks);
  j.at("epoch").get_to(v.epoch);
  j.at("expires_ms").get_to(v.expires_ms);
  v.token = j.value("token", "");
}

void to_json(json& j, const Progress& v) {
  j = json{{"fraction", v.fraction}, {"rate", v.rate}, {"unit", v.unit}, {"updated_ms", v.updated_ms}};
}
void from_json(const json& j, Progress& v) {
  v.fraction = j.value("fraction", 0.0);
  v.rate = j.value("rate", 0.0);
  v.unit = j.value("unit", "");
  v.updated_ms = j.value("updated_ms", int64_t{0});
}

void to_json(json& j, const TrialRef& v) { j = json{{"sweep", v.sweep}, {"trial", v.trial}}; }
void from_json(const json& j, TrialRef& v) {
  j.at("sweep").get_to(v.sweep);
  j.at("trial").get_to(v.trial);
}

void to_json(json& j, const Job& v) {
  j = json{{"id", v.id},
           {"content_key", v.content_key},
           {"stage", stage_name(v.stage)},
           {"inputs", v.inputs},
           {"owners", v.owners},
           {"min_ranks", v.min_ranks},
           {"state", job_state_name(v.state)},
           {"attempts", v.attempts},
           {"max_attempts", v.max_attempts},
           {"epoch", v.epoch},
           {"progress", v.progress},
           {"last_error", v.last_error},
           {"outputs", v.outputs},
           {"submitted_ms", v.submitted_ms},
           {"started_ms", v.started_ms},
           {"finished_ms", v.finished_ms},
           {"seq", v.seq}};
  if (v.lease) j["lease"] = *v.lease;
}

void from_json(const json& j, Job& v) {
  j.at("id").get_to(v.id);
  j.at("content_key").get_to(v.content_key);
  const std::string stage = j.at("stage").get<std::string>();
  const auto s = parse_stage(stage);
  if (!s) throw CorruptData("job " + v.id + ": unknown stage '" + stage + "'");
  v.stage = *s;
  const std::string state = j.at("state").get<std::string>();
  const auto st = parse_job_state(state);
  if (!st) throw CorruptData("job " + v.id + ": unknown state '" + state + "'");
  v.state = *st;
  j.at("inputs").get_to(v.inputs);
  j.at("owners").get_to(v.owners);
  j.at("min_ranks").get_to(v.min_ranks);
  j.at("attempts").get_to(v.attempts);
  j.at("max_attempts").get_to(v.max_attempts);
  j.at("epoch").get_to(v.epoch);
  j.at("progress").get_to(v.progress);
  j.at("last_error").get_to(v.last_error);
  j.at("outputs").get_to(v.outputs);
  j.at("submitted_ms").get_to(v.submitted_ms);
  j.at("started_ms").get_to(v.started_ms);
  j.at("finished_ms").get_to(v.finished_ms);
  j.at("seq").get_to(v.seq);
  if (j.contains("lease"))
    v.lease = j.at("lease").get<Lease>();
  else
    v.lease.reset();
}

void to_json(json& j, const Trial& v) {
  j = json{{"id", v.id}, {"overrides", v.overrides}, {"jobs", v.jobs}};
}
void from_json(const json& j, Trial& v) {
  j.at("id").get_to(v.id);
  j.at("overrides").get_to(v.overrides);
  j.at("jobs").get_to(v.jobs);
}

void to_json(json& j, const Sweep& v) {
  j = json{{"id", v.id}, {"submitted_ms", v.submitted_ms}, {"trials", v.trials}};
}
void from_json(const json& j, Sweep& v) {
  j.at("id").get_to(v.id);
  j.at("submitted_ms").get_to(v.submitted_ms);
  j.at("trials").get_to(v.trials);
}

}  // namespace radclear::coordinator
