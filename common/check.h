#pragma once
// Exceptions used inside modules, and CHECK macros that throw them with
// file:line and the failed condition (gloo's ENFORCE habit). Messages are
// for people: name the path, row, field, rank or shape involved.
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "common/status.h"

namespace radclear {

class Error : public std::runtime_error {
 public:
  Error(StatusCode code, const std::string& msg) : std::runtime_error(msg), code_(code) {}
  StatusCode code() const { return code_; }
  Status to_status() const;

 private:
  StatusCode code_;
};

struct InvalidArgument : Error {
  explicit InvalidArgument(const std::string& m) : Error(StatusCode::kInvalidArgument, m) {}
};
struct NotFound : Error {
  explicit NotFound(const std::string& m) : Error(StatusCode::kNotFound, m) {}
};
struct CorruptData : Error {
  explicit CorruptData(const std::string& m) : Error(StatusCode::kCorruption, m) {}
};
struct IoError : Error {
  explicit IoError(const std::string& m) : Error(StatusCode::kIoError, m) {}
};

// Throws the exception carried by a non-OK status (used at the few places
// where library code calls back into a Status-returning boundary).
void throw_if_error(const Status& s);

}  // namespace radclear

#define RADCLEAR_CHECK(cond, ...)                                                        \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      throw ::radclear::Error(::radclear::StatusCode::kInternal,                         \
                              fmt::format("{}:{}: check failed: {}: {}", __FILE__,       \
                                          __LINE__, #cond, fmt::format(__VA_ARGS__)));   \
    }                                                                                    \
  } while (0)

#define RADCLEAR_CHECK_EQ(a, b, ...)                                                     \
  do {                                                                                   \
    const auto& _ra = (a);                                                               \
    const auto& _rb = (b);                                                               \
    if (!(_ra == _rb)) {                                                                 \
      throw ::radclear::Error(                                                           \
          ::radclear::StatusCode::kInternal,                                             \
          fmt::format("{}:{}: check failed: {} == {} ({} vs {}): {}", __FILE__, __LINE__, \
                      #a, #b, _ra, _rb, fmt::format(__VA_ARGS__)));                      \
    }                                                                                    \
  } while (0)
