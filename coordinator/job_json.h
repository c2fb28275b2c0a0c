#pragma once
// JSON forms of the job records: how JobStore stores them and how the
// protocol ships them. One encoding for both, so a status reply shows
// exactly what is on disk. Decoding throws nlohmann::json::exception or
// radclear::CorruptData on a malformed record; callers convert.
#include <nlohmann/json_fwd.hpp>

#include "coordinator/job.h"

namespace radclear::coordinator {

void to_json(nlohmann::json& j, const Lease& v);
void from_json(const nlohmann::json& j, Lease& v);
void to_json(nlohmann::json& j, const Progress& v);
void from_json(const nlohmann::json& j, Progress& v);
void to_json(nlohmann::json& j, const TrialRef& v);
void from_json(const nlohmann::json& j, TrialRef& v);
void to_json(nlohmann::json& j, const Job& v);
void from_json(const nlohmann::json& j, Job& v);
void to_json(nlohmann::json& j, const Trial& v);
void from_json(const nlohmann::json& j, Trial& v);
void to_json(nlohmann::json& j, const Sweep& v);
void from_json(const nlohmann::json& j, Sweep& v);

}  // namespace radclear::coordinator
