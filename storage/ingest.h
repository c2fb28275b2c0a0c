#pragma once
// Ingest of a data root into the slice index (`radclear index`), and
// `--verify`.
//
// Layouts (reference.md §1):
//   DeepLesion  <root>/Images_png/<patient>_<study>_<series>/<slice>.png
//               + DL_info.csv (one row per lesion, 18 columns, all typed)
//               study id = the folder "<patient>_<study>_<series>" (one CT
//               volume, so z order is meaningful), series "<series>",
//               patient "<patient>".
//   CLEAR       <root>/<study>/<slice>.png (also .jpg/.jpeg)
//               + lesion CSV `image,lesion_present[,patient_id]`; image
//                 is `<study>/<file>`, a bare `<file>` found under
//                 patient_id/ or in one study, or CLEAR's README spelling
//                 `<study>_<file>` (patient_001_slice_001.png for
//                 patient_001/slice_001.png); lesion_present 0/1 or no/yes
//               + clinical CSV `image,<label>...[,all]` (image = study id;
//                 labels 0/1 or no/yes, CLEAR's true_labels)
//               Both CSVs may use another separator (csv_separator).
//
// How a run works:
//   1. List the data root (or take an in-memory listing).
//   2. Parse and check every CSV row before anything is written. A bad row
//      (wrong column count, a number that is not one, a box outside the
//      image, an unknown slice or study, a path that escapes the data root)
//      is reported as "file:line: reason"; with `strict` the run stops with
//      Corruption and writes nothing, otherwise the row is skipped and
//      counted. When every row of a lesion source fails (a naming
//      mismatch, not a few bad rows) the run is InvalidArgument naming the
//      file and its first bad rows, and nothing is written.
//   3. For each study touched (listed, or named by a CSV), merge the stored
//      records with what was listed and parsed and write only records whose
//      bytes change. Each study's records (slices, lesions, study, patient)
//      go into the same WriteBatch, so a crash leaves every study either as
//      before or fully updated; a rerun completes the rest.
// Hence re-running is idempotent (a second identical run writes nothing),
// a run over a grown directory adds only the new slices, and slices already
// indexed but not listed now are kept (use verify to find vanished files).
// A lesion source given in a run (DL_info / lesion CSV) is authoritative for
// the lesion flags, boxes and lesions of every study that run touches; a
// run without one keeps the stored lesion information.
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/cancel.h"
#include "common/status.h"
#include "stages/index_spec.h"
#include "storage/index.h"
#include "storage/records.h"

namespace radclear::storage {

using stages::LayoutChoice;  // auto | deeplesion | clear (stages/enums.h)

// A slice of a DICOM series or NIfTI volume (storage/scanner_listing.h):
// its identity, decoder and geometry, known from the headers at listing.
struct ScannerSlice {
  SliceId id;
  std::string patient_id;              // DICOM PatientID; NIfTI: the folder or file stem
  SliceSource source = SliceSource::kDicomFrame;
  uint32_t frame = 0;
  uint16_t width = 0, height = 0;      // columns, rows
  std::array<float, 3> spacing_mm{};   // column, row, slice-to-slice
  float slice_thickness_mm = 0;
  // Patient frame (LPS mm) of pixel (column 0, row 0) and the unit vectors
  // along a row (+column) and down a column (+row): the lesion-box CSV's
  // patient coordinates are mapped through them.
  std::array<double, 3> origin{};
  std::array<double, 3> column_dir{};
  std::array<double, 3> row_dir{};
};

// One image file (or DICOM/NIfTI slice) under the data root.
struct ListedFile {
  std::string rel_path;  // '/'-separated, relative to the data root
  uint64_t size = 0;     // bytes
  std::optional<ScannerSlice> scanner = std::nullopt;  // set for the DICOM and NIfTI layouts
};

struct DataListing {
  Layout layout = Layout::kClear;
  std::vector<ListedFile> files;
  int64_t ignored = 0;   // entries that are not slices of the layout (other depth, extension)
  // DICOM/NIfTI files or series left out, by reason ("localizer", "gantry
  // tilt", ...): counted in files for file reasons, in series for series
  // reasons (the reason says which).
  std::map<std::string, int64_t> skipped;
};

// Lists the slices under `root`, sorted by path, statting the folders on
// `threads` threads (<= 0: all cores). kAuto picks DeepLesion when
// root/Images_png is a directory, CLEAR otherwise. OK: the listing (possibly
// empty). NotFound: root is not a directory. IoError: a directory could not
// be read.
Result<DataListing> list_data_root(const std::filesystem::path& root, LayoutChoice choice,
                                   int threads = 0);

// A rejected input row, "DL_info.csv:12" + why.
struct BadRow {
  std::string where;
  std::string reason;
};

struct IngestReport;

struct IngestOptions {
  // Lesion sources and labels (absent: not used this run).
  std::optional<std::filesystem::path> dl_info;      // DeepLesion DL_info.csv
  std::optional<std::filesystem::path> lesion_csv;   // CLEAR image,lesion_present,patient_id
  std::optional<std::filesystem::path> clinical_csv; // CLEAR image,<labels...>
  // DICOM/NIfTI lesion boxes: study,x1,y1,z1,x2,y2,z2[,series] in box_space.
  std::optional<std::filesystem::path> lesion_boxes;
  stages::BoxSpace box_space = stages::BoxSpace::kVoxel;
  // Field separator of the lesion and clinical CSVs (DL_info.csv is always
  // comma-separated). Default: ','
  char csv_separator = ',';
  // A bad row (or rejected listing entry) is fatal. Default: false (skip and count).
  bool strict = false;
  // Flush a WriteBatch once it holds this many record writes (whole studies
  // only, so a batch may hold more). Default: 50000.
  size_t batch_operations = 50000;
  // Show a progress bar on stderr. Default: false.
  bool progress = false;
  // Stored in meta as the data root of the last ingest ("" = leave as is).
  std::string data_root_label;
  // Progress/cancel hook: called after each WriteBatch is applied, with the
  // report so far. Returning false stops the run, which then returns
  // FailedPrecondition ("cancelled"); every study written so far is
  // complete and a rerun finishes the rest. Default: none.
  std::function<bool(const IngestReport&)> on_batch;
};

struct IngestReport {
  Layout layout = Layout::kClear;
  int64_t files_listed = 0;
  int64_t files_ignored = 0;      // listing entries that are not slices (see DataListing)
  std::map<std::string, int64_t> skipped;  // DICOM/NIfTI input left out, by reason (DataListing)
  int64_t studies_touched = 0;
  int64_t studies_written = 0;    // new or changed study records
  int64_t slices_new = 0;
  int64_t slices_updated = 0;     // size, path or lesion information changed
  int64_t slices_unchanged = 0;
  int64_t lesions_written = 0;
  int64_t lesions_deleted = 0;
  int64_t patients_written = 0;
  int64_t rows_read = 0;          // CSV data rows over all CSVs
  int64_t bad_rows = 0;
  std::vector<BadRow> bad_row_list;  // every bad row (also logged, the first 20)
  int64_t batches = 0;
  double seconds = 0;
};

// Ingests `listing` (paths relative to the data root) and the CSVs into a
// writable index. OK: every good row and listed slice is in the index and
// `*report` says what changed. Corruption: a bad row with strict (nothing was
// written). InvalidArgument: a lesion source none of whose rows could be
// used (nothing was written). FailedPrecondition: the index is read-only. IoError: a write
// failed (the index holds every batch written before it).
Status ingest(SliceIndex& index, const DataListing& listing, const IngestOptions& options,
              IngestReport* report);

struct VerifyReport {
  int64_t checked = 0;
  int64_t missing = 0;
  int64_t size_mismatch = 0;
  std::vector<std::string> problems;  // the first 100, "rel/path: missing" or sizes
  bool ok() const { return missing == 0 && size_mismatch == 0; }
};

// Checks the index's own files (SliceIndex::VerifyChecksums), then that
// every indexed slice exists under `root` with its indexed size. OK: the
// check ran (see report->ok()). Corruption: the index's files are damaged.
// Other codes: the index could not be read.
Status verify_files(const SliceIndex& index, const std::filesystem::path& root, int threads,
                    VerifyReport* report);

// ---- the stage ---------------------------------------------------------------

// `radclear index` as a library call.
// The settings of `radclear index`, declared once in stages/index_spec.h.
using stages::IndexSpec;

struct IndexRunOptions {
  bool progress = true;  // progress bar on stderr
  // Checked after each WriteBatch; a cancelled run returns OK with
  // IndexRunReport::cancelled set, every study written so far complete.
  CancelToken cancel;
};

struct IndexRunReport {
  IngestReport ingest;
  bool cancelled = false;
  std::optional<VerifyReport> verify;
};

// Lists, opens the index for writing (creating it), ingests, and verifies
// when asked. InvalidArgument: a required path is missing or a CSV does not
// exist. Other codes as ingest() / SliceIndex::Open().
Status run_index(const IndexSpec& spec, const IndexRunOptions& options, IndexRunReport* report);

// ---- helpers (exposed for tests) ---------------------------------------------

// False when a '/'-separated relative path is absolute, empty, or has an
// empty, "." or ".." component (or a backslash), i.e. may escape the root.
bool is_safe_relative_path(std::string_view rel);
// The slice identity of a listed path, or nullopt when the path is not a
// slice of `layout` (wrong depth, folder name, extension).
std::optional<SliceId> slice_id_from_path(std::string_view rel_path, Layout layout);
// The DeepLesion folder that holds the study folders.
inline constexpr std::string_view kDeepLesionImages = "Images_png";
// ASCII lower case ("PNG" -> "png").
std::string lower_ascii(std::string_view s);
// DeepLesion's folder "<patient>_<study>_<series>" -> its three parts; false
// when it has fewer than two underscores.
bool parse_deeplesion_folder(std::string_view dir, std::string_view parts[3]);

}  // namespace radclear::storage
