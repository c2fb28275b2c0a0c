#pragma once
// One decode entry for every slice source (data/slice_source.h): image
// files through decode_file(), DICOM frames and NIfTI planes through
// data/dicom.h and data/nifti.h. All give the PNG path's pixels, so the
// windows and views downstream are the same for every source.
#include <string>

#include "data/decode.h"
#include "data/slice_source.h"

namespace radclear::data {

// A DICOM frame or NIfTI plane comes back as PixelKind::kHounsfield
// (CV_16SC1, HU). Throws what decode_file / read_dicom_hu / read_nifti_plane
// throw, naming the path and frame.
DecodedImage decode_slice_source(const std::string& path, SliceSource source, int frame);

}  // namespace radclear::data
