#pragma once
// A fresh directory under the system temp directory for one test, removed
// with everything in it when the test ends. Shared by every test folder.
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>
#include <system_error>

#include <fmt/format.h>

namespace radclear::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "radclear_test") {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / fmt::format("{}_{}_{}", prefix, ::getpid(), rd());
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace radclear::testing
