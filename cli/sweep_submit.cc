#include "cli/sweep_submit.h"

#include <set>

#include <fmt/format.h>

#include "common/check.h"
#include "coordinator/stage_payload.h"
#include "storage/index.h"

namespace radclear::cli {

namespace fs = std::filesystem;

namespace {

// The studies extraction covers (the splits of the first trial's extract
// spec) and their slice counts.
Result<std::vector<coordinator::StudySize>> study_sizes(const coordinator::SweepSpec& spec,
                                                        const coordinator::ResolvedTrial& trial) {
  try {
    const auto extract = coordinator::trial_extract_spec(spec.data, trial.stages);
    storage::IndexOptions io;
    io.read_only = true;
    auto index = storage::SliceIndex::Open(extract.db, io);
    if (!index.ok()) return index.status();
    std::vector<coordinator::StudySize> sizes;
    auto add = [&](std::optional<stages::Split> split) -> Status {
      auto studies = index.value()->ListStudies(split);
      if (!studies.ok()) return studies.status();
      for (const auto& s : studies.value()) sizes.push_back({s.study_id, s.slice_count});
      return Status::Ok();
    };
    if (extract.splits.empty()) {
      if (Status s = add(std::nullopt); !s.ok()) return s;
    }
    for (const auto split : extract.splits) {
      if (Status s = add(split); !s.ok()) return s;
    }
    return sizes;
  } catch (const Error& e) {
    return e.to_status();
  }
}

}  // namespace

Result<PreparedSweep> prepare_sweep(const fs::path& file) {
  auto spec = coordinator::load_sweep(file);
  if (!spec.ok()) return spec.status();
  PreparedSweep p;
  p.spec = std::move(spec).value();
  auto data = coordinator::absolute_data(p.spec.data, fs::current_path());
  if (!data.ok()) return data.status();
  p.spec.data = data.value();
  if (!p.spec.data["out"]) {
    return Status::InvalidArgument(fmt::format("{}: data.out (the directory every job's outputs go under) is required",
                                               file.string()));
  }
  p.out = p.spec.data["out"].as<std::string>();
  auto trials = coordinator::expand_trials(p.spec);
  if (!trials.ok()) return trials.status();
  std::vector<coordinator::Shard> shards;
  if (p.spec.stages.count(coordinator::Stage::kExtract) && !trials.value().empty()) {
    auto splits_of = [](const coordinator::ResolvedTrial& t) {
      const YAML::Node n = t.stages.at(coordinator::Stage::kExtract)["splits"];
      return n ? YAML::Dump(n) : std::string();
    };
    for (const auto& t : trials.value()) {
      if (splits_of(t) != splits_of(trials.value()[0])) {
        return Status::InvalidArgument(fmt::format(
            "{}: extract.splits may not vary between trials (the shards are cut once per sweep)", file.string()));
      }
    }
    auto sizes = study_sizes(p.spec, trials.value()[0]);
    if (!sizes.ok()) return sizes.status();
    if (sizes.value().empty()) {
      return Status::InvalidArgument(fmt::format("{}: the index has no studies to extract", file.string()));
    }
    shards = coordinator::balance_shards(std::move(sizes).value(), p.spec.extract_shards);
  }
  auto sub = coordinator::build_submission(p.spec, trials.value(), shards, coordinator::stage_payload);
  if (!sub.ok()) return sub.status();
  p.submission = std::move(sub).value();
  std::set<std::string> ids;
  for (const auto& t : p.submission.trials)
    for (const auto& j : t.jobs) ids.insert(j.id());
  p.jobs = ids.size();
  return p;
}

}  // namespace radclear::cli
