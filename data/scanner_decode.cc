#include "data/scanner_decode.h"

#include <cstring>

#include "data/dicom.h"
#include "data/nifti.h"

namespace radclear::data {

namespace {

DecodedImage from_hu(HuSlice s) {
  DecodedImage img;
  img.kind = PixelKind::kHounsfield;
  img.pixels.create(s.height, s.width, CV_16SC1);
  std::memcpy(img.pixels.data, s.hu.data(), s.hu.size() * sizeof(int16_t));
  return img;
}

}  // namespace

DecodedImage decode_slice_source(const std::string& path, SliceSource source, int frame) {
  switch (source) {
    case SliceSource::kImageFile: return decode_file(path);
    case SliceSource::kDicomFrame: return from_hu(read_dicom_hu(path, frame));
    case SliceSource::kNiftiPlane: return from_hu(read_nifti_plane(path, frame));
  }
  throw CorruptData(fmt::format("{}: unknown slice source {}", path, static_cast<int>(source)));
}

}  // namespace radclear::data
