#pragma once
// Status and Result<T> are what crosses module boundaries (RocksDB's habit):
// a code plus a message that names the file, row, field or rank involved.
// Inside a module, code throws radclear::Error (common/check.h) and the
// boundary converts. Ignoring a Status on purpose goes through
// PermitUncheckedError() so every such place can be found with grep.
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace radclear {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // the caller passed something unusable (flag, config field)
  kNotFound,         // a file, key or record that must exist does not
  kAlreadyExists,    // refusing to overwrite
  kCorruption,       // data on disk is malformed (bad CSV row, truncated file)
  kIoError,          // the OS said no (permissions, disk full)
  kFailedPrecondition,
  kInternal,
};

const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) { return {StatusCode::kInvalidArgument, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {StatusCode::kAlreadyExists, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {StatusCode::kCorruption, std::move(msg)}; }
  static Status IoError(std::string msg) { return {StatusCode::kIoError, std::move(msg)}; }
  static Status FailedPrecondition(std::string msg) { return {StatusCode::kFailedPrecondition, std::move(msg)}; }
  static Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string to_string() const;  // "Corruption: DL_info.csv:12: ..."

  // The one greppable way to drop a Status on purpose.
  void PermitUncheckedError() const {}

 private:
  Status(StatusCode code, std::string msg) : code_(code), message_(std::move(msg)) {}
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value or the Status saying why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}                      // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}              // NOLINT: implicit by design
  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace radclear
