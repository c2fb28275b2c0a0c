#pragma once
// The DICOM/NIfTI fixtures made by tests/data/make_scanner_fixtures.py (the
// CTest setup `scanner_fixtures`; its docstring lists the files), at the
// path CMake compiles in (radclear_uses_scanner_fixtures). Shared by
// tests/data and tests/storage.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace radclear::testing {

inline std::filesystem::path scanner_fixtures() {
  const std::filesystem::path dir(RADCLEAR_SCANNER_FIXTURES);
  // No silent skip: a missing fixture is a failed test.
  EXPECT_TRUE(std::filesystem::is_directory(dir))
      << dir << " is missing; run through ctest, whose setup test scanner_fixtures makes it";
  return dir;
}

// The HU of slice k of a fixture series, as pydicom computed them.
inline std::vector<int16_t> expected_hu(const std::string& series, int k) {
  const auto path = scanner_fixtures() / "expected" / (series + "_" + std::to_string(k) + ".hu");
  std::vector<int16_t> hu(128 * 128);
  FILE* f = std::fopen(path.c_str(), "rb");
  EXPECT_NE(f, nullptr) << path;
  if (!f) return {};
  EXPECT_EQ(std::fread(hu.data(), sizeof(int16_t), hu.size(), f), hu.size()) << path;
  std::fclose(f);
  return hu;
}

// File names of the fixture axial series in slice order (inferior first);
// InstanceNumber runs the other way.
inline const char* const kAxialFilesInOrder[4] = {"ct_c.dcm", "ct_a.dcm", "ct_d.dcm", "ct_b.dcm"};

}  // namespace radclear::testing
