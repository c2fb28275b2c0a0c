#include "common/sha256.h"

#include <gtest/gtest.h>

#include <fstream>

namespace radclear {
namespace {

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, FileMatchesString) {
  auto p = std::filesystem::temp_directory_path() / ("radclear_sha_" + std::to_string(::getpid()));
  std::ofstream(p, std::ios::binary) << "abc";
  EXPECT_EQ(sha256_file(p), sha256_hex("abc"));
  std::filesystem::remove(p);
}

}  // namespace
}  // namespace radclear
