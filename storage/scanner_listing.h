#pragma once
// Listing DICOM series and NIfTI volumes as slices (`radclear index --dicom`
// / `--nifti`). Unlike a PNG layout, where a file is a slice, here the
// headers decide: which files form a series, their order, their geometry,
// and what is left out and why. Every slice keeps its source (file + frame,
// volume + plane), so the loader decodes it in place (data/scanner_decode.h).
//
// DICOM: every regular file under the root (any name; DICOMDIR skipped) is
// read up to its pixel data. Files are grouped by StudyInstanceUID /
// SeriesInstanceUID. Kept: CT (Modality) single-frame images with position,
// orientation and pixel spacing, in series whose slices are axial, share
// one orientation and size, stand on a line along the slice normal (no
// gantry tilt) at a uniform spacing. Slices are numbered 0.. from inferior
// to superior by ImagePositionPatient projected on the normal (not
// InstanceNumber). Study id = StudyInstanceUID, series = SeriesInstanceUID,
// patient = PatientID (the study id when absent).
//
// NIfTI: a folder (searched recursively for .nii / .nii.gz) or a glob. Study
// id = the file stem; patient = the folder holding the file when it is
// below the listing root (<root>/<patient>/<study>.nii.gz), else the stem.
// Every axial plane (data/nifti.h) is a slice, numbered 0.. inferior to
// superior.
//
// What is left out is counted in DataListing::skipped by reason and logged
// (relative path or UIDs, never patient names); with `strict` the first one
// is fatal.
#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"
#include "data/dicom.h"
#include "storage/ingest.h"

namespace radclear::storage {

struct ScannerListOptions {
  bool strict = false;  // the first file or series left out is fatal (Corruption). Default: false
  int threads = 0;      // header reading; <= 0: all cores. Default: 0
};

// OK: the listing, sorted by slice key (possibly empty). NotFound: root is
// not a directory. Corruption: with strict, the first file or series left
// out, naming it and the reason.
Result<DataListing> list_dicom_root(const std::filesystem::path& root, const ScannerListOptions& options);

// `dir_or_glob`: a folder, or a pattern whose wildcards (* ? [) are in the
// last path component. *root receives the folder the listed paths are
// relative to (the loader's and extract's --data). Codes as list_dicom_root.
Result<DataListing> list_nifti(const std::string& dir_or_glob, const ScannerListOptions& options,
                               std::filesystem::path* root);

// ---- the DICOM series rule (exposed for tests) --------------------------------

struct DicomFile {
  std::string rel_path;
  uint64_t size = 0;
  data::DicomHeader header;
};

// One series' verdict: the files in slice order, or the reason it is left
// out ("not axial", "mixed orientations", "mixed sizes", "gantry tilt",
// "non-uniform spacing", "duplicate position") with a detail for the log.
struct SeriesOrder {
  std::string skip_reason;          // "" = kept
  std::string detail;
  std::vector<size_t> order;        // indices into the files, inferior to superior
  double step_mm = 0;               // distance between neighbouring slices (0 for one slice)
};
SeriesOrder order_series(const std::vector<DicomFile>& files);

}  // namespace radclear::storage
