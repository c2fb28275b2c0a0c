#pragma once
// Typed records stored in the slice index (storage/index.h) and their
// compact, versioned binary encoding.
//
// Every value starts with one format-version byte (kRecordFormatVersion; a
// slice of a DICOM/NIfTI source is written as kSliceFormatScanner, which
// adds its source, frame and spacing, so PNG slices keep their bytes);
// integers are LEB128 varints (zig-zag for signed), reals are IEEE-754
// little-endian, strings are varint length + bytes. A decoder refuses a
// version it does not know and any value that is truncated or has bytes
// left over, returning Corruption naming the record kind.
//
// Keys are built so that the scans later stages need are single prefix or
// range scans in RocksDB's default bytewise order (numbers are big-endian
// fixed width, text parts are ended by a '\0', which cannot occur in a path
// component):
//   slices           study '\0' series '\0' be32(slice_number) name '\0'
//                    -> one prefix scan (study '\0') gives a study's slices
//                       in (series, z) order.
//   lesions          slice key + be16(ordinal)   (ordinal = order of the
//                    lesion's row among the rows of that slice)
//   lesion_slices    slice key -> empty; all slices that hold a lesion.
//   studies          study id
//   studies_by_split u8(split) study id -> empty; all studies of a split.
//   patients         patient id
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "data/slice_source.h"
#include "stages/enums.h"

namespace radclear::storage {

inline constexpr uint8_t kRecordFormatVersion = 1;
inline constexpr uint8_t kSliceFormatScanner = 2;

// DeepLesion's Train_Val_Test column (1, 2, 3); kUnknown where the source
// has no split (CLEAR's layout: folds are made later, by patient).
// DeepLesion's Train_Val_Test; its names are declared in stages/enums.h.
using Split = stages::Split;
const char* split_name(Split s);  // "unknown", "train", "val", "test"

// Which on-disk layout a study came from.
enum class Layout : uint8_t { kDeepLesion = 1, kClear = 2, kDicom = 3, kNifti = 4 };
const char* layout_name(Layout l);  // "deeplesion", "clear", "dicom", "nifti"

// DeepLesion's Coarse_lesion_type names: 1 bone .. 8 pelvis; -1 (not
// labelled) and anything else give "unlabelled".
const char* coarse_type_name(int type);

// A lesion bounding box in pixels, x to the right, y down.
struct Box {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  bool operator==(const Box& o) const {
    return x1 == o.x1 && y1 == o.y1 && x2 == o.x2 && y2 == o.y2;
  }
};

// Identity of a slice: the parts of its key.
struct SliceId {
  std::string study_id;        // the slice's folder: DeepLesion "000001_01_01"
                               //   (<patient>_<study>_<series>), CLEAR "<study>",
                               //   DICOM StudyInstanceUID, NIfTI the file stem
  std::string series;          // DeepLesion "01"; "" in CLEAR's layout and NIfTI;
                               //   DICOM SeriesInstanceUID
  uint32_t slice_number = 0;   // z: the trailing number of the file stem (0 if none);
                               //   DICOM/NIfTI: 0.. inferior to superior
  std::string name;            // the file stem ("109", "patient_001_slice_001");
                               //   DICOM the file name, NIfTI the slice number
  bool operator==(const SliceId& o) const {
    return study_id == o.study_id && series == o.series && slice_number == o.slice_number &&
           name == o.name;
  }
};

// One CT slice: an image file, a DICOM frame or a NIfTI plane.
struct SliceRecord {
  SliceId id;
  std::string rel_path;        // relative to the data root, '/'-separated
  SliceSource source = SliceSource::kImageFile;
  uint32_t frame = 0;          // DICOM frame, or NIfTI axial plane (see slice_source.h)
  uint64_t file_size = 0;      // bytes, as listed at ingest (checked by --verify)
  uint16_t width = 0;          // pixels; 0 when unknown (known from DL_info's
  uint16_t height = 0;         //   Image_size for the series of a lesion)
  bool lesion = false;         // the slice shows a lesion (DL_info key slice, or
                               //   CLEAR's lesion_present = 1)
  // One box per lesion of this slice, in lesion-ordinal order: lesion i is the
  // LesionRecord with key slice_key(id) + be16(i). Empty for a CLEAR lesion
  // slice (its CSV has no boxes).
  std::vector<Box> lesion_boxes;
  // DICOM/NIfTI: millimetres between columns, rows and neighbouring slices
  // (0 = unknown), and the nominal SliceThickness (NIfTI: the z spacing).
  std::array<float, 3> spacing_mm{};
  float slice_thickness_mm = 0;
  bool operator==(const SliceRecord& o) const {
    return id == o.id && rel_path == o.rel_path && source == o.source && frame == o.frame &&
           file_size == o.file_size && width == o.width && height == o.height &&
           lesion == o.lesion && lesion_boxes == o.lesion_boxes && spacing_mm == o.spacing_mm &&
           slice_thickness_mm == o.slice_thickness_mm;
  }
};

// One DL_info.csv row, every column typed.
struct LesionRecord {
  SliceId slice;               // the key slice (from File_name)
  uint16_t ordinal = 0;        // 0-based order among the rows of this slice
  int64_t source_line = 0;     // line in DL_info.csv the row came from
  std::string file_name;       // File_name as written ("000001_01_01_109.png")
  int32_t patient_index = 0;   // Patient_index
  int32_t study_index = 0;     // Study_index
  int32_t series_id = 0;       // Series_ID
  int32_t key_slice_index = 0; // Key_slice_index
  std::array<double, 8> measurement_coordinates{};  // two RECIST diameters, x,y pairs
  Box bounding_box;                                 // Bounding_boxes
  std::array<double, 2> lesion_diameters_pixel{};   // Lesion_diameters_Pixel_
  std::array<double, 3> normalized_lesion_location{};
  int8_t coarse_lesion_type = -1;  // 1..8, -1 not labelled
  bool possibly_noisy = false;
  std::array<int32_t, 2> slice_range{};             // first, last context slice
  std::array<double, 3> spacing_mm_px{};            // x, y, z spacing in mm
  std::array<int32_t, 2> image_size{};              // width, height
  std::array<double, 2> dicom_windows{};            // min, max HU
  char patient_gender = '?';   // 'M', 'F' or '?'
  int32_t patient_age = -1;    // years; -1 unknown
  Split split = Split::kUnknown;
  bool operator==(const LesionRecord& o) const;
};

// A named clinical label of a study (CLEAR clinical CSV column). Labels are
// 0/1 in CLEAR; any finite number is kept. NaN = missing cell.
struct ClinicalLabel {
  std::string name;
  float value = 0;
  bool operator==(const ClinicalLabel& o) const;  // NaN == NaN here
};

struct StudyRecord {
  std::string study_id;
  std::string patient_id;      // DeepLesion: the folder's patient part ("000001");
                               //   CLEAR: patient_id column, else the study id
  Layout layout = Layout::kClear;
  Split split = Split::kUnknown;
  int32_t patient_age = -1;    // at the time of the study; -1 unknown
  uint32_t slice_count = 0;    // slices of this study in the index
  uint32_t lesion_slice_count = 0;
  uint32_t lesion_count = 0;   // LesionRecords (DL_info rows) of this study
  std::vector<std::string> series;       // sorted
  std::vector<ClinicalLabel> clinical;   // in clinical CSV column order
  std::string stratum;                   // the clinical CSV's `all` column, "" if none
  bool operator==(const StudyRecord& o) const;
};

struct PatientRecord {
  std::string patient_id;
  char gender = '?';                     // 'M', 'F' or '?'
  std::vector<std::string> study_ids;    // sorted, unique
  bool operator==(const PatientRecord& o) const {
    return patient_id == o.patient_id && gender == o.gender && study_ids == o.study_ids;
  }
};

// ---- keys ------------------------------------------------------------------

// study '\0'  : the prefix of every slice key of a study.
std::string study_slice_prefix(std::string_view study_id);
std::string slice_key(const SliceId& id);
// Parses a slice key (or the slice-key part of a lesion key when `rest` is
// given: it receives the bytes after the slice key). Corruption on bad bytes.
Status parse_slice_key(std::string_view key, SliceId* id, std::string_view* rest = nullptr);
std::string lesion_key(const SliceId& slice, uint16_t ordinal);
Status parse_lesion_key(std::string_view key, SliceId* slice, uint16_t* ordinal);
std::string split_study_key(Split split, std::string_view study_id);
Status parse_split_study_key(std::string_view key, Split* split, std::string* study_id);

// ---- values ----------------------------------------------------------------
// encode_* append nothing else to the output: the result is the whole value.
// decode_* fill only the value fields (the key parts are set by the caller
// from the key) and return Corruption on a bad value; *out is unspecified
// then.

std::string encode_slice(const SliceRecord& r);
Status decode_slice(std::string_view value, SliceRecord* out);
std::string encode_lesion(const LesionRecord& r);
Status decode_lesion(std::string_view value, LesionRecord* out);
std::string encode_study(const StudyRecord& r);
Status decode_study(std::string_view value, StudyRecord* out);
std::string encode_patient(const PatientRecord& r);
Status decode_patient(std::string_view value, PatientRecord* out);

// Appends a big-endian fixed-width number (exposed for the benchmarks/tests).
void put_be32(std::string* dst, uint32_t v);
void put_be16(std::string* dst, uint16_t v);

}  // namespace radclear::storage
