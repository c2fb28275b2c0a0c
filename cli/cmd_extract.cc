// `radclear extract` (per-study feature files, one process or under mpirun)
// and `radclear features-stats` (feature sets and their completion).
#include <CLI/CLI.hpp>
#include <memory>

#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "cli/launch.h"
#include "cli/spec_flags.h"
#include "common/check.h"
#include "stages/extract_spec.h"
#include "storage/feature_index.h"
#include "storage/index.h"
#include "worker/extract/journal.h"

namespace radclear::cli {

Runner setup_extract(CLI::App& app) {
  auto flags = std::make_shared<SpecFlags<stages::ExtractSpec>>(app);
  auto quiet = std::make_shared<bool>(false);
  app.add_flag("--quiet", *quiet, "No progress bar");
  app.footer(
      "Examples:\n"
      "  radclear extract --db idx --data data --checkpoint runs/a/vit_small-moco-lecl-1-run-checkpoint_0100.pth.tar "
      "--out feats\n"
      "  mpirun -np 4 radclear extract --config extract.yaml   # studies dealt to ranks by slice count\n"
      "A rerun skips finished studies (recorded in the index); see `radclear features-stats --db idx`.");
  return [flags, quiet] { return launch(flags->resolve(), {*quiet}); };
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
