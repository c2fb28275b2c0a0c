#include "coordinator/protocol.h"

#include <cstring>

#include <fmt/format.h>

#include "common/check.h"
#include "coordinator/job_json.h"

namespace radclear::coordinator {

using nlohmann::json;

namespace {

constexpr char kMagic[4] = {'R', 'C', 'L', 'R'};

void put_u16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}
void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint16_t get_u16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t get_u32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}

Stage stage_from(const json& j) {
  const std::string name = j.get<std::string>();
  const auto s = parse_stage(name);
  if (!s) throw InvalidArgument(fmt::format("unknown stage '{}' (known: {})", name, stage_names()));
  return *s;
}

}  // namespace

const char* msg_kind_name(MsgKind k) {
  switch (k) {
    case MsgKind::kLease: return "lease";
    case MsgKind::kHeartbeat: return "heartbeat";
    case MsgKind::kDone: return "done";
    case MsgKind::kFail: return "fail";
    case MsgKind::kSubmit: return "submit";
    case MsgKind::kStatus: return "status";
    case MsgKind::kCancel: return "cancel";
    case MsgKind::kRetry: return "retry";
    case MsgKind::kReply: return "reply";
  }
  return "?";
}

bool is_admin_kind(MsgKind k) { return k == MsgKind::kSubmit || k == MsgKind::kCancel || k == MsgKind::kRetry; }

const char* frame_error_name(FrameError e) {
  switch (e) {
    case FrameError::kNone: return "none";
    case FrameError::kShape: return "shape";
    case FrameError::kBadMagic: return "bad_magic";
    case FrameError::kWrongVersion: return "wrong_version";
    case FrameError::kUnknownKind: return "unknown_kind";
    case FrameError::kOversized: return "oversized";
    case FrameError::kMalformed: return "malformed";
  }
  return "?";
}

std::string encode_header(const Header& h) {
  std::string out(kMagic, 4);
  put_u16(out, h.version);
  put_u16(out, static_cast<uint16_t>(h.kind));
  put_u32(out, h.request_id);
  return out;
}

DecodedMessage decode_message(const std::vector<std::string_view>& frames, size_t max_body_bytes) {
  DecodedMessage m;
  auto fail = [&m](FrameError e, std::string detail) {
    m.error = e;
    m.detail = std::move(detail);
    return m;
  };
  if (frames.size() != 2)
    return fail(FrameError::kShape, fmt::format("{} frames, expected 2 (header, body)", frames.size()));
  const std::string_view head = frames[0];
  if (head.size() != kHeaderBytes || std::memcmp(head.data(), kMagic, 4) != 0)
    return fail(FrameError::kBadMagic, fmt::format("header of {} bytes is not a radclear coordinator header", head.size()));
  const auto* p = reinterpret_cast<const unsigned char*>(head.data());
  m.header.version = get_u16(p + 4);
  const uint16_t kind = get_u16(p + 6);
  m.header.request_id = get_u32(p + 8);
  if (m.header.version != kProtocolVersion)
    return fail(FrameError::kWrongVersion, fmt::format("protocol version {}; this coordinator speaks version {}",
                                                       m.header.version, kProtocolVersion));
  if (!((kind >= 1 && kind <= 8) || kind == static_cast<uint16_t>(MsgKind::kReply)))
    return fail(FrameError::kUnknownKind, fmt::format("unknown message kind {}", kind));
  m.header.kind = static_cast<MsgKind>(kind);
  if (frames[1].size() > max_body_bytes)
    return fail(FrameError::kOversized, fmt::format("body of {} bytes exceeds the limit of {}", frames[1].size(),
                                                    max_body_bytes));
  m.body = json::parse(frames[1].begin(), frames[1].end(), nullptr, /*allow_exceptions=*/false);
  if (m.body.is_discarded() || !m.body.is_object())
    return fail(FrameError::kMalformed, "body is not a JSON object");
  return m;
}

// ---- bodies --------------------------------------------------------------------

void to_json(json& j, const GroupInfo& v) { j = json{{"id", v.id}, {"ranks", v.ranks}}; }
void from_json(const json& j, GroupInfo& v) {
  j.at("id").get_to(v.id);
  j.at("ranks").get_to(v.ranks);
}
void to_json(json& j, const LeaseRequest& v) { j = json{{"group", v.group}, {"token", v.token}}; }
void from_json(const json& j, LeaseRequest& v) {
  j.at("group").get_to(v.group);
  v.token = j.value("token", "");
}

void to_json(json& j, const LeaseGrant& v) {
  json inputs = json::array();
  for (const InputOutputs& in : v.inputs)
    inputs.push_back({{"id", in.id}, {"stage", stage_name(in.stage)}, {"outputs", in.outputs}});
  j = json{{"job", v.job_id}, {"stage", stage_name(v.stage)}, {"epoch", v.epoch}, {"attempt", v.attempt},
           {"expires_ms", v.expires_ms}, {"payload", v.payload}, {"inputs", std::move(inputs)}};
}
void from_json(const json& j, LeaseGrant& v) {
  j.at("job").get_to(v.job_id);
  v.stage = stage_from(j.at("stage"));
  j.at("epoch").get_to(v.epoch);
  j.at("attempt").get_to(v.attempt);
  j.at("expires_ms").get_to(v.expires_ms);
  j.at("payload").get_to(v.payload);
  v.inputs.clear();
  for (const json& in : j.at("inputs")) {
    InputOutputs io;
    in.at("id").get_to(io.id);
    io.stage = stage_from(in.at("stage"));
    in.at("outputs").get_to(io.outputs);
    v.inputs.push_back(std::move(io));
  }
}

void to_json(json& j, const Beat& v) {
  j = json{{"job", v.job_id}, {"epoch", v.epoch}};
  if (v.progress) j["progress"] = *v.progress;
}
void from_json(const json& j, Beat& v) {
  j.at("job").get_to(v.job_id);
  j.at("epoch").get_to(v.epoch);
  if (j.contains("progress"))
    v.progress = j.at("progress").get<Progress>();
  else
    v.progress.reset();
}
void to_json(json& j, const HeartbeatRequest& v) { j = json{{"group", v.group}, {"beats", v.beats}}; }
void from_json(const json& j, HeartbeatRequest& v) {
  j.at("group").get_to(v.group);
  j.at("beats").get_to(v.beats);
}
void to_json(json& j, const BeatReply& v) { j = json{{"job", v.job_id}, {"verdict", beat_verdict_name(v.verdict)}}; }
void from_json(const json& j, BeatReply& v) {
  j.at("job").get_to(v.job_id);
  const std::string verdict = j.at("verdict").get<std::string>();
  if (verdict == "ok")
    v.verdict = BeatVerdict::kOk;
  else if (verdict == "cancelled")
    v.verdict = BeatVerdict::kCancelled;
  else if (verdict == "stale")
    v.verdict = BeatVerdict::kStale;
  else
    throw InvalidArgument("unknown heartbeat verdict '" + verdict + "'");
}

namespace {

void put_next(json& j, const std::optional<LeaseRequest>& next) {
  if (next) j["next"] = *next;
}
std::optional<LeaseRequest> get_next(const json& j) {
  if (!j.contains("next") || j.at("next").is_null()) return std::nullopt;
  return j.at("next").get<LeaseRequest>();
}

}  // namespace

void to_json(json& j, const DoneRequest& v) {
  j = json{{"job", v.job_id}, {"epoch", v.epoch}, {"outputs", v.outputs}};
  put_next(j, v.next);
}
void from_json(const json& j, DoneRequest& v) {
  j.at("job").get_to(v.job_id);
  j.at("epoch").get_to(v.epoch);
  j.at("outputs").get_to(v.outputs);
  v.next = get_next(j);
}
void to_json(json& j, const FailRequest& v) {
  j = json{{"job", v.job_id}, {"epoch", v.epoch}, {"error", v.error}};
  put_next(j, v.next);
}
void from_json(const json& j, FailRequest& v) {
  j.at("job").get_to(v.job_id);
  j.at("epoch").get_to(v.epoch);
  j.at("error").get_to(v.error);
  v.next = get_next(j);
}
void to_json(json& j, const Recorded& v) { j = json{{"recorded", v.recorded}}; }
void from_json(const json& j, Recorded& v) { j.at("recorded").get_to(v.recorded); }
// {"recorded": bool} as before, plus "next" (a grant or null) when leased.
void to_json(json& j, const ReportReply& v) {
  j = json(v.recorded);
  if (v.leased) j["next"] = v.next ? json(*v.next) : json();
}
void from_json(const json& j, ReportReply& v) {
  j.get_to(v.recorded);
  v.leased = j.contains("next");
  v.next.reset();
  if (v.leased && !j.at("next").is_null()) v.next = j.at("next").get<LeaseGrant>();
}
void to_json(json& j, const TargetRequest& v) { j = json{{"target", v.target}}; }
void from_json(const json& j, TargetRequest& v) { j.at("target").get_to(v.target); }
void to_json(json& j, const CountReply& v) { j = json{{"count", v.count}}; }
void from_json(const json& j, CountReply& v) { j.at("count").get_to(v.count); }

void to_json(json& j, const JobSubmission& v) {
  j = json{{"stage", stage_name(v.stage)}, {"payload", v.payload}, {"inputs", v.inputs},
           {"min_ranks", v.min_ranks}, {"max_attempts", v.max_attempts}};
}
void from_json(const json& j, JobSubmission& v) {
  v.stage = stage_from(j.at("stage"));
  j.at("payload").get_to(v.payload);
  j.at("inputs").get_to(v.inputs);
  v.min_ranks = j.value("min_ranks", 1);
  v.max_attempts = j.value("max_attempts", 0);
}
void to_json(json& j, const TrialSubmission& v) {
  j = json{{"id", v.id}, {"overrides", v.overrides}, {"jobs", v.jobs}};
}
void from_json(const json& j, TrialSubmission& v) {
  j.at("id").get_to(v.id);
  v.overrides = j.value("overrides", std::vector<std::string>{});
  j.at("jobs").get_to(v.jobs);
}
void to_json(json& j, const SweepSubmission& v) { j = json{{"sweep", v.sweep}, {"trials", v.trials}}; }
void from_json(const json& j, SweepSubmission& v) {
  j.at("sweep").get_to(v.sweep);
  j.at("trials").get_to(v.trials);
}
void to_json(json& j, const SubmitResult& v) {
  j = json{{"sweep", v.sweep}, {"jobs_new", v.jobs_new}, {"jobs_shared", v.jobs_shared}, {"jobs_rearmed", v.jobs_rearmed}};
}
void from_json(const json& j, SubmitResult& v) {
  j.at("sweep").get_to(v.sweep);
  j.at("jobs_new").get_to(v.jobs_new);
  j.at("jobs_shared").get_to(v.jobs_shared);
  j.at("jobs_rearmed").get_to(v.jobs_rearmed);
}

json ok_reply(json result) { return json{{"ok", true}, {"result", std::move(result)}}; }

json error_reply(const Status& status) {
  return json{{"ok", false}, {"code", static_cast<int>(status.code())}, {"error", status.message()}};
}

Status parse_reply(const json& body, json* result) {
  if (!body.is_object() || !body.contains("ok") || !body["ok"].is_boolean())
    return Status::Corruption("coordinator reply lacks 'ok'");
  if (body["ok"].get<bool>()) {
    *result = body.value("result", json());
    return Status::Ok();
  }
  const int code = body.value("code", static_cast<int>(StatusCode::kInternal));
  const std::string msg = body.value("error", std::string("(no message)"));
  switch (static_cast<StatusCode>(code)) {
    case StatusCode::kInvalidArgument: return Status::InvalidArgument(msg);
    case StatusCode::kNotFound: return Status::NotFound(msg);
    case StatusCode::kAlreadyExists: return Status::AlreadyExists(msg);
    case StatusCode::kCorruption: return Status::Corruption(msg);
    case StatusCode::kIoError: return Status::IoError(msg);
    case StatusCode::kFailedPrecondition: return Status::FailedPrecondition(msg);
    default: return Status::Internal(msg);
  }
}

}  // namespace radclear::coordinator
