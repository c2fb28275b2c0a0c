#pragma once
// IndexSpec: the settings of `radclear index` (storage/ingest.h does the work).
#include <filesystem>

#include "common/csv.h"
#include "stages/enums.h"
#include "stages/field.h"

namespace radclear::stages {

// The space of a lesion-box CSV's corners (--box-space): voxel = pixel
// column/row of the axial slice as the loader shows it plus the slice number;
// patient = millimetres in DICOM's patient frame (LPS: +x left, +y posterior,
// +z superior), also for NIfTI (whose RAS world is mirrored in x and y).
enum class BoxSpace { kVoxel, kPatient };
template <>
struct EnumTraits<BoxSpace> {
  static constexpr const char* kWhat = "box space";
  static constexpr std::array<EnumName<BoxSpace>, 2> kNames{{{BoxSpace::kVoxel, "voxel"}, {BoxSpace::kPatient, "patient"}}};
};

struct IndexSpec {
  static constexpr const char* kStage = "index";
  static constexpr int kVersion = 1;

  // Exactly one source: a PNG data root, a DICOM root or NIfTI volumes.
  std::filesystem::path data_root;     // DeepLesion or CLEAR PNG layout; empty = none
  std::filesystem::path dicom;         // DICOM root (searched recursively); empty = none
  std::string nifti;                   // NIfTI folder, or a glob (*.nii.gz); empty = none
  std::filesystem::path db;            // required; created when missing
  std::filesystem::path dl_info;       // DeepLesion DL_info.csv; empty = none
  std::filesystem::path lesion_csv;    // CLEAR lesion CSV; empty = none
  std::filesystem::path clinical_csv;  // CLEAR clinical CSV; empty = none
  // Lesion boxes of DICOM/NIfTI studies: study,x1,y1,z1,x2,y2,z2[,series];
  // each slice between z1 and z2 gets the box. empty = none
  std::filesystem::path lesion_boxes;
  BoxSpace box_space = BoxSpace::kVoxel;  // Default: voxel
  LayoutChoice layout = LayoutChoice::kAuto;  // Default: auto
  bool strict = false;                 // a bad CSV row or scanner file is fatal. Default: false
  bool verify = false;                 // check every indexed file after ingest. Default: false
  int threads = 0;                     // listing and verify; <= 0: all cores. Default: 0
  // Field separator of the lesion and clinical CSVs (pandas' sep=): one
  // character, or "tab". DL_info.csv is always comma-separated. Default: ","
  std::string csv_separator = ",";

  template <typename Self, typename Visit>
  static void fields(Self& s, Visit&& v) {
    v(s.data_root, Field("data", "Data root: DeepLesion (holds Images_png/) or CLEAR (<study>/<slice>.png)"));
    v(s.dicom, Field("dicom", "DICOM root: axial CT series, grouped by StudyInstanceUID/SeriesInstanceUID"));
    v(s.nifti, Field("nifti", "NIfTI volumes: a folder of .nii/.nii.gz, or a glob such as 'ct/*.nii.gz'"));
    v(s.db, Field("db", "Index directory (RocksDB); created when missing").required());
    v(s.dl_info, Field("dl_info", "DeepLesion DL_info.csv (lesion boxes, splits)"));
    v(s.lesion_csv, Field("lesion_csv", "CLEAR lesion CSV: image,lesion_present,patient_id"));
    v(s.clinical_csv, Field("clinical", "CLEAR clinical CSV: image,<labels...>[,all] (image = study id)"));
    v(s.lesion_boxes, Field("lesion_boxes", "Lesion boxes of DICOM/NIfTI studies: study,x1,y1,z1,x2,y2,z2[,series]"));
    v(s.box_space, Field("box_space", "Space of --lesion-boxes: voxel (column,row,slice) or patient (LPS mm)"));
    v(s.layout, Field("layout", "Data layout: auto, deeplesion or clear"));
    v(s.strict, Field("strict", "A bad CSV row or DICOM/NIfTI file is fatal (default: skip it and count it)").bool_flag(BoolFlag::kSwitch));
    v(s.verify, Field("verify", "After ingest, check every indexed file exists with its size").bool_flag(BoolFlag::kSwitch));
    v(s.threads, Field("threads", "Threads for listing and --verify (0 = all cores)"));
    v(s.csv_separator, Field("csv_separator", "Field separator of the lesion and clinical CSVs: one character (, ; |) or tab"));
  }

  void validate() const {
    check_fields(*this);
    const int sources = !data_root.empty() + !dicom.empty() + !nifti.empty();
    if (sources != 1) {
      throw InvalidArgument(fmt::format("index: give exactly one of --data (PNG), --dicom or --nifti ({} given)", sources));
    }
    if (!lesion_boxes.empty() && !data_root.empty()) {
      throw InvalidArgument("index: --lesion-boxes is for --dicom/--nifti studies; PNG layouts take --dl-info or --lesion-csv");
    }
    parse_csv_separator(csv_separator, "index: csv_separator");
  }
};

}  // namespace radclear::stages
