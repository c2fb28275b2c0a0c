// run_index: list, ingest and verify, as `radclear index` runs them.
#include "storage/ingest.h"
#include "storage/scanner_listing.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace radclear::storage {

namespace fs = std::filesystem;

// ---- the stage -----------------------------------------------------------------

Status run_index(const IndexSpec& spec, const IndexRunOptions& run, IndexRunReport* report) {
  *report = IndexRunReport();
  const int sources = !spec.data_root.empty() + !spec.dicom.empty() + !spec.nifti.empty();
  if (sources != 1) return Status::InvalidArgument("give exactly one of --data, --dicom or --nifti");
  if (spec.db.empty()) return Status::InvalidArgument("--db is required");
  for (const auto* csv : {&spec.dl_info, &spec.lesion_csv, &spec.clinical_csv, &spec.lesion_boxes}) {
    std::error_code ec;
    if (!csv->empty() && !fs::is_regular_file(*csv, ec)) {
      return Status::InvalidArgument(fmt::format("CSV {} does not exist", csv->string()));
    }
  }
  if ((!spec.dicom.empty() || !spec.nifti.empty()) && (!spec.dl_info.empty() || !spec.lesion_csv.empty())) {
    return Status::InvalidArgument(
        "--dl-info and --lesion-csv name PNG slices; DICOM/NIfTI studies take their boxes from --lesion-boxes");
  }
  Result<DataListing> listing = Status::Ok();
  fs::path root = spec.data_root;
  ScannerListOptions scanner;
  scanner.strict = spec.strict;
  scanner.threads = spec.threads;
  if (!spec.dicom.empty()) {
    root = spec.dicom;
    listing = list_dicom_root(root, scanner);
  } else if (!spec.nifti.empty()) {
    listing = list_nifti(spec.nifti, scanner, &root);
  } else {
    LayoutChoice choice = spec.layout;
    if (choice == LayoutChoice::kAuto && !spec.dl_info.empty()) choice = LayoutChoice::kDeepLesion;
    listing = list_data_root(root, choice, spec.threads);
  }
  if (!listing.ok()) return listing.status();
  int64_t skipped = 0;
  for (const auto& [reason, n] : listing->skipped) skipped += n;
  spdlog::info("{}: {} slices ({} layout), {} other entries ignored, {} files or series left out", root.string(),
               listing->files.size(), layout_name(listing->layout), listing->ignored, skipped);

  IndexOptions io;
  io.bulk_load = true;
  auto index = SliceIndex::Open(spec.db, io);
  if (!index.ok()) return index.status();

  IngestOptions options;
  auto given = [](const fs::path& p) { return p.empty() ? std::nullopt : std::make_optional(p); };
  options.dl_info = given(spec.dl_info);
  options.lesion_csv = given(spec.lesion_csv);
  options.clinical_csv = given(spec.clinical_csv);
  options.lesion_boxes = given(spec.lesion_boxes);
  options.box_space = spec.box_space;
  options.strict = spec.strict;
  options.csv_separator = parse_csv_separator(spec.csv_separator, "index: csv_separator");
  options.progress = run.progress;
  options.on_batch = [&run](const IngestReport&) { return !run.cancel.requested(); };
  std::error_code ec;
  options.data_root_label = fs::absolute(root, ec).lexically_normal().string();
  Status s = ingest(*index.value(), listing.value(), options, &report->ingest);
  if (!s.ok() && run.cancel.requested()) {
    report->cancelled = true;  // every study written so far is complete; a rerun finishes the rest
    return index.value()->Flush();
  }
  if (!s.ok()) return s;
  s = index.value()->Flush();
  if (!s.ok()) return s;
  if (spec.verify) {
    VerifyReport v;
    s = verify_files(*index.value(), root, spec.threads, &v);
    if (!s.ok()) return s;
    report->verify = std::move(v);
  }
  return Status::Ok();
}

}  // namespace radclear::storage
