// `radclear extract` (per-study feature files, one process or under mpirun)
// and `radclear features-stats` (feature sets and their completion).
#include <CLI/CLI.hpp>
#include <memory>

#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "cli/given_flags.h"
#include "cli/ranked.h"
#include "common/check.h"
#include "common/parallel.h"
#include "common/yaml_fields.h"
#include "storage/feature_index.h"
#include "storage/index.h"
#include "worker/comm/mpi_communicator.h"
#include "worker/extract/extractor.h"
#include "worker/extract/journal.h"

namespace radclear::cli {

Runner setup_extract(CLI::App& app) {
  struct Flags {
    worker::ExtractSpec spec;
    std::string config;
    bool no_strict = false, quiet = false;
  };
  auto f = std::make_shared<Flags>();
  auto& s = f->spec;
  app.add_option("--config", f->config, "YAML file with these settings (keys as the flags, '-' -> '_'); flags override it");
  app.add_option("--db", s.db, "RocksDB slice index (radclear index)");
  app.add_option("--data", s.data, "Data root the index's paths are relative to");
  app.add_option("--checkpoint", s.checkpoint,
                 "radclear or Python MoCo checkpoint (.pth.tar), or a bare encoder state dict (needs --arch)");
  app.add_option("--out", s.out, "Directory for <study>.h5 files and extract.yaml");
  app.add_option("--arch", s.arch, "Backbone (taken from a MoCo checkpoint when omitted)");
  app.add_option("--windows", s.windows, "CT windows, rows of a slice in this order (abdomen, lung, bone, mediastinum, W/L)")
      ->delimiter(',')
      ->default_str("the checkpoint's pretraining windows, else abdomen,lung");
  app.add_option("--split", s.splits, "Splits to extract: train, val, test, unknown (default: all studies)")
      ->delimiter(',');
  app.add_option("--batch-size", s.batch_size, "Rows per forward pass")->capture_default_str();
  app.add_option("--dtype", s.dtype, "On-disk feature type: float32 or float16")->capture_default_str();
  app.add_option("--image-size", s.image_size, "Encoder input size (0: the pretraining run's)")->capture_default_str();
  app.add_flag("--force", s.force, "Extract every study again, even finished ones");
  app.add_option("--workers", s.workers, "Decode threads per rank (0 = the rank's share of cores)")->capture_default_str();
  app.add_flag("--no-strict", f->no_strict, "Skip studies with unreadable slices instead of stopping");
  app.add_flag("--quiet", f->quiet, "No progress bar");
  app.footer(
      "Examples:\n"
      "  radclear extract --db idx --data data --checkpoint runs/a/vit_small-moco-lecl-1-run-checkpoint_0100.pth.tar "
      "--out feats\n"
      "  mpirun -np 4 radclear extract --config extract.yaml   # studies dealt to ranks by slice count\n"
      "A rerun skips finished studies (recorded in the index); see `radclear features-stats --db idx`.");
  return [f, &app] {
    worker::ExtractSpec spec;
    if (!f->config.empty()) spec.merge_yaml(load_yaml_file(f->config), f->config);
    spec.merge_yaml(given_flags(app, f->spec.to_yaml(), {{"split", "splits"}}), "command line");
    if (f->no_strict) spec.strict = false;
    spec.validate();

    return run_ranked([&](const MpiScope& mpi) {
      std::unique_ptr<worker::Communicator> comm =
          mpi.active() ? std::unique_ptr<worker::Communicator>(std::make_unique<worker::MpiCommunicator>())
                       : worker::make_local_communicator();
      worker::ExtractOptions options;
      options.show_progress = !f->quiet;
      options.threads_per_rank = std::max(1, hardware_threads() / std::max(1, MpiScope::local_world()));
      const auto r = worker::run_extract(spec, *comm, options);
      if (comm->rank() == 0) {
        spdlog::info("done: feature set {}: {} studies extracted ({} slices, {} rows of {} floats) in {:.1f} s, "
                     "{:.1f} slices/s; {} already done, {} failed; {} of {} studies finished",
                     r.set_id, r.studies_done, r.slices, r.rows, r.feature_dim, r.seconds, r.slices_per_second,
                     r.studies_skipped, r.studies_failed, r.studies_skipped + r.studies_done, r.studies_total);
      }
      for (const auto& study : r.failed_studies) spdlog::error("study {} was not extracted", study);
      return r.studies_failed > 0 ? 1 : 0;
    });
  };
}

Runner setup_features_stats(CLI::App& app) {
  auto db = std::make_shared<std::string>();
  app.add_option("--db", *db, "RocksDB slice index")->required();
  return [db] {
    storage::IndexOptions opts;
    opts.read_only = true;
    opts.create_if_missing = false;
    auto index = storage::SliceIndex::Open(*db, opts);
    throw_if_error(index.status());
    storage::FeatureIndex fi(*index.value());
    auto sets = fi.ListSets();
    throw_if_error(sets.status());
    if (sets.value().empty()) {
      std::printf("no feature sets in %s (run `radclear extract`)\n", db->c_str());
      return 0;
    }
    std::printf("%-16s  %-16s  %-15s  %-7s  %5s  %5s  %-17s  %s\n", "set", "arch", "windows", "dtype", "size", "dim",
                "done/total", "out");
    for (const auto& set : sets.value()) {
      auto shards = fi.ShardsOfSet(set.set_id);
      throw_if_error(shards.status());
      int64_t rows = 0, bytes = 0;
      for (const auto& [study, r] : shards.value()) {
        rows += r.rows;
        bytes += static_cast<int64_t>(r.file_size);
      }
      // Studies finished by a run that is still going (or was killed) are in
      // its journal until rank 0 moves them into the index.
      int64_t pending = 0;
      for (const auto& file : worker::journal_files(set.out_dir, set.set_id)) {
        pending += static_cast<int64_t>(worker::read_journal(file).size());
      }
      std::string windows;
      for (const auto& w : set.windows) windows += (windows.empty() ? "" : ",") + w;
      const std::string done = fmt::format("{}/{}{}", shards.value().size(), set.studies_total,
                                           pending > 0 ? fmt::format(" +{}", pending) : "");
      std::printf("%-16s  %-16s  %-15s  %-7s  %5lld  %5lld  %-17s  %s\n", set.set_id.c_str(), set.arch.c_str(),
                  windows.c_str(), set.dtype.c_str(), static_cast<long long>(set.image_size),
                  static_cast<long long>(set.dim), done.c_str(), set.out_dir.c_str());
      std::printf("%-16s  checkpoint %s (sha256 %.12s), %lld rows, %.1f MB, updated %s\n", "",
                  set.checkpoint_path.c_str(), set.checkpoint_sha256.c_str(), static_cast<long long>(rows),
                  static_cast<double>(bytes) / 1e6, set.updated_utc.c_str());
    }
    return 0;
  };
}

}  // namespace radclear::cli
