#pragma once
// IndexSpec: the settings of `radclear index` (storage/ingest.h does the work).
#include <filesystem>

#include "common/csv.h"
#include "stages/enums.h"
#include "stages/field.h"

namespace radclear::stages {

struct IndexSpec {
  static constexpr const char* kStage = "index";
  static constexpr int kVersion = 1;

  std::filesystem::path data_root;     // required
  std::filesystem::path db;            // required; created when missing
  std::filesystem::path dl_info;       // DeepLesion DL_info.csv; empty = none
  std::filesystem::path lesion_csv;    // CLEAR lesion CSV; empty = none
  std::filesystem::path clinical_csv;  // CLEAR clinical CSV; empty = none
  LayoutChoice layout = LayoutChoice::kAuto;  // Default: auto
  bool strict = false;                 // a bad CSV row is fatal. Default: false
  bool verify = false;                 // check every indexed file after ingest. Default: false
  int threads = 0;                     // listing and verify; <= 0: all cores. Default: 0
  // Field separator of the lesion and clinical CSVs (pandas' sep=): one
  // character, or "tab". DL_info.csv is always comma-separated. Default: ","
  std::string csv_separator = ",";

  template <typename Self, typename Visit>
  static void fields(Self& s, Visit&& v) {
    v(s.data_root, Field("data", "Data root: DeepLesion (holds Images_png/) or CLEAR (<study>/<slice>.png)").required());
    v(s.db, Field("db", "Index directory (RocksDB); created when missing").required());
    v(s.dl_info, Field("dl_info", "DeepLesion DL_info.csv (lesion boxes, splits)"));
    v(s.lesion_csv, Field("lesion_csv", "CLEAR lesion CSV: image,lesion_present,patient_id"));
    v(s.clinical_csv, Field("clinical", "CLEAR clinical CSV: image,<labels...>[,all] (image = study id)"));
    v(s.layout, Field("layout", "Data layout: auto, deeplesion or clear"));
    v(s.strict, Field("strict", "A bad CSV row is fatal (default: skip it and count it)").bool_flag(BoolFlag::kSwitch));
    v(s.verify, Field("verify", "After ingest, check every indexed file exists with its size").bool_flag(BoolFlag::kSwitch));
    v(s.threads, Field("threads", "Threads for listing and --verify (0 = all cores)"));
    v(s.csv_separator, Field("csv_separator", "Field separator of the lesion and clinical CSVs: one character (, ; |) or tab"));
  }

  void validate() const {
    check_fields(*this);
    parse_csv_separator(csv_separator, "index: csv_separator");
  }
};

}  // namespace radclear::stages
