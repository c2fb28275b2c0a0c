#pragma once
// Where a slice's pixels live. Shared by the index records (storage/) and
// the loader's samples (data/), so both name the same three kinds; header
// only, no library.
#include <cstdint>

namespace radclear {

enum class SliceSource : uint8_t {
  kImageFile = 0,   // a PNG/JPEG file (DeepLesion, CLEAR)
  kDicomFrame = 1,  // one frame of a DICOM file (0 for single-frame files)
  kNiftiPlane = 2,  // one axial plane z of a NIfTI volume, after reorientation
};

inline const char* slice_source_name(SliceSource s) {
  switch (s) {
    case SliceSource::kImageFile: return "image";
    case SliceSource::kDicomFrame: return "dicom";
    case SliceSource::kNiftiPlane: return "nifti";
  }
  return "?";
}

}  // namespace radclear
