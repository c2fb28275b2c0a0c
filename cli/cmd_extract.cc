// `radclear extract` (per-study feature files, one process or under mpirun)
// and `radclear features-stats` (feature sets and their completion).
#include <CLI/CLI.hpp>
#include <filesystem>
#include <memory>

#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "cli/exit_code.h"
#include "cli/launch.h"
#include "cli/spec_flags.h"
#include "common/check.h"
#include "common/parallel.h"
#include "common/sha256.h"
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

namespace {

// What is wrong with a finished study's file, "" when it is the file that
// was written (size and SHA-256 as recorded).
std::string check_feature_file(const std::filesystem::path& file, const storage::FeatureShardRecord& r) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return "is missing";
  const auto size = std::filesystem::file_size(file, ec);
  if (ec) return fmt::format("cannot be read: {}", ec.message());
  if (size != r.file_size) return fmt::format("has {} bytes, {} were written", size, r.file_size);
  try {
    if (sha256_file(file) != r.file_sha256) return "has changed since it was written (SHA-256 differs)";
  } catch (const Error& e) {
    return fmt::format("cannot be read: {}", e.what());
  }
  return "";
}

// Rechecks every finished study's file of every set; returns the number
// that fail, after naming them.
int64_t verify_feature_files(storage::FeatureIndex& fi, const std::vector<storage::FeatureSetRecord>& sets) {
  int64_t checked = 0, bad = 0;
  for (const auto& set : sets) {
    auto shards = fi.ShardsOfSet(set.set_id);
    throw_if_error(shards.status());
    std::vector<const storage::FeatureShardRecord*> records;
    for (const auto& [study, r] : shards.value()) records.push_back(&r);
    std::vector<std::string> problem(records.size());
    parallel_for(static_cast<int64_t>(records.size()), 0, [&](int64_t i) {
      problem[i] = check_feature_file(std::filesystem::path(set.out_dir) / records[i]->file, *records[i]);
    });
    for (size_t i = 0; i < records.size(); ++i) {
      if (problem[i].empty()) continue;
      ++bad;
      std::printf("%s %s (study %s of set %s)\n",
                  (std::filesystem::path(set.out_dir) / records[i]->file).c_str(), problem[i].c_str(),
                  records[i]->study_id.c_str(), set.set_id.c_str());
    }
    checked += static_cast<int64_t>(records.size());
  }
  std::printf("verify: %lld feature files checked (size and SHA-256 against the index), %lld failed\n",
              static_cast<long long>(checked), static_cast<long long>(bad));
  if (bad > 0) {
    std::printf("rerun the same `radclear extract` command: it extracts again every study whose file no longer "
                "matches\n");
  }
  return bad;
}

}  // namespace

Runner setup_features_stats(CLI::App& app) {
  auto db = std::make_shared<std::string>();
  auto verify = std::make_shared<bool>(false);
  app.add_option("--db", *db, "RocksDB slice index")->required();
  app.add_flag("--verify", *verify,
               "Recompute every finished study's feature file SHA-256 and compare it with the index; exit 1 when "
               "any is missing or differs");
  return [db, verify] {
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
    if (*verify && verify_feature_files(fi, sets.value()) > 0) return kExitFailed;
    return 0;
  };
}

}  // namespace radclear::cli
