#pragma once
// What the DICOM and NIfTI readers (data/dicom.h, data/nifti.h) hand out:
// plain C++ types, so GDCM and niftilib stay inside their .cc files and
// storage/ (which lists scanner data without OpenCV or LibTorch) can use
// them.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/check.h"

namespace radclear::data {

// One axial slice in Hounsfield units, row-major, rounded to the nearest
// integer and clamped to int16 (the PNG path's CV_16SC1 range). Column
// index grows towards the patient's left, row index towards posterior
// (radiological display, like DeepLesion's PNGs).
struct HuSlice {
  int width = 0;
  int height = 0;
  std::vector<int16_t> hu;
};

// Rounds and clamps a rescaled value to HU (int16).
inline int16_t to_hu16(double v) {
  if (!(v > -32768.0)) return -32768;  // NaN too
  if (v > 32767.0) return 32767;
  return static_cast<int16_t>(v < 0 ? v - 0.5 : v + 0.5);
}

// A scanner file that is readable but not usable as axial CT, or not
// readable at all. `reason` is a short fixed key that the listing counts
// ("unreadable", "localizer", "missing ImagePositionPatient", ...); the
// message names the file and the fix.
struct ScannerInputError : CorruptData {
  ScannerInputError(std::string reason_key, const std::string& message)
      : CorruptData(message), reason(std::move(reason_key)) {}
  std::string reason;
};

// LPS patient-frame geometry of an axial slice: pixel (column c, row r) lies
// at origin + c * spacing[0] * column_dir + r * spacing[1] * row_dir (mm).
struct SliceGeometry {
  std::array<double, 3> origin{};
  std::array<double, 3> column_dir{};  // unit vector, +1 column
  std::array<double, 3> row_dir{};     // unit vector, +1 row
};

}  // namespace radclear::data
