#pragma once
// The whole content of a file as bytes ("" when it cannot be opened), for
// tests that compare outputs. Shared by every test folder.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace radclear::testing {

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace radclear::testing
