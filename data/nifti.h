#pragma once
// NIfTI-1/-2 volumes (.nii, .nii.gz) through niftilib (libnifti2, Debian),
// shown as axial slices: the voxel axes are matched to the patient axes by
// the sform (or, without one, the qform) and flipped so that, like a DICOM
// axial slice, the column index grows to the patient's left, the row index
// to posterior and the plane index z from inferior to superior. Values go
// through scl_slope/scl_inter (slope 0 = unscaled, as the standard says).
#include <array>
#include <cstdint>
#include <string>

#include "data/hu_slice.h"

namespace radclear::data {

struct NiftiAxial {
  int width = 0, height = 0, depth = 0;   // columns, rows, axial planes
  std::array<float, 3> spacing_mm{};      // column, row, plane
  double slope = 1, intercept = 0;        // HU = slope * stored + intercept
  // Storage axis (0 = i, 1 = j, 2 = k) shown as columns, rows and planes,
  // and whether it runs backwards.
  std::array<int, 3> axis{};
  std::array<bool, 3> flip{};
  SliceGeometry plane0;                   // patient frame (LPS) of plane 0
  std::array<double, 3> plane_step{};     // LPS mm from plane z to z + 1
  const char* transform = "";             // "sform", "qform" or "pixdim"
};

// Reads the header of `path` and works out the axial reorientation. Throws
// ScannerInputError naming the path: "unreadable", "not 3-D" (a 4-D volume
// with more than one time point), "oblique" (an axis between two patient
// axes), "unsupported datatype" (complex, RGB).
NiftiAxial read_nifti_axial(const std::string& path);

// Axial plane z of `path` in HU. Reads only that plane from the file (a
// .nii.gz is decompressed up to it). Throws ScannerInputError naming the
// path and plane.
HuSlice read_nifti_plane(const std::string& path, int z);

}  // namespace radclear::data
