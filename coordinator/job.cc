#include "coordinator/job.h"

#include <array>
#include <cstring>

#include "common/sha256.h"

namespace radclear::coordinator {
namespace {

constexpr std::array<std::pair<Stage, const char*>, 7> kStageNames = {{
    {Stage::kSynth, "synth"},
    {Stage::kIndex, "index"},
    {Stage::kPretrain, "pretrain"},
    {Stage::kExtract, "extract"},
    {Stage::kCrossval, "crossval"},
    {Stage::kDeploy, "deploy"},
    {Stage::kReport, "report"},
}};

constexpr std::array<std::pair<JobState, const char*>, 7> kStateNames = {{
    {JobState::kPending, "PENDING"},
    {JobState::kReady, "READY"},
    {JobState::kLeased, "LEASED"},
    {JobState::kRunning, "RUNNING"},
    {JobState::kDone, "DONE"},
    {JobState::kFailed, "FAILED"},
    {JobState::kCancelled, "CANCELLED"},
}};

template <typename E, size_t N>
const char* name_of(const std::array<std::pair<E, const char*>, N>& table, E value) {
  for (const auto& [v, n] : table)
    if (v == value) return n;
  return "?";
}

template <typename E, size_t N>
std::optional<E> parse_name(const std::array<std::pair<E, const char*>, N>& table, std::string_view name) {
  for (const auto& [v, n] : table)
    if (name == n) return v;
  return std::nullopt;
}

}  // namespace

const char* stage_name(Stage s) { return name_of(kStageNames, s); }
std::optional<Stage> parse_stage(std::string_view name) { return parse_name(kStageNames, name); }
const char* job_state_name(JobState s) { return name_of(kStateNames, s); }
std::optional<JobState> parse_job_state(std::string_view name) { return parse_name(kStateNames, name); }

std::string stage_names() {
  std::string out;
  for (const auto& [v, n] : kStageNames) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

bool is_terminal(JobState s) {
  return s == JobState::kDone || s == JobState::kFailed || s == JobState::kCancelled;
}
bool is_leased(JobState s) { return s == JobState::kLeased || s == JobState::kRunning; }
bool is_gang_stage(Stage s) { return s == Stage::kPretrain; }

std::string content_key_for(Stage stage, std::string_view payload, const std::vector<std::string>& inputs) {
  std::string material;
  auto add = [&material](std::string_view field) {
    material += std::to_string(field.size());
    material += ':';
    material += field;
  };
  add(stage_name(stage));
  add(payload);
  for (const std::string& in : inputs) add(in);
  return sha256_hex(material);
}

std::string job_id_for(Stage stage, std::string_view content_key) {
  return std::string(stage_name(stage)) + "-" + std::string(content_key.substr(0, 16));
}

}  // namespace radclear::coordinator
