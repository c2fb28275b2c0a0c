// run_index: a data root into the RocksDB slice index (storage/ingest.h).
#include <fmt/format.h>

#include "storage/ingest.h"
#include "worker/runner/stages.h"

namespace radclear::runner {

Result<StageReport> run_index(const stages::IndexSpec& spec, stages::RankContext& ctx) {
  return guarded([&]() -> Result<StageReport> {
    spec.validate();
    StageReport report;
    report.stage = stages::IndexSpec::kStage;
    if (!ctx.is_root()) return report;  // RocksDB has one writer
    storage::IndexRunOptions options;
    options.progress = ctx.show_progress;
    options.cancel = ctx.cancel;
    storage::IndexRunReport run;
    if (Status s = storage::run_index(spec, options, &run); !s.ok()) return s;
    const storage::IngestReport& r = run.ingest;
    if (run.cancelled) report.outcome = stages::Outcome::kCancelled;
    report.summary = fmt::format(
        "indexed {} ({} layout) into {} in {:.2f} s{}\n"
        "  files listed {} (ignored {}), studies touched {} (written {})\n"
        "  slices new {}, updated {}, unchanged {}\n"
        "  lesions written {}, deleted {}; patients written {}; batches {}\n"
        "  CSV rows read {}, bad rows skipped {}",
        !spec.dicom.empty() ? spec.dicom.string() : !spec.nifti.empty() ? spec.nifti : spec.data_root.string(),
        storage::layout_name(r.layout), spec.db.string(), r.seconds,
        run.cancelled ? " (cancelled: a rerun finishes the rest)" : "", r.files_listed, r.files_ignored,
        r.studies_touched, r.studies_written, r.slices_new, r.slices_updated, r.slices_unchanged, r.lesions_written,
        r.lesions_deleted, r.patients_written, r.batches, r.rows_read, r.bad_rows);
    if (!r.skipped.empty()) {
      report.summary += "\n  left out (DICOM/NIfTI):";
      for (const auto& [reason, n] : r.skipped) report.summary += fmt::format(" {} {};", reason, n);
      report.summary.pop_back();
    }
    if (run.verify) {
      const storage::VerifyReport& v = *run.verify;
      report.summary += fmt::format("\nverify: {} files checked, {} missing, {} with another size", v.checked,
                                    v.missing, v.size_mismatch);
      for (const auto& p : v.problems) report.summary += "\n  " + p;
      report.failed_items = v.missing + v.size_mismatch;
    }
    return report;
  });
}

}  // namespace radclear::runner
