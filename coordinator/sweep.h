#pragma once
// Sweeps: a YAML file of stage specs plus a grid (or list) over any of
// their fields becomes trials, and each trial a job DAG:
//
//   pretrain (gang) -> extract, one job per shard -> crossval, one job per fold -> report
//
// The coordinator does not know what a spec contains: a stage's spec is a
// YAML mapping (the keys of that command's --config), overridden at dotted
// paths ("pretrain.lr", "crossval.mil.model") and turned into a payload by a
// PayloadFn. Jobs whose stage, payload and inputs are equal are one job
// (the content key), so two trials that differ only in the MIL head share
// their pretraining and extraction.
//
// Sweep YAML:
//   name: lr-sweep                       # the sweep id
//   data: {index: data/synth.index, root: data/synth, clinical: data/synth/clinical.csv, out: runs/lr-sweep}
//   stages:
//     pretrain: {arch: vit_small, lr: 1.5e-4, epochs: 10}
//     extract:  {windows: [abdomen, lung]}
//     crossval: {model: abmil, folds: 5}
//   grid:                                # every combination, first key slowest
//     pretrain.lr: [1.0e-4, 3.0e-4]
//     crossval.model: [abmil, pma]
//   # or list: [{pretrain.lr: 1.0e-4}, {pretrain.lr: 3.0e-4, crossval.model: pma}]
//   pretrain_ranks: 2                    # gang size a pretrain job needs (default 1)
//   extract_shards: 8                    # extraction jobs per feature set (default 8)
//   max_attempts: 3                      # per job (default: the coordinator's)
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "common/status.h"
#include "coordinator/job.h"
#include "coordinator/scheduler.h"

namespace radclear::coordinator {

// One axis of a grid, or one field of a list point.
struct Override {
  std::string path;  // "pretrain.lr": a stage name, then keys
  YAML::Node value;
};

struct SweepSpec {
  std::string name;
  YAML::Node data;                       // copied into every payload
  std::map<Stage, YAML::Node> stages;    // the base spec of each stage
  std::vector<std::pair<std::string, std::vector<YAML::Node>>> grid;  // path -> values, in file order
  std::vector<std::vector<Override>> list;
  int pretrain_ranks = 1;
  int extract_shards = 8;  // shard jobs per feature set (fewer when there are fewer studies)
  int max_attempts = 0;
};

// InvalidArgument names the file (or `context`) and the key at fault:
// unknown top-level keys, an unknown stage, a grid axis that is not a
// non-empty sequence, both grid and list, a path whose stage is absent.
Result<SweepSpec> parse_sweep(const YAML::Node& root, const std::string& context);
Result<SweepSpec> load_sweep(const std::filesystem::path& path);

// A point of the sweep: each stage's spec with the overrides applied.
struct ResolvedTrial {
  std::string id;                      // "t000", "t001", ... in expansion order
  std::vector<std::string> overrides;  // "pretrain.lr=0.0003"
  std::map<Stage, YAML::Node> stages;
};

// Every grid combination (or list point; one trial when neither is given).
Result<std::vector<ResolvedTrial>> expand_trials(const SweepSpec& spec);

// A study and its slice count, for sharding extraction.
struct StudySize {
  std::string study;
  int64_t slices = 0;
};
struct Shard {
  std::vector<std::string> studies;  // in the input's order
  int64_t slices = 0;
};
// `n` shards of about equal slice counts (largest study first onto the
// lightest shard; ties to the lower shard index, so the result depends only
// on the input). Empty shards are dropped when there are fewer studies.
std::vector<Shard> balance_shards(std::vector<StudySize> studies, int n);

// Which part of a stage a job is.
struct JobPart {
  int index = 0;  // fold or shard index
  int count = 1;  // folds or shards in all
  const Shard* shard = nullptr;  // extract jobs only
  // Every stage's resolved spec of the job's trial (a job's inputs are
  // named from its upstream stages' specs). Set by build_submission.
  const std::map<Stage, YAML::Node>* trial = nullptr;
};
// Turns a stage's resolved spec and the job's part into its payload.
using PayloadFn = std::function<Result<std::string>(Stage, const YAML::Node& data, const YAML::Node& spec,
                                                     const JobPart& part)>;
// A stand-in payload for tests of the DAG alone: canonical YAML of
// {data: ..., spec: ..., part: {index, count[, studies]}}. Real sweeps use
// stage_payload (coordinator/stage_payload.h): the stage's own spec.
Result<std::string> default_payload(Stage stage, const YAML::Node& data, const YAML::Node& spec, const JobPart& part);
// YAML with every mapping's keys sorted: equal specs give equal bytes
// whatever order their keys were written in.
std::string canonical_yaml(const YAML::Node& node);

// The submission for `trials`: per trial the DAG above (stages the sweep
// does not name are left out; report follows crossval). `shards` is the
// extraction shard list (required when the sweep has an extract stage);
// crossval gets `folds` jobs from its spec's `folds` key (default 5).
Result<SweepSubmission> build_submission(const SweepSpec& spec, const std::vector<ResolvedTrial>& trials,
                                         const std::vector<Shard>& shards, const PayloadFn& payload = default_payload);

}  // namespace radclear::coordinator
