#pragma once
// A sweep's jobs as real stage specs: the PayloadFn that build_submission
// calls for every job. It fills each stage's spec (the keys of that
// command's --config, from the sweep's `stages`) with the sweep's data set
// and the paths that chain the stages, validates it, and returns
// stages::to_payload(spec).
//
// The sweep's `data`:
//   index: data/synth.index       # slice index: pretrain/extract db, crossval db (key slices, patients)
//   root: data/synth              # data root: pretrain/extract data
//   clinical: data/clinical.csv   # crossval clini (else the crossval stage's `clini`)
//   out: runs/lr-sweep            # every job's outputs, in <out>/<stage>-<hash>
//
// Output paths come from content: a stage's directory is
// <out>/<stage>-<first 16 hex of sha256(its payload without out)>, so
// identical jobs of different trials have byte-identical payloads (one job),
// and a changed setting gets a fresh directory. Chaining: extract's
// checkpoint is the pretrain job's final checkpoint
// (stages::final_checkpoint), crossval's features are extract's out; an
// extract shard names its studies; a crossval fold job has fold = k and
// the report job is crossval with fold = -1 (folds done, it aggregates).
// The paths that chaining and `data` set may not be given in a stage.
#include <filesystem>
#include <string>

#include <yaml-cpp/yaml.h>

#include "common/status.h"
#include "coordinator/sweep.h"
#include "stages/crossval_spec.h"
#include "stages/extract_spec.h"
#include "stages/pretrain_spec.h"

namespace radclear::coordinator {

// The PayloadFn for real sweeps (pretrain, extract, crossval, report).
// InvalidArgument names the stage and field (an unknown key with "did you
// mean", a bad value, a path that `data` or chaining sets, a missing
// `data` key, a stage sweeps do not run yet).
Result<std::string> stage_payload(Stage stage, const YAML::Node& data, const YAML::Node& spec, const JobPart& part);

// Every path in `data` made absolute against `base` (workers may run in
// another directory); InvalidArgument for an unknown key.
Result<YAML::Node> absolute_data(const YAML::Node& data, const std::filesystem::path& base);

// The specs of one trial, as stage_payload builds them (for the report and
// for tests). `shard` / `fold` as in JobPart (nullptr / -1: the whole set).
stages::PretrainSpec trial_pretrain_spec(const YAML::Node& data, const std::map<Stage, YAML::Node>& trial);
stages::ExtractSpec trial_extract_spec(const YAML::Node& data, const std::map<Stage, YAML::Node>& trial,
                                       const Shard* shard = nullptr);
stages::CrossvalSpec trial_crossval_spec(const YAML::Node& data, const std::map<Stage, YAML::Node>& trial,
                                         int fold = -1);

}  // namespace radclear::coordinator
