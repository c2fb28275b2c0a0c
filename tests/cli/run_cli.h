#pragma once
// Runs the built `radclear` binary the way a user does (shared by the CLI
// test files).
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace radclear::test_util {

struct CliRun {
  int code;         // exit status, -1 when killed by a signal
  std::string out;  // what the command printed
};

// `radclear <args>`; with `merge_stderr` the logs are captured too.
inline CliRun run_radclear(const std::string& args, bool merge_stderr = true) {
  const std::string cmd = std::string(RADCLEAR_BINARY) + " " + args + (merge_stderr ? " 2>&1" : "");
  std::FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace radclear::test_util
