#pragma once
// DICOM through GDCM (libgdcm, Debian): the header fields the index groups
// and orders series by, and one frame decoded to Hounsfield units. GDCM
// decodes the compressed transfer syntaxes it was built with: JPEG lossless
// and baseline, JPEG-LS, RLE, and JPEG 2000 through OpenJPEG.
#include <array>
#include <string>
#include <vector>

#include "data/hu_slice.h"

namespace radclear::data {

struct DicomHeader {
  std::string study_uid;          // StudyInstanceUID (0020,000D)
  std::string series_uid;         // SeriesInstanceUID (0020,000E)
  std::string patient_id;         // PatientID (0010,0020); "" when absent
  std::string modality;           // Modality (0008,0060)
  std::string sop_class_uid;      // SOPClassUID (0008,0016)
  std::vector<std::string> image_type;  // ImageType (0008,0008) values, upper case
  std::string transfer_syntax;    // TransferSyntaxUID (0002,0010)
  bool has_position = false;
  std::array<double, 3> position{};     // ImagePositionPatient (0020,0032), LPS mm
  bool has_orientation = false;
  std::array<double, 6> orientation{};  // ImageOrientationPatient (0020,0037): row dir, column dir
  bool has_pixel_spacing = false;
  std::array<double, 2> pixel_spacing{};  // PixelSpacing (0028,0030): between rows, between columns
  double slice_thickness = 0;     // SliceThickness (0018,0050); 0 when absent
  double gantry_tilt = 0;         // GantryDetectorTilt (0018,1120), degrees
  int rows = 0, columns = 0;      // (0028,0010), (0028,0011)
  int frames = 1;                 // NumberOfFrames (0028,0008)
  int samples_per_pixel = 1;      // (0028,0002)
};

// Secondary Capture Image Storage and its multi-frame variants.
bool is_secondary_capture(const std::string& sop_class_uid);

// Reads the header of `path` (stops before the pixel data). Throws
// ScannerInputError("unreadable") naming the path when it is not a DICOM
// file GDCM can parse.
DicomHeader read_dicom_header(const std::string& path);

// Decodes frame `frame` of `path` and applies RescaleSlope/RescaleIntercept
// (absent: 1 and 0). Throws ScannerInputError naming the path and frame for
// an unreadable file, a transfer syntax GDCM cannot decode, a frame out of
// range, or a colour image.
HuSlice read_dicom_hu(const std::string& path, int frame);

}  // namespace radclear::data
