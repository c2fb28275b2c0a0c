#pragma once
// The coordinator's wire protocol over ZeroMQ ROUTER (coordinator) and
// DEALER (worker group rank 0, submit/status clients).
//
// A message is two frames:  [header: 12 bytes] [body: JSON, UTF-8]
//   header = "RCLR" | version u16 LE | kind u16 LE | request id u32 LE
// (the ROUTER sees the peer's routing id as a frame before them). The fixed
// header lets the coordinator reject junk, another program's traffic and
// other protocol versions before parsing anything; the JSON body keeps the
// messages readable and extensible (unknown body fields are ignored, so a
// field can be added without a version bump; removing or retyping one
// bumps kProtocolVersion). Replies carry kind kReply, the request's id,
// and {"ok":true,"result":...} or {"ok":false,"code":N,"error":"..."}.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "coordinator/job.h"
#include "coordinator/scheduler.h"
#include "coordinator/status_report.h"

namespace radclear::coordinator {

inline constexpr uint16_t kProtocolVersion = 1;
inline constexpr size_t kHeaderBytes = 12;
// A body larger than this is refused (and counted). A sweep of 100,000
// jobs with 1 KB payloads fits. Default for CoordinatorOptions.
inline constexpr size_t kDefaultMaxBodyBytes = 256u << 20;

enum class MsgKind : uint16_t {
  kLease = 1,
  kHeartbeat = 2,
  kDone = 3,
  kFail = 4,
  kSubmit = 5,
  kStatus = 6,
  kCancel = 7,
  kRetry = 8,
  kReply = 100,
};
const char* msg_kind_name(MsgKind k);
// Mutating requests other than a worker's own lease traffic: what a
// read-only (status) client may not send on an authenticated endpoint.
bool is_admin_kind(MsgKind k);

struct Header {
  uint16_t version = kProtocolVersion;
  MsgKind kind = MsgKind::kReply;
  uint32_t request_id = 0;
};

std::string encode_header(const Header& h);

// Why a frame was refused; each has a counter on the coordinator.
enum class FrameError : uint8_t {
  kNone,
  kShape,         // not exactly header + body frames
  kBadMagic,      // not "RCLR": not our protocol
  kWrongVersion,  // our protocol, another version (the peer is told)
  kUnknownKind,
  kOversized,     // body above the limit
  kMalformed,     // body is not JSON or lacks a field
};
const char* frame_error_name(FrameError e);

// A header and a parsed body. `error` says why not when it is not kNone;
// `header` is filled as far as it could be read (for the error reply).
struct DecodedMessage {
  Header header;
  nlohmann::json body;
  FrameError error = FrameError::kNone;
  std::string detail;  // for the log / error reply
};

// Decodes [header][body] (without the routing id). Never throws.
DecodedMessage decode_message(const std::vector<std::string_view>& frames, size_t max_body_bytes);

// ---- bodies ----------------------------------------------------------------------

struct LeaseRequest {
  GroupInfo group;
  std::string token;
};
struct HeartbeatRequest {
  GroupInfo group;
  std::vector<Beat> beats;
};
// done and fail may carry `next`: the lease request for the group's next
// job, answered in the same reply. A worker then spends one round trip (and
// one synced commit) per job instead of two; a coordinator that predates
// the field ignores it and the client falls back to a separate lease.
struct DoneRequest {
  std::string job_id;
  uint64_t epoch = 0;
  std::vector<std::string> outputs;
  std::optional<LeaseRequest> next;
};
struct FailRequest {
  std::string job_id;
  uint64_t epoch = 0;
  std::string error;
  std::optional<LeaseRequest> next;
};
// done/fail's reply. `leased`: the request asked for a next job and this
// reply answers it (`next` empty: none is READY for the group). A failed
// lease leaves `leased` false; the worker asks again with a plain lease,
// which reports the error.
struct ReportReply {
  Recorded recorded;
  bool leased = false;
  std::optional<LeaseGrant> next;
};
struct TargetRequest {  // status, cancel, retry
  std::string target;
};
struct CountReply {
  int64_t count = 0;
};

void to_json(nlohmann::json& j, const GroupInfo& v);
void from_json(const nlohmann::json& j, GroupInfo& v);
void to_json(nlohmann::json& j, const LeaseRequest& v);
void from_json(const nlohmann::json& j, LeaseRequest& v);
void to_json(nlohmann::json& j, const LeaseGrant& v);
void from_json(const nlohmann::json& j, LeaseGrant& v);
void to_json(nlohmann::json& j, const Beat& v);
void from_json(const nlohmann::json& j, Beat& v);
void to_json(nlohmann::json& j, const HeartbeatRequest& v);
void from_json(const nlohmann::json& j, HeartbeatRequest& v);
void to_json(nlohmann::json& j, const BeatReply& v);
void from_json(const nlohmann::json& j, BeatReply& v);
void to_json(nlohmann::json& j, const DoneRequest& v);
void from_json(const nlohmann::json& j, DoneRequest& v);
void to_json(nlohmann::json& j, const FailRequest& v);
void from_json(const nlohmann::json& j, FailRequest& v);
void to_json(nlohmann::json& j, const Recorded& v);
void from_json(const nlohmann::json& j, Recorded& v);
void to_json(nlohmann::json& j, const ReportReply& v);
void from_json(const nlohmann::json& j, ReportReply& v);
void to_json(nlohmann::json& j, const TargetRequest& v);
void from_json(const nlohmann::json& j, TargetRequest& v);
void to_json(nlohmann::json& j, const CountReply& v);
void from_json(const nlohmann::json& j, CountReply& v);
void to_json(nlohmann::json& j, const JobSubmission& v);
void from_json(const nlohmann::json& j, JobSubmission& v);
void to_json(nlohmann::json& j, const TrialSubmission& v);
void from_json(const nlohmann::json& j, TrialSubmission& v);
void to_json(nlohmann::json& j, const SweepSubmission& v);
void from_json(const nlohmann::json& j, SweepSubmission& v);
void to_json(nlohmann::json& j, const SubmitResult& v);
void from_json(const nlohmann::json& j, SubmitResult& v);

// Reply bodies.
nlohmann::json ok_reply(nlohmann::json result);
nlohmann::json error_reply(const Status& status);
// The Status a reply carries (OK with `result` filled, or the error).
Status parse_reply(const nlohmann::json& body, nlohmann::json* result);

}  // namespace radclear::coordinator
