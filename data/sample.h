#pragma once
// What the slice pipeline consumes: a plain list of slices to decode. The
// RocksDB index is where the list comes from (the CLI and the stage runners
// adapt index records into SliceSamples); data/ itself knows nothing about
// RocksDB, so tests and benchmarks build lists by hand.
#include <cstdint>
#include <string>
#include <vector>

#include "data/slice_source.h"

namespace radclear::data {

// A lesion bounding box in pixels of the slice, DeepLesion's
// Bounding_boxes convention: x1, y1 top-left, x2, y2 bottom-right.
struct LesionBox {
  double x1 = 0, y1 = 0, x2 = 0, y2 = 0;
};

struct SliceSample {
  // Path of the image, DICOM file or NIfTI volume, relative to the loader's
  // data root (or absolute).
  std::string path;
  // How `path` is decoded: an image file, DICOM frame `frame`, or NIfTI
  // axial plane `frame` (data/scanner_decode.h). All give the same pixels
  // to the windows and views.
  SliceSource source = SliceSource::kImageFile;
  int frame = 0;
  // Study id (DeepLesion "000001_01_01", CLEAR's study folder name).
  std::string study;
  // Slice number within the study (DeepLesion's file name number).
  int slice = 0;
  // The slice carries a lesion. A lesion slice with boxes gets the LeCL
  // lesion views; a lesion slice without boxes (CLEAR's lesion CSV has
  // none) gets the plain two-crop views but still counts in the lesion mask.
  bool lesion = false;
  std::vector<LesionBox> boxes;
  // Caller's id, carried through to Batch::ids (e.g. an index key number).
  int64_t id = 0;
};

}  // namespace radclear::data
