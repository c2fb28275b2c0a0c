// `radclear index` and `radclear index-stats`: build and inspect the RocksDB
// slice index (storage/index.h, storage/ingest.h).
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/exit_code.h"
#include "cli/launch.h"
#include "cli/spec_flags.h"
#include "common/logging.h"
#include "stages/index_spec.h"
#include "storage/index.h"

namespace radclear::cli {

namespace {

int fail(const Status& s) {
  spdlog::error("{}", s.to_string());
  return exit_code(s);
}

}  // namespace

Runner setup_index(CLI::App& app) {
  auto flags = std::make_shared<SpecFlags<stages::IndexSpec>>(app);
  auto quiet = std::make_shared<bool>(false);
  app.add_flag("--quiet", *quiet, "No progress bar");
  app.footer(
      "Examples:\n"
      "  radclear index --data data/synth --db data/synth.index --dl-info data/synth/DL_info.csv\n"
      "  radclear index --data clear_root --db clear.index --lesion-csv lesions.csv --clinical clinical.csv\n"
      "  radclear index --dicom scans/ --db scans.index [--lesion-boxes boxes.csv --box-space patient]\n"
      "  radclear index --nifti 'volumes/*.nii.gz' --db vols.index\n"
      "DICOM/NIfTI slices are read in place: pretrain/extract take --data scans/ (the folder the index's paths are\n"
      "relative to). Files or series that are not axial CT are counted by reason and skipped (--strict: fatal).\n"
      "Re-running is idempotent; a run over a grown directory adds only what is new.\n");
  return [flags, quiet] { return launch(flags->resolve(), {*quiet}); };
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
