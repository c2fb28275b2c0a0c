// `radclear index` and `radclear index-stats`: build and inspect the RocksDB
// slice index (storage/index.h, storage/ingest.h).
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "common/logging.h"
#include "storage/index.h"
#include "storage/ingest.h"

namespace radclear::cli {

namespace {

// Only the CLI maps a Status to an exit code: bad input 2, failed work 1.
int exit_code(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk: return 0;
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kCorruption: return 2;
    default: return 1;
  }
}

int fail(const Status& s) {
  spdlog::error("{}", s.to_string());
  return exit_code(s);
}

}  // namespace

Runner setup_index(CLI::App& app) {
  struct Flags {
    storage::IndexSpec spec;
    std::string layout = "auto";
    std::string dl_info, lesion_csv, clinical;
    bool quiet = false;
  };
  auto f = std::make_shared<Flags>();
  app.add_option("--data", f->spec.data_root, "Data root: DeepLesion (holds Images_png/) or CLEAR (<study>/<slice>.png)")
      ->required();
  app.add_option("--db", f->spec.db, "Index directory (RocksDB); created when missing")->required();
  app.add_option("--dl-info", f->dl_info, "DeepLesion DL_info.csv (lesion boxes, splits)");
  app.add_option("--lesion-csv", f->lesion_csv, "CLEAR lesion CSV: image,lesion_present,patient_id");
  app.add_option("--clinical", f->clinical, "CLEAR clinical CSV: image,<labels...>[,all] (image = study id)");
  app.add_option("--layout", f->layout, "Data layout")
      ->check(CLI::IsMember({"auto", "deeplesion", "clear"}))
      ->capture_default_str();
  app.add_flag("--strict", f->spec.strict, "A bad CSV row is fatal (default: skip it and count it)");
  app.add_flag("--verify", f->spec.verify, "After ingest, check every indexed file exists with its size");
  app.add_option("--threads", f->spec.threads, "Threads for listing and --verify (0 = all cores)")
      ->capture_default_str();
  app.add_flag("--quiet", f->quiet, "No progress bar");
  app.footer(
      "Examples:\n"
      "  radclear index --data data/synth --db data/synth.index --dl-info data/synth/DL_info.csv\n"
      "  radclear index --data clear_root --db clear.index --lesion-csv lesions.csv --clinical clinical.csv\n"
      "Re-running is idempotent; a run over a grown directory adds only what is new.\n");
  return [f] {
    storage::IndexSpec spec = f->spec;
    if (!f->dl_info.empty()) spec.dl_info = f->dl_info;
    if (!f->lesion_csv.empty()) spec.lesion_csv = f->lesion_csv;
    if (!f->clinical.empty()) spec.clinical_csv = f->clinical;
    spec.layout = f->layout == "deeplesion" ? storage::LayoutChoice::kDeepLesion
                  : f->layout == "clear"    ? storage::LayoutChoice::kClear
                                            : storage::LayoutChoice::kAuto;
    spec.progress = !f->quiet;
    storage::IndexRunReport report;
    Status s = storage::run_index(spec, &report);
    if (!s.ok()) return fail(s);
    const storage::IngestReport& r = report.ingest;
    std::cout << fmt::format(
        "indexed {} ({} layout) into {} in {:.2f} s\n"
        "  files listed {} (ignored {}), studies touched {} (written {})\n"
        "  slices new {}, updated {}, unchanged {}\n"
        "  lesions written {}, deleted {}; patients written {}; batches {}\n"
        "  CSV rows read {}, bad rows skipped {}\n",
        spec.data_root.string(), storage::layout_name(r.layout), spec.db.string(), r.seconds,
        r.files_listed, r.files_ignored, r.studies_touched, r.studies_written, r.slices_new,
        r.slices_updated, r.slices_unchanged, r.lesions_written, r.lesions_deleted,
        r.patients_written, r.batches, r.rows_read, r.bad_rows);
    if (report.verify) {
      const storage::VerifyReport& v = *report.verify;
      std::cout << fmt::format("verify: {} files checked, {} missing, {} with another size\n",
                               v.checked, v.missing, v.size_mismatch);
      for (const auto& p : v.problems) std::cout << "  " << p << "\n";
      if (!v.ok()) return 1;
    }
    return 0;
  };
}

Runner setup_index_stats(CLI::App& app) {
  struct Flags {
    std::string db;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  app.add_option("--db", f->db, "Index directory")->required();
  app.add_flag("--json", f->json, "Print the counts as JSON");
  return [f] {
    storage::IndexOptions options;
    options.read_only = true;
    auto index = storage::SliceIndex::Open(f->db, options);
    if (!index.ok()) return fail(index.status());
    auto stats = index.value()->Stats();
    if (!stats.ok()) return fail(stats.status());
    const storage::IndexStats& st = stats.value();
    nlohmann::ordered_json j;
    j["patients"] = st.patients;
    j["studies"] = st.studies;
    j["slices"] = st.slices;
    j["lesion_slices"] = st.lesion_slices;
    j["lesions"] = st.lesions;
    nlohmann::ordered_json by_type = nlohmann::ordered_json::object();
    for (const auto& [type, n] : st.lesions_by_type) by_type[storage::coarse_type_name(type)] = n;
    j["lesions_by_type"] = by_type;
    auto by_split = [](const std::map<storage::Split, int64_t>& m) {
      nlohmann::ordered_json o = nlohmann::ordered_json::object();
      for (const auto& [split, n] : m) o[storage::split_name(split)] = n;
      return o;
    };
    j["lesions_by_split"] = by_split(st.lesions_by_split);
    j["studies_by_split"] = by_split(st.studies_by_split);
    j["slices_by_split"] = by_split(st.slices_by_split);
    if (f->json) {
      std::cout << j.dump(2) << "\n";
      return 0;
    }
    std::cout << fmt::format("index {}\n  patients {}\n  studies {}\n  slices {}\n  lesion slices {}\n  lesions {}\n",
                             f->db, st.patients, st.studies, st.slices, st.lesion_slices, st.lesions);
    for (const char* group : {"lesions_by_type", "lesions_by_split", "studies_by_split", "slices_by_split"}) {
      std::cout << "  " << group << ":";
      for (const auto& [name, n] : j[group].items()) std::cout << " " << name << "=" << n.get<int64_t>();
      std::cout << "\n";
    }
    return 0;
  };
}

}  // namespace radclear::cli
