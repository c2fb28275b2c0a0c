#include "common/status.h"

namespace radclear {

const char* status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: return "Invalid argument";
    case StatusCode::kNotFound: return "Not found";
    case StatusCode::kAlreadyExists: return "Already exists";
    case StatusCode::kCorruption: return "Corruption";
    case StatusCode::kIoError: return "IO error";
    case StatusCode::kFailedPrecondition: return "Failed precondition";
    case StatusCode::kInternal: return "Internal error";
  }
  return "Unknown";
}

std::string Status::to_string() const {
  if (ok()) return "OK";
  return std::string(status_code_name(code_)) + ": " + message_;
}

}  // namespace radclear

#include "common/check.h"

namespace radclear {

Status Error::to_status() const {
  switch (code_) {
    case StatusCode::kInvalidArgument: return Status::InvalidArgument(what());
    case StatusCode::kNotFound: return Status::NotFound(what());
    case StatusCode::kAlreadyExists: return Status::AlreadyExists(what());
    case StatusCode::kCorruption: return Status::Corruption(what());
    case StatusCode::kIoError: return Status::IoError(what());
    case StatusCode::kFailedPrecondition: return Status::FailedPrecondition(what());
    default: return Status::Internal(what());
  }
}

void throw_if_error(const Status& s) {
  if (s.ok()) return;
  switch (s.code()) {
    case StatusCode::kInvalidArgument: throw InvalidArgument(s.message());
    case StatusCode::kNotFound: throw NotFound(s.message());
    case StatusCode::kCorruption: throw CorruptData(s.message());
    case StatusCode::kIoError: throw IoError(s.message());
    default: throw Error(s.code(), s.message());
  }
}

}  // namespace radclear
