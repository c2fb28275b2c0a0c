#include "storage/ingest.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "common/check.h"
#include "common/csv.h"
#include "common/logging.h"
#include "common/parallel.h"
#include "common/progress.h"

namespace radclear::storage {

namespace fs = std::filesystem;

// ---- ingest ------------------------------------------------------------------

namespace {

// A bad row's reason; thrown inside row parsing, caught per row.
struct RowError {
  std::string reason;
};

[[noreturn]] void row_error(std::string reason) { throw RowError{std::move(reason)}; }

struct Listed {
  std::string key;
  SliceId id;
  const ListedFile* file;
};

struct ClearFlag {
  std::string key;
  bool present;
};

// A lesion-box CSV row resolved to one slice of this run's listing.
struct SliceBox {
  std::string key;
  Box box;
};

// Everything known about one study in this run.
struct StudyWork {
  Layout layout = Layout::kClear;
  std::vector<Listed> listed;                 // sorted by key
  std::vector<LesionRecord> dl_rows;          // DL_info rows, file order, ordinals set
  std::vector<ClearFlag> clear_flags;         // lesion CSV rows
  std::vector<SliceBox> scanner_boxes;        // lesion-box CSV rows, per slice
  std::string scanner_patient;                // DICOM PatientID / NIfTI folder or stem
  std::optional<std::string> csv_patient;     // lesion CSV patient_id
  int64_t csv_patient_line = 0;
  std::optional<std::vector<ClinicalLabel>> clinical;
  std::string stratum;
  int64_t clinical_line = 0;
  // Keys of this study's slices already in the index (loaded on demand).
  std::optional<std::vector<std::string>> stored_keys;
};

class Ingester {
 public:
  Ingester(SliceIndex& index, const DataListing& listing, const IngestOptions& options,
           IngestReport* report)
      : index_(index), listing_(listing), options_(options), report_(*report) {}

  Status run() {
    const auto start = std::chrono::steady_clock::now();
    report_.layout = listing_.layout;
    report_.files_listed = static_cast<int64_t>(listing_.files.size());
    report_.files_ignored = listing_.ignored;
    report_.skipped = listing_.skipped;
    if (index_.read_only()) {
      return Status::FailedPrecondition(
          fmt::format("index {} is open read-only; ingest needs a writable index",
                      index_.path().string()));
    }
    try {
      Status s = group_listing();
      if (s.ok() && options_.dl_info) {
        const Mark mark = this->mark();
        s = read_dl_info(*options_.dl_info);
        if (s.ok()) s = every_row_failed(*options_.dl_info, mark, "File_name is <patient>_<study>_<series>_<slice>.png "
                                                                 "under Images_png/");
      }
      if (s.ok() && options_.lesion_csv) {
        const Mark mark = this->mark();
        s = read_lesion_csv(*options_.lesion_csv);
        if (s.ok()) s = every_row_failed(*options_.lesion_csv, mark, "name a slice <study>/<file>, <file> under its "
                                                                    "patient_id folder, or <study>_<file> as CLEAR's "
                                                                    "README does, and check --csv-separator");
      }
      if (s.ok() && options_.lesion_boxes) {
        const Mark mark = this->mark();
        s = read_lesion_boxes(*options_.lesion_boxes);
        if (s.ok()) s = every_row_failed(*options_.lesion_boxes, mark, "study,x1,y1,z1,x2,y2,z2[,series] naming "
                                                                      "studies of this run, in --box-space");
      }
      if (s.ok() && options_.clinical_csv) s = read_clinical_csv(*options_.clinical_csv);
      if (s.ok()) s = write_all();
      report_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      return s;
    } catch (const Error& e) {
      return e.to_status();
    }
  }

 private:
  // Records a bad row; returns non-OK when strict makes it fatal.
  Status bad_row(std::string where, std::string reason) {
    ++report_.bad_rows;
    if (options_.strict) {
      return Status::Corruption(fmt::format("{}: {} (--strict: nothing was written)", where, reason));
    }
    if (report_.bad_rows <= 20) {
      spdlog::warn("{}: {}; row skipped", where, reason);
    } else if (report_.bad_rows == 21) {
      spdlog::warn("more bad rows; the rest are counted in the report");
    }
    report_.bad_row_list.push_back({std::move(where), std::move(reason)});
    return Status::Ok();
  }

  // Where the report stood before a CSV was read.
  struct Mark {
    int64_t rows = 0;
    int64_t bad = 0;
    size_t listed = 0;
  };
  Mark mark() const { return {report_.rows_read, report_.bad_rows, report_.bad_row_list.size()}; }

  // A lesion source none of whose rows can be used is a naming mismatch, not
  // a few bad rows: indexing it would write 0 lesions and turn LeCL into
  // plain MoCo without a word. Nothing has been written at this point.
  Status every_row_failed(const fs::path& path, const Mark& before, const char* hint) const {
    const int64_t rows = report_.rows_read - before.rows;
    if (rows == 0 || report_.bad_rows - before.bad < rows) return Status::Ok();
    std::vector<std::string> first;
    for (size_t i = before.listed; i < report_.bad_row_list.size() && first.size() < 3; ++i) {
      first.push_back(fmt::format("{}: {}", report_.bad_row_list[i].where, report_.bad_row_list[i].reason));
    }
    return Status::InvalidArgument(fmt::format(
        "{}: every one of its {} lesion rows failed, so no lesion would be indexed (nothing was written); "
        "first bad rows: {}. Expected: {}",
        path.string(), rows, fmt::join(first, " | "), hint));
  }

  Status group_listing() {
    for (const ListedFile& f : listing_.files) {
      if (!is_safe_relative_path(f.rel_path)) {
        Status s = bad_row("listing", fmt::format("path \"{}\" escapes the data root", f.rel_path));
        if (!s.ok()) return s;
        continue;
      }
      auto id = f.scanner ? std::make_optional(f.scanner->id) : slice_id_from_path(f.rel_path, listing_.layout);
      if (!id) {
        ++report_.files_ignored;
        continue;
      }
      StudyWork& w = study(id->study_id, listing_.layout);
      if (f.scanner) w.scanner_patient = f.scanner->patient_id;
      std::string key = slice_key(*id);
      w.listed.push_back({std::move(key), std::move(*id), &f});
    }
    for (auto& [study_id, w] : studies_) {
      std::sort(w.listed.begin(), w.listed.end(),
                [](const Listed& a, const Listed& b) { return a.key < b.key; });
      // Two files with the same identity ("1.png" and "1.PNG") would silently
      // overwrite each other: keep the first and report the second.
      auto dup = std::adjacent_find(w.listed.begin(), w.listed.end(),
                                    [](const Listed& a, const Listed& b) { return a.key == b.key; });
      while (dup != w.listed.end()) {
        Status s = bad_row("listing", fmt::format("\"{}\" and \"{}\" are the same slice",
                                                  dup->file->rel_path, (dup + 1)->file->rel_path));
        if (!s.ok()) return s;
        w.listed.erase(dup + 1);
        dup = std::adjacent_find(w.listed.begin(), w.listed.end(),
                                 [](const Listed& a, const Listed& b) { return a.key == b.key; });
      }
    }
    return Status::Ok();
  }

  StudyWork& study(const std::string& study_id, Layout layout) {
    auto [it, inserted] = studies_.try_emplace(study_id);
    if (inserted) it->second.layout = layout;
    return it->second;
  }

  // True when the slice is listed now or already indexed.
  bool slice_known(StudyWork& w, const std::string& study_id, const std::string& key) {
    if (std::binary_search(w.listed.begin(), w.listed.end(), key,
                           [](const auto& a, const auto& b) { return key_of(a) < key_of(b); })) {
      return true;
    }
    if (!w.stored_keys) {
      auto stored = index_.SlicesOfStudy(study_id);
      throw_if_error(stored.status());
      w.stored_keys.emplace();
      for (const auto& r : stored.value()) w.stored_keys->push_back(slice_key(r.id));
    }
    return std::binary_search(w.stored_keys->begin(), w.stored_keys->end(), key);
  }
  static const std::string& key_of(const Listed& l) { return l.key; }
  static const std::string& key_of(const std::string& s) { return s; }

  bool study_known(const std::string& study_id) {
    auto it = studies_.find(study_id);
    if (it != studies_.end() && !it->second.listed.empty()) return true;
    auto r = index_.GetStudy(study_id);
    if (r.ok()) return true;
    if (r.status().code() != StatusCode::kNotFound) throw_if_error(r.status());
    return false;
  }

  // ---- DL_info.csv ----------------------------------------------------------

  Status read_dl_info(const fs::path& path) {
    static const char* const kColumns[18] = {
        "File_name",        "Patient_index",           "Study_index",
        "Series_ID",        "Key_slice_index",         "Measurement_coordinates",
        "Bounding_boxes",   "Lesion_diameters_Pixel_", "Normalized_lesion_location",
        "Coarse_lesion_type", "Possibly_noisy",        "Slice_range",
        "Spacing_mm_px_",   "Image_size",              "DICOM_windows",
        "Patient_gender",   "Patient_age",             "Train_Val_Test"};
    CsvReader csv(path);
    size_t col[18];
    for (int i = 0; i < 18; ++i) col[i] = csv.require_column(kColumns[i]);
    const size_t width = csv.header().size();
    // First split seen per study, to catch rows that disagree.
    std::unordered_map<std::string, std::pair<Split, int64_t>> study_split;
    std::unordered_map<std::string, uint16_t> ordinals;
    CsvRow row;
    while (csv.next(row)) {
      ++report_.rows_read;
      LesionRecord r;
      try {
        if (row.fields.size() != width) {
          row_error(fmt::format("expected {} columns, got {}", width, row.fields.size()));
        }
        r = parse_dl_row(row, col);
        auto& w = study(r.slice.study_id, Layout::kDeepLesion);
        const std::string key = slice_key(r.slice);
        if (!slice_known(w, r.slice.study_id, key)) {
          row_error(fmt::format("unknown slice: {}/{}/{}.png is neither under the data root nor "
                                "in the index",
                                kDeepLesionImages, r.slice.study_id, r.slice.name));
        }
        auto [sit, first] = study_split.try_emplace(r.slice.study_id, r.split, row.line);
        if (!first && sit->second.first != r.split) {
          row_error(fmt::format("Train_Val_Test {} disagrees with {} on line {} for study {}",
                                static_cast<int>(r.split), static_cast<int>(sit->second.first),
                                sit->second.second, r.slice.study_id));
        }
        uint16_t& ordinal = ordinals[key];
        if (ordinal == std::numeric_limits<uint16_t>::max()) row_error("more than 65535 lesions on one slice");
        r.ordinal = ordinal++;
        r.source_line = row.line;
        w.dl_rows.push_back(std::move(r));
      } catch (const RowError& e) {
        Status s = bad_row(csv.where(row), e.reason);
        if (!s.ok()) return s;
      }
    }
    return Status::Ok();
  }

  static double number(const CsvRow& row, size_t col, const char* name) {
    auto v = parse_double(row.fields[col]);
    if (!v) row_error(fmt::format("{}: '{}' is not a number", name, row.fields[col]));
    return *v;
  }
  static int32_t integer(const CsvRow& row, size_t col, const char* name) {
    auto v = parse_int(row.fields[col]);
    if (!v || *v < std::numeric_limits<int32_t>::min() || *v > std::numeric_limits<int32_t>::max()) {
      row_error(fmt::format("{}: '{}' is not an integer", name, row.fields[col]));
    }
    return static_cast<int32_t>(*v);
  }
  template <size_t N>
  static std::array<double, N> numbers(const CsvRow& row, size_t col, const char* name) {
    std::vector<double> v;
    try {
      v = parse_number_list(row.fields[col], N);
    } catch (const InvalidArgument& e) {
      row_error(fmt::format("{}: {}", name, e.what()));
    }
    std::array<double, N> out{};
    std::copy(v.begin(), v.end(), out.begin());
    return out;
  }
  template <size_t N>
  static std::array<int32_t, N> integers(const CsvRow& row, size_t col, const char* name) {
    const auto v = numbers<N>(row, col, name);
    std::array<int32_t, N> out{};
    for (size_t i = 0; i < N; ++i) {
      if (v[i] != std::floor(v[i]) || std::abs(v[i]) > 1e9) {
        row_error(fmt::format("{}: {} is not an integer in \"{}\"", name, v[i], row.fields[col]));
      }
      out[i] = static_cast<int32_t>(v[i]);
    }
    return out;
  }

  static LesionRecord parse_dl_row(const CsvRow& row, const size_t* col) {
    LesionRecord r;
    const std::string& file = row.fields[col[0]];
    r.file_name = file;
    // File_name is a bare name; anything path-like could point outside the root.
    if (file.find('/') != std::string::npos || file.find('\\') != std::string::npos ||
        file.find("..") != std::string::npos || file.empty()) {
      row_error(fmt::format("File_name \"{}\" escapes the data root (expected a bare name like "
                            "000001_01_01_109.png)", file));
    }
    const size_t last = file.rfind('_');
    if (last == std::string::npos) row_error(fmt::format("File_name \"{}\" has no '_'", file));
    const std::string rel = file.substr(0, last) + "/" + file.substr(last + 1);
    auto id = slice_id_from_path(rel, Layout::kDeepLesion);
    if (!id) {
      row_error(fmt::format("File_name \"{}\" is not <patient>_<study>_<series>_<slice>.png", file));
    }
    r.slice = *id;
    r.patient_index = integer(row, col[1], "Patient_index");
    r.study_index = integer(row, col[2], "Study_index");
    r.series_id = integer(row, col[3], "Series_ID");
    r.key_slice_index = integer(row, col[4], "Key_slice_index");
    std::string_view folder[3];
    parse_deeplesion_folder(file.substr(0, last), folder);
    const int64_t from_name[3] = {*parse_int(folder[0]), *parse_int(folder[1]), *parse_int(folder[2])};
    if (from_name[0] != r.patient_index || from_name[1] != r.study_index ||
        from_name[2] != r.series_id || r.slice.slice_number != static_cast<uint32_t>(r.key_slice_index)) {
      row_error(fmt::format("File_name \"{}\" disagrees with Patient_index {}, Study_index {}, "
                            "Series_ID {}, Key_slice_index {}",
                            file, r.patient_index, r.study_index, r.series_id, r.key_slice_index));
    }
    r.measurement_coordinates = numbers<8>(row, col[5], "Measurement_coordinates");
    const auto box = numbers<4>(row, col[6], "Bounding_boxes");
    r.bounding_box = {static_cast<float>(box[0]), static_cast<float>(box[1]),
                      static_cast<float>(box[2]), static_cast<float>(box[3])};
    r.lesion_diameters_pixel = numbers<2>(row, col[7], "Lesion_diameters_Pixel_");
    r.normalized_lesion_location = numbers<3>(row, col[8], "Normalized_lesion_location");
    const int32_t type = integer(row, col[9], "Coarse_lesion_type");
    if (type != -1 && (type < 1 || type > 8)) {
      row_error(fmt::format("Coarse_lesion_type {} is not -1 or 1..8", type));
    }
    r.coarse_lesion_type = static_cast<int8_t>(type);
    const int32_t noisy = integer(row, col[10], "Possibly_noisy");
    if (noisy != 0 && noisy != 1) row_error(fmt::format("Possibly_noisy {} is not 0 or 1", noisy));
    r.possibly_noisy = noisy == 1;
    r.slice_range = integers<2>(row, col[11], "Slice_range");
    r.spacing_mm_px = numbers<3>(row, col[12], "Spacing_mm_px_");
    r.image_size = integers<2>(row, col[13], "Image_size");
    if (r.image_size[0] < 1 || r.image_size[1] < 1 || r.image_size[0] > 65535 ||
        r.image_size[1] > 65535) {
      row_error(fmt::format("Image_size {}x{} is not a picture size", r.image_size[0], r.image_size[1]));
    }
    for (double v : box) {
      if (!std::isfinite(v)) row_error("Bounding_boxes holds a non-finite number");
    }
    if (box[0] > box[2] || box[1] > box[3] || box[0] < 0 || box[1] < 0 ||
        box[2] > r.image_size[0] || box[3] > r.image_size[1]) {
      row_error(fmt::format("Bounding_boxes ({}, {}, {}, {}) is not inside the {}x{} image",
                            box[0], box[1], box[2], box[3], r.image_size[0], r.image_size[1]));
    }
    r.dicom_windows = numbers<2>(row, col[14], "DICOM_windows");
    const std::string gender = lower_ascii(row.fields[col[15]]);
    if (gender == "m" || gender == "male") {
      r.patient_gender = 'M';
    } else if (gender == "f" || gender == "female") {
      r.patient_gender = 'F';
    } else if (gender.empty() || gender == "nan" || gender == "unknown") {
      r.patient_gender = '?';
    } else {
      row_error(fmt::format("Patient_gender '{}' is not M or F", row.fields[col[15]]));
    }
    const std::string age = lower_ascii(row.fields[col[16]]);
    if (age.empty() || age == "nan") {
      r.patient_age = -1;
    } else {
      const double a = number(row, col[16], "Patient_age");
      if (a < 0 || a > 150) row_error(fmt::format("Patient_age {} is not an age", a));
      r.patient_age = static_cast<int32_t>(std::lround(a));
    }
    const int32_t split = integer(row, col[17], "Train_Val_Test");
    if (split < 1 || split > 3) row_error(fmt::format("Train_Val_Test {} is not 1, 2 or 3", split));
    r.split = static_cast<Split>(split);
    return r;
  }

  // ---- CLEAR lesion CSV ------------------------------------------------------

  Status read_lesion_csv(const fs::path& path) {
    CsvReader csv(path, options_.csv_separator);
    const size_t c_image = csv.require_column("image");
    const size_t c_present = csv.require_column("lesion_present");
    const std::optional<size_t> c_patient = csv.column("patient_id");
    const size_t width = csv.header().size();
    CsvRow row;
    while (csv.next(row)) {
      ++report_.rows_read;
      try {
        if (row.fields.size() != width) {
          row_error(fmt::format("expected {} columns, got {}", width, row.fields.size()));
        }
        const std::string& image = row.fields[c_image];
        const auto present = parse_binary_label(row.fields[c_present]);
        if (!present) row_error(fmt::format("lesion_present '{}' is not 0/1 or no/yes", row.fields[c_present]));
        std::string patient = c_patient ? row.fields[*c_patient] : std::string();
        if (!patient.empty() && !is_safe_relative_path(patient)) {
          row_error(fmt::format("patient_id \"{}\" escapes the data root", patient));
        }
        const SliceId id = resolve_image(image, patient);
        StudyWork& w = study(id.study_id, listing_.layout);
        w.clear_flags.push_back({slice_key(id), *present});
        if (!patient.empty()) {
          if (w.csv_patient && *w.csv_patient != patient) {
            row_error(fmt::format("patient_id '{}' differs from '{}' on line {} for study {}", patient,
                                  *w.csv_patient, w.csv_patient_line, id.study_id));
          }
          w.csv_patient = patient;
          w.csv_patient_line = row.line;
        }
      } catch (const RowError& e) {
        Status s = bad_row(csv.where(row), e.reason);
        if (!s.ok()) return s;
      }
    }
    return Status::Ok();
  }

  // CLEAR's `image` is "study/file.png", or a bare file name found under the
  // patient_id folder or, failing that, under exactly one listed study, or
  // (CLEAR's README) "study_file.png" for study/file.png: each '_' is tried
  // as the slash and exactly one reading must name a known slice.
  SliceId resolve_image(const std::string& image, const std::string& patient) {
    if (!is_safe_relative_path(image)) {
      row_error(fmt::format("image \"{}\" escapes the data root", image));
    }
    auto check = [&](const SliceId& id) {
      StudyWork& w = study(id.study_id, listing_.layout);
      return slice_known(w, id.study_id, slice_key(id));
    };
    if (image.find('/') != std::string::npos) {
      auto id = slice_id_from_path(image, listing_.layout);
      if (!id) row_error(fmt::format("image \"{}\" is not a slice path of the {} layout", image,
                                     layout_name(listing_.layout)));
      if (!check(*id)) row_error(fmt::format("unknown slice \"{}\"", image));
      return *id;
    }
    if (!patient.empty()) {
      auto id = slice_id_from_path(patient + "/" + image, listing_.layout);
      if (id && check(*id)) return *id;
    }
    if (!by_file_name_) {
      by_file_name_.emplace();
      for (const auto& [study_id, w] : studies_) {
        for (const Listed& l : w.listed) {
          const std::string& rel = l.file->rel_path;
          (*by_file_name_)[rel.substr(rel.rfind('/') + 1)].push_back(l.id);
        }
      }
    }
    auto it = by_file_name_->find(image);
    if (it != by_file_name_->end()) {
      if (it->second.size() > 1) {
        row_error(fmt::format("image \"{}\" is ambiguous: it is in studies {} and {}; write study/file",
                              image, it->second[0].study_id, it->second[1].study_id));
      }
      return it->second[0];
    }
    std::vector<SliceId> readings;
    for (size_t p = image.find('_'); p != std::string::npos; p = image.find('_', p + 1)) {
      if (p == 0 || p + 1 >= image.size()) continue;
      auto id = slice_id_from_path(image.substr(0, p) + "/" + image.substr(p + 1), listing_.layout);
      if (id && check(*id)) readings.push_back(std::move(*id));
    }
    if (readings.size() > 1) {
      row_error(fmt::format("image \"{}\" is ambiguous: it reads as {}/{} and as {}/{}; write study/file", image,
                            readings[0].study_id, image.substr(readings[0].study_id.size() + 1),
                            readings[1].study_id, image.substr(readings[1].study_id.size() + 1)));
    }
    if (readings.empty()) {
      row_error(fmt::format("unknown slice \"{}\" (not found under {}, in any listed study, nor as "
                            "<study>_<file>)",
                            image, patient.empty() ? std::string("the patient folder") : patient + "/"));
    }
    return readings[0];
  }

  // ---- lesion boxes of DICOM/NIfTI studies ---------------------------------------
  // study,x1,y1,z1,x2,y2,z2[,series]: a box spanning slices z1..z2. In voxel
  // space x/y are pixel columns/rows of the axial slice and z its slice
  // number; in patient space all are LPS mm and the box goes on every
  // listed slice whose plane lies between z1 and z2 along its normal, as the
  // 2-D bounding box of the 3-D box's corners projected into that slice.

  Status read_lesion_boxes(const fs::path& path) {
    CsvReader csv(path, options_.csv_separator);
    const size_t c_study = csv.require_column("study");
    const char* const kCorners[6] = {"x1", "y1", "z1", "x2", "y2", "z2"};
    size_t c_corner[6];
    for (int i = 0; i < 6; ++i) c_corner[i] = csv.require_column(kCorners[i]);
    const std::optional<size_t> c_series = csv.column("series");
    const size_t width = csv.header().size();
    const bool patient_space = options_.box_space == stages::BoxSpace::kPatient;
    CsvRow row;
    while (csv.next(row)) {
      ++report_.rows_read;
      try {
        if (row.fields.size() != width) row_error(fmt::format("expected {} columns, got {}", width, row.fields.size()));
        double v[6];
        for (int i = 0; i < 6; ++i) {
          const auto x = parse_double(row.fields[c_corner[i]]);
          if (!x || !std::isfinite(*x)) row_error(fmt::format("{} '{}' is not a number", kCorners[i], row.fields[c_corner[i]]));
          v[i] = *x;
        }
        const std::string& study_id = row.fields[c_study];
        auto it = studies_.find(study_id);
        if (it == studies_.end() || it->second.listed.empty()) {
          row_error(fmt::format("study '{}' is not among the studies listed in this run", study_id));
        }
        StudyWork& w = it->second;
        std::set<std::string> series;
        for (const Listed& l : w.listed) series.insert(l.id.series);
        const std::string want = c_series ? row.fields[*c_series] : std::string();
        if (!want.empty() && series.count(want) == 0) row_error(fmt::format("study '{}' has no series '{}'", study_id, want));
        if (want.empty() && series.size() > 1 && !patient_space) {
          row_error(fmt::format("study '{}' has {} series; voxel boxes need the series column", study_id, series.size()));
        }
        size_t hits = 0;
        for (const Listed& l : w.listed) {
          if (!want.empty() && l.id.series != want) continue;
          if (!l.file->scanner) row_error(fmt::format("study '{}' is not a DICOM/NIfTI study", study_id));
          std::optional<Box> box = patient_space ? patient_box(*l.file->scanner, v) : voxel_box(*l.file->scanner, v);
          if (!box) continue;
          w.scanner_boxes.push_back({l.key, *box});
          ++hits;
        }
        if (hits == 0) row_error(fmt::format("the box of study '{}' meets none of its slices", study_id));
      } catch (const RowError& e) {
        Status s = bad_row(csv.where(row), e.reason);
        if (!s.ok()) return s;
      }
    }
    return Status::Ok();
  }

  static std::optional<Box> voxel_box(const ScannerSlice& sl, const double v[6]) {
    const double z = sl.id.slice_number;
    if (z < std::min(v[2], v[5]) || z > std::max(v[2], v[5])) return std::nullopt;
    Box b{static_cast<float>(std::min(v[0], v[3])), static_cast<float>(std::min(v[1], v[4])),
          static_cast<float>(std::max(v[0], v[3])), static_cast<float>(std::max(v[1], v[4]))};
    if (b.x1 < 0 || b.y1 < 0 || b.x2 > sl.width || b.y2 > sl.height) {
      row_error(fmt::format("box ({}, {})-({}, {}) lies outside the {}x{} slice", b.x1, b.y1, b.x2, b.y2, sl.width,
                            sl.height));
    }
    return b;
  }

  static std::optional<Box> patient_box(const ScannerSlice& sl, const double v[6]) {
    const std::array<double, 3>& c = sl.column_dir;
    const std::array<double, 3>& r = sl.row_dir;
    const std::array<double, 3> n{c[1] * r[2] - c[2] * r[1], c[2] * r[0] - c[0] * r[2], c[0] * r[1] - c[1] * r[0]};
    double lo_n = INFINITY, hi_n = -INFINITY, x1 = INFINITY, y1 = INFINITY, x2 = -INFINITY, y2 = -INFINITY;
    for (int corner = 0; corner < 8; ++corner) {
      const double p[3] = {v[(corner & 1) ? 3 : 0], v[(corner & 2) ? 4 : 1], v[(corner & 4) ? 5 : 2]};
      double along = 0, col = 0, row = 0;
      for (int k = 0; k < 3; ++k) {
        const double d = p[k] - sl.origin[k];
        along += d * n[k];
        col += d * c[k];
        row += d * r[k];
      }
      lo_n = std::min(lo_n, along);
      hi_n = std::max(hi_n, along);
      x1 = std::min(x1, col / sl.spacing_mm[0]);
      x2 = std::max(x2, col / sl.spacing_mm[0]);
      y1 = std::min(y1, row / sl.spacing_mm[1]);
      y2 = std::max(y2, row / sl.spacing_mm[1]);
    }
    // The slice's plane (distance 0) within the box, to half a slice step.
    const double tolerance = 0.5 * sl.spacing_mm[2];
    if (lo_n > tolerance || hi_n < -tolerance) return std::nullopt;
    // In pixel-index coordinates, as voxel boxes are, clipped to the slice.
    Box b{static_cast<float>(std::max(0.0, x1)), static_cast<float>(std::max(0.0, y1)),
          static_cast<float>(std::min<double>(sl.width, x2)), static_cast<float>(std::min<double>(sl.height, y2))};
    if (!(b.x2 > b.x1 && b.y2 > b.y1)) return std::nullopt;
    return b;
  }

  // ---- clinical CSV ------------------------------------------------------------

  Status read_clinical_csv(const fs::path& path) {
    CsvReader csv(path, options_.csv_separator);
    const size_t c_image = csv.require_column("image");
    const std::optional<size_t> c_all = csv.column("all");
    const size_t width = csv.header().size();
    CsvRow row;
    while (csv.next(row)) {
      ++report_.rows_read;
      try {
        if (row.fields.size() != width) {
          row_error(fmt::format("expected {} columns, got {}", width, row.fields.size()));
        }
        const std::string& study_id = row.fields[c_image];
        if (study_id.find('/') != std::string::npos || !is_safe_relative_path(study_id)) {
          row_error(fmt::format("study id \"{}\" escapes the data root (expected a study folder name)",
                                study_id));
        }
        if (!study_known(study_id)) row_error(fmt::format("unknown study '{}'", study_id));
        std::vector<ClinicalLabel> labels;
        for (size_t c = 0; c < width; ++c) {
          if (c == c_image || (c_all && c == *c_all)) continue;
          const std::string cell = lower_ascii(row.fields[c]);
          float value = std::numeric_limits<float>::quiet_NaN();
          if (!cell.empty() && cell != "nan") {
            auto v = parse_double(cell);
            if (!v) {
              if (const auto yes = parse_binary_label(cell)) v = *yes ? 1.0 : 0.0;  // CLEAR's true_labels
            }
            if (!v) row_error(fmt::format("{}: '{}' is neither a number nor no/yes", csv.header()[c], row.fields[c]));
            value = static_cast<float>(*v);
          }
          labels.push_back({csv.header()[c], value});
        }
        StudyWork& w = study(study_id, listing_.layout);
        if (w.clinical) {
          row_error(fmt::format("study '{}' already has clinical labels from line {}", study_id,
                                w.clinical_line));
        }
        w.clinical = std::move(labels);
        w.stratum = c_all ? row.fields[*c_all] : std::string();
        w.clinical_line = row.line;
      } catch (const RowError& e) {
        Status s = bad_row(csv.where(row), e.reason);
        if (!s.ok()) return s;
      }
    }
    return Status::Ok();
  }

  // ---- writing -----------------------------------------------------------------

  struct PatientState {
    PatientRecord record;
    PatientRecord stored;
    bool exists = false;
    bool dirty = false;
  };

  PatientState& patient(const std::string& id) {
    auto [it, inserted] = patients_.try_emplace(id);
    if (inserted) {
      auto r = index_.GetPatient(id);
      if (r.ok()) {
        it->second.record = r.value();
        it->second.stored = r.value();
        it->second.exists = true;
      } else {
        if (r.status().code() != StatusCode::kNotFound) throw_if_error(r.status());
        it->second.record.patient_id = id;
      }
    }
    return it->second;
  }

  void flush_patients(IndexBatch& batch) {
    for (const std::string& id : dirty_patients_) {
      PatientState& p = patients_.at(id);
      if (!(p.exists && p.record == p.stored)) {
        batch.PutPatient(p.record);
        p.stored = p.record;
        p.exists = true;
        ++report_.patients_written;
      }
      p.dirty = false;
    }
    dirty_patients_.clear();
  }

  void touch_patient(PatientState& p) {
    if (!p.dirty) {
      p.dirty = true;
      dirty_patients_.push_back(p.record.patient_id);
    }
  }

  Status write_batch(IndexBatch& batch) {
    flush_patients(batch);
    if (batch.operations() == 0) return Status::Ok();
    ++report_.batches;
    Status s = index_.Write(&batch);
    if (s.ok() && options_.on_batch && !options_.on_batch(report_)) {
      return Status::FailedPrecondition(fmt::format(
          "ingest cancelled after {} batches ({} studies written); rerun to complete it",
          report_.batches, report_.studies_written));
    }
    return s;
  }

  Status write_all() {
    std::vector<std::string> ids;
    ids.reserve(studies_.size());
    for (const auto& [id, w] : studies_) ids.push_back(id);
    std::sort(ids.begin(), ids.end());

    ProgressOptions po;
    po.label = "index";
    po.unit = "studies";
    po.enabled = options_.progress;
    ProgressBar bar(static_cast<int64_t>(ids.size()), po);
    IndexBatch batch = index_.NewBatch();
    for (const std::string& id : ids) {
      Status s = write_study(id, studies_.at(id), batch);
      if (!s.ok()) return s;
      bar.advance();
      if (batch.operations() >= options_.batch_operations) {
        s = write_batch(batch);
        if (!s.ok()) return s;
      }
    }
    Status s = put_meta_if_changed(batch, "layout", layout_name(listing_.layout));
    if (s.ok() && !options_.data_root_label.empty()) {
      s = put_meta_if_changed(batch, "data_root", options_.data_root_label);
    }
    if (s.ok()) s = write_batch(batch);
    bar.finish();
    return s;
  }

  Status put_meta_if_changed(IndexBatch& batch, const char* key, const std::string& value) {
    auto stored = index_.GetMeta(key);
    if (stored.ok() && stored.value() == value) return Status::Ok();
    if (!stored.ok() && stored.status().code() != StatusCode::kNotFound) return stored.status();
    batch.PutMeta(key, value);
    return Status::Ok();
  }

  struct Merged {
    SliceRecord record;
    const SliceRecord* stored = nullptr;
  };

  Status write_study(const std::string& study_id, StudyWork& w, IndexBatch& batch) {
    // Stored state.
    std::optional<StudyRecord> stored_study;
    {
      auto r = index_.GetStudy(study_id);
      if (r.ok()) {
        stored_study = std::move(r.value());
      } else if (r.status().code() != StatusCode::kNotFound) {
        return r.status();
      }
    }
    std::vector<SliceRecord> stored_slices;
    if (stored_study) {
      auto r = index_.SlicesOfStudy(study_id);
      if (!r.ok()) return r.status();
      stored_slices = std::move(r.value());
    }

    // A study named only by rejected rows has nothing to write.
    if (!stored_study && w.listed.empty()) return Status::Ok();
    ++report_.studies_touched;

    // Merge stored and listed slices in key order.
    std::vector<std::string> stored_keys;
    stored_keys.reserve(stored_slices.size());
    for (const auto& r : stored_slices) stored_keys.push_back(slice_key(r.id));
    std::vector<Merged> merged;
    std::vector<std::string> keys;
    merged.reserve(stored_slices.size() + w.listed.size());
    keys.reserve(merged.capacity());
    size_t a = 0, b = 0;
    while (a < stored_slices.size() || b < w.listed.size()) {
      const bool take_stored = b == w.listed.size() ||
                               (a < stored_slices.size() && stored_keys[a] <= w.listed[b].key);
      const bool take_listed = a == stored_slices.size() ||
                               (b < w.listed.size() && w.listed[b].key <= stored_keys[a]);
      Merged m;
      if (take_stored) {
        m.record = stored_slices[a];
        m.stored = &stored_slices[a];
        keys.push_back(std::move(stored_keys[a]));
        ++a;
      }
      if (take_listed) {
        const Listed& l = w.listed[b];
        if (!take_stored) {
          m.record.id = l.id;
          keys.push_back(l.key);
        }
        m.record.rel_path = l.file->rel_path;
        m.record.file_size = l.file->size;
        if (const auto& sc = l.file->scanner) {
          m.record.source = sc->source;
          m.record.frame = sc->frame;
          m.record.width = sc->width;
          m.record.height = sc->height;
          m.record.spacing_mm = sc->spacing_mm;
          m.record.slice_thickness_mm = sc->slice_thickness_mm;
        }
        ++b;
      }
      merged.push_back(std::move(m));
    }
    auto find = [&](const std::string& key) -> Merged* {
      auto it = std::lower_bound(keys.begin(), keys.end(), key);
      if (it == keys.end() || *it != key) return nullptr;
      return &merged[static_cast<size_t>(it - keys.begin())];
    };

    // Lesion information, when this run has a source for it.
    const bool lesion_source =
        options_.dl_info.has_value() || options_.lesion_csv.has_value() || options_.lesion_boxes.has_value();
    if (lesion_source) {
      for (Merged& m : merged) {
        m.record.lesion = false;
        m.record.lesion_boxes.clear();
      }
      std::map<std::string, std::array<int32_t, 2>> series_size;
      for (const LesionRecord& r : w.dl_rows) {
        Merged* m = find(slice_key(r.slice));
        RADCLEAR_CHECK(m != nullptr, "DL_info row for {} was checked to name a known slice", r.file_name);
        m->record.lesion = true;
        m->record.lesion_boxes.push_back(r.bounding_box);
        series_size[r.slice.series] = r.image_size;
      }
      for (Merged& m : merged) {
        auto it = series_size.find(m.record.id.series);
        if (it == series_size.end()) continue;
        m.record.width = static_cast<uint16_t>(it->second[0]);
        m.record.height = static_cast<uint16_t>(it->second[1]);
      }
      for (const ClearFlag& f : w.clear_flags) {
        Merged* m = find(f.key);
        RADCLEAR_CHECK(m != nullptr, "lesion CSV row was checked to name a known slice");
        m->record.lesion = m->record.lesion || f.present;
      }
      for (const SliceBox& sb : w.scanner_boxes) {
        Merged* m = find(sb.key);
        RADCLEAR_CHECK(m != nullptr, "lesion-box row was resolved to a listed slice");
        m->record.lesion = true;
        m->record.lesion_boxes.push_back(sb.box);
      }
    }

    // Slices.
    StudyRecord study;
    if (stored_study) study = *stored_study;
    study.study_id = study_id;
    if (!stored_study) study.layout = w.layout;
    study.slice_count = static_cast<uint32_t>(merged.size());
    study.lesion_slice_count = 0;
    std::set<std::string> series;
    for (const Merged& m : merged) {
      series.insert(m.record.id.series);
      if (m.record.lesion) ++study.lesion_slice_count;
      if (m.stored && *m.stored == m.record) {
        ++report_.slices_unchanged;
        continue;
      }
      ++(m.stored ? report_.slices_updated : report_.slices_new);
      batch.PutSlice(m.record);
    }
    study.series.assign(series.begin(), series.end());

    // Lesions (DL_info is authoritative for the studies of this run).
    if (options_.dl_info) {
      std::vector<LesionRecord> stored_lesions;
      if (stored_study) {
        auto r = index_.LesionsOfStudy(study_id);
        if (!r.ok()) return r.status();
        stored_lesions = std::move(r.value());
      }
      std::map<std::string, const LesionRecord*> old;
      for (const auto& r : stored_lesions) old[lesion_key(r.slice, r.ordinal)] = &r;
      for (const LesionRecord& r : w.dl_rows) {
        auto it = old.find(lesion_key(r.slice, r.ordinal));
        if (it != old.end()) {
          const bool same = *it->second == r;
          old.erase(it);
          if (same) continue;
        }
        batch.PutLesion(r);
        ++report_.lesions_written;
      }
      for (const auto& [key, r] : old) {
        batch.DeleteLesion(r->slice, r->ordinal);
        ++report_.lesions_deleted;
      }
      study.lesion_count = static_cast<uint32_t>(w.dl_rows.size());
      if (!w.dl_rows.empty()) {
        study.split = w.dl_rows.front().split;
        study.patient_age = w.dl_rows.front().patient_age;
      }
    }

    // Patient.
    if (study.layout == Layout::kDeepLesion) {
      study.patient_id = study_id.substr(0, study_id.find('_'));
    } else if (w.csv_patient) {
      study.patient_id = *w.csv_patient;
    } else if (!w.scanner_patient.empty()) {
      study.patient_id = w.scanner_patient;
    } else if (study.patient_id.empty()) {
      study.patient_id = study_id;
    }
    if (w.clinical) {
      study.clinical = *w.clinical;
      study.stratum = w.stratum;
    }
    if (stored_study && stored_study->patient_id != study.patient_id) {
      PatientState& old = patient(stored_study->patient_id);
      auto& ids = old.record.study_ids;
      ids.erase(std::remove(ids.begin(), ids.end(), study_id), ids.end());
      touch_patient(old);
    }
    PatientState& p = patient(study.patient_id);
    auto& ids = p.record.study_ids;
    auto pos = std::lower_bound(ids.begin(), ids.end(), study_id);
    if (pos == ids.end() || *pos != study_id) ids.insert(pos, study_id);
    for (const LesionRecord& r : w.dl_rows) {
      if (r.patient_gender != '?') {
        p.record.gender = r.patient_gender;
        break;
      }
    }
    touch_patient(p);

    if (!(stored_study && *stored_study == study)) {
      batch.PutStudy(study, stored_study ? &*stored_study : nullptr);
      ++report_.studies_written;
    }
    return Status::Ok();
  }

  SliceIndex& index_;
  const DataListing& listing_;
  const IngestOptions& options_;
  IngestReport& report_;
  std::unordered_map<std::string, StudyWork> studies_;
  std::optional<std::unordered_map<std::string, std::vector<SliceId>>> by_file_name_;
  std::unordered_map<std::string, PatientState> patients_;
  std::vector<std::string> dirty_patients_;
};

}  // namespace

Status ingest(SliceIndex& index, const DataListing& listing, const IngestOptions& options,
              IngestReport* report) {
  *report = IngestReport();
  return Ingester(index, listing, options, report).run();
}

}  // namespace radclear::storage
