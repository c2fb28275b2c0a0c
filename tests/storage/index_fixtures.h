#pragma once
// Small on-disk data sets for the index tests: a temp directory per test,
// DeepLesion and CLEAR layouts with files of known sizes, and CSV writers.
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>

#include "tests/temp_dir.h"
#include "storage/index.h"

namespace radclear::storage::testing {

namespace fs = std::filesystem;

using TempDir = ::radclear::testing::TempDir;

inline void write_text(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out << text;
}

// A file of `size` bytes (content does not matter: ingest does not decode).
inline void write_bytes(const fs::path& p, size_t size) { write_text(p, std::string(size, 'x')); }

// The DL_info.csv header, DeepLesion's 18 columns.
inline std::string dl_info_header() {
  return "File_name,Patient_index,Study_index,Series_ID,Key_slice_index,Measurement_coordinates,"
         "Bounding_boxes,Lesion_diameters_Pixel_,Normalized_lesion_location,Coarse_lesion_type,"
         "Possibly_noisy,Slice_range,Spacing_mm_px_,Image_size,DICOM_windows,Patient_gender,"
         "Patient_age,Train_Val_Test\n";
}

// One DL_info row for <p>_<s>_<series>_<slice>.png with the given box.
inline std::string dl_info_row(int p, int s, int series, int slice, const std::string& box,
                               int type = 3, int split = 1, const std::string& gender = "F",
                               const std::string& age = "62") {
  return fmt::format(
      "{:06d}_{:02d}_{:02d}_{:03d}.png,{},{},{},{},\"233.5, 95.02, 234.0, 106.9, 231.1, 101.6, 236.2, "
      "101.1\",\"{}\",\"11.96, 5.10\",\"0.44, 0.28, 0.85\",{},0,\"{}, {}\",\"0.488281, 0.488281, 5\","
      "\"512, 512\",\"-175, 275\",{},{},{}\n",
      p, s, series, slice, p, s, series, slice, box, type, slice - 2, slice + 2, gender, age, split);
}

// Images_png/<p>_<s>_<series>/<nnn>.png for slices 1..n, size 100 + slice.
inline void make_deeplesion_study(const fs::path& root, int p, int s, int series, int n) {
  for (int k = 1; k <= n; ++k) {
    write_bytes(root / "Images_png" / fmt::format("{:06d}_{:02d}_{:02d}", p, s, series) /
                    fmt::format("{:03d}.png", k),
                100 + k);
  }
}

// Every key and value of every column family, for before/after comparisons.
inline std::map<std::string, std::map<std::string, std::string>> dump(SliceIndex& index,
                                                                      bool with_meta = false) {
  std::map<std::string, std::map<std::string, std::string>> out;
  for (const char* cf : {"slices", "lesions", "lesion_slices", "studies", "studies_by_split", "patients",
                         "default"}) {
    if (!with_meta && std::string(cf) == "default") continue;
    auto handle = index.column_family(cf);
    EXPECT_TRUE(handle.ok()) << cf;
    if (!handle.ok()) continue;
    std::unique_ptr<rocksdb::Iterator> it(index.raw_db()->NewIterator(rocksdb::ReadOptions(), handle.value()));
    auto& m = out[cf];
    for (it->SeekToFirst(); it->Valid(); it->Next()) m[it->key().ToString()] = it->value().ToString();
  }
  return out;
}

}  // namespace radclear::storage::testing
