#include "coordinator/stage_payload.h"

#include <fmt/format.h>

#include "common/check.h"
#include "common/sha256.h"
#include "common/yaml_fields.h"
#include "stages/checkpoint_name.h"
#include "stages/payload.h"

namespace radclear::coordinator {

namespace fs = std::filesystem;

namespace {

constexpr const char* kDataKeys[] = {"index", "root", "clinical", "out"};  // as in check_known_keys below

struct SweepData {
  fs::path index, root, clinical, out;
};

SweepData read_data(const YAML::Node& data) {
  const std::string ctx = "sweep data";
  check_known_keys(data, {"index", "root", "clinical", "out"}, ctx);
  SweepData d;
  auto path = [&](const char* key, fs::path& out) {
    std::string s;
    read_field(data, key, s, ctx);
    out = s;
  };
  path("index", d.index);
  path("root", d.root);
  path("clinical", d.clinical);
  path("out", d.out);
  if (d.out.empty()) throw InvalidArgument("sweep data: 'out' (the directory every job's outputs go under) is required");
  return d;
}

// A stage's spec from the sweep YAML; `set_by_sweep` keys may not be given.
template <typename Spec>
Spec spec_from(const std::map<Stage, YAML::Node>& trial, Stage stage, std::initializer_list<const char*> set_by_sweep) {
  Spec spec{};
  const auto it = trial.find(stage);
  if (it == trial.end()) return spec;
  const std::string ctx = fmt::format("sweep stages.{}", stage_name(stage));
  for (const char* key : set_by_sweep) {
    if (it->second[key]) {
      throw InvalidArgument(fmt::format("{}: '{}' is set by the sweep (its data: or the stage before); remove it",
                                        ctx, key));
    }
  }
  stages::merge_yaml(spec, it->second, ctx);
  return spec;
}

// <out>/<stage>-<16 hex of the payload's sha256>, the spec's out field empty.
template <typename Spec>
fs::path content_dir(const fs::path& root, const Spec& spec_without_out) {
  return root / fmt::format("{}-{}", Spec::kStage, sha256_hex(stages::to_payload(spec_without_out)).substr(0, 16));
}

bool has(const std::map<Stage, YAML::Node>& trial, Stage s) { return trial.count(s) > 0; }

}  // namespace

stages::PretrainSpec trial_pretrain_spec(const YAML::Node& data, const std::map<Stage, YAML::Node>& trial) {
  const SweepData d = read_data(data);
  auto p = spec_from<stages::PretrainSpec>(trial, Stage::kPretrain, {"db", "data", "out"});
  p.db = d.index;
  p.data = d.root;
  p.out.clear();
  p.out = content_dir(d.out, p);
  p.validate();
  return p;
}

stages::ExtractSpec trial_extract_spec(const YAML::Node& data, const std::map<Stage, YAML::Node>& trial,
                                       const Shard* shard) {
  const SweepData d = read_data(data);
  const bool chained = has(trial, Stage::kPretrain);
  auto e = chained ? spec_from<stages::ExtractSpec>(trial, Stage::kExtract, {"db", "data", "out", "studies", "checkpoint"})
                   : spec_from<stages::ExtractSpec>(trial, Stage::kExtract, {"db", "data", "out", "studies"});
  e.db = d.index;
  e.data = d.root;
  if (chained) {
    e.checkpoint = stages::final_checkpoint(trial_pretrain_spec(data, trial));
  } else if (!e.checkpoint.empty()) {
    e.checkpoint = fs::absolute(e.checkpoint).lexically_normal();
  }
  e.out.clear();
  e.studies.clear();
  e.out = content_dir(d.out, e);  // one directory for every shard of the set
  if (shard != nullptr) e.studies = shard->studies;
  e.validate();
  return e;
}

stages::CrossvalSpec trial_crossval_spec(const YAML::Node& data, const std::map<Stage, YAML::Node>& trial, int fold) {
  const SweepData d = read_data(data);
  const bool chained = has(trial, Stage::kExtract);
  auto c = chained ? spec_from<stages::CrossvalSpec>(trial, Stage::kCrossval, {"out", "fold", "features"})
                   : spec_from<stages::CrossvalSpec>(trial, Stage::kCrossval, {"out", "fold"});
  if (chained) c.features_dir = trial_extract_spec(data, trial).out;
  if (!d.clinical.empty()) {
    if (!c.clini_csv.empty()) {
      throw InvalidArgument("sweep stages.crossval: 'clini' is set by the sweep's data.clinical; give one of them");
    }
    c.clini_csv = d.clinical;
  }
  if (c.db.empty()) c.db = d.index;
  c.out_dir.clear();
  c.fold = -1;
  c.out_dir = content_dir(d.out, c);  // the folds and the report share it
  c.fold = fold;
  c.validate();
  return c;
}

Result<std::string> stage_payload(Stage stage, const YAML::Node& data, const YAML::Node& spec, const JobPart& part) {
  try {
    // A caller without the trial (a single stage): this stage alone.
    std::map<Stage, YAML::Node> alone{{stage, spec}};
    const auto& trial = part.trial != nullptr ? *part.trial : alone;
    switch (stage) {
      case Stage::kPretrain: return stages::to_payload(trial_pretrain_spec(data, trial));
      case Stage::kExtract: return stages::to_payload(trial_extract_spec(data, trial, part.shard));
      case Stage::kCrossval: return stages::to_payload(trial_crossval_spec(data, trial, part.index));
      case Stage::kReport: return stages::to_payload(trial_crossval_spec(data, trial, -1));
      default:
        return Status::InvalidArgument(fmt::format(
            "sweep: stage {} does not run in sweeps yet (make the data with `radclear synth` / `radclear index` "
            "first; sweeps run pretrain, extract and crossval)",
            stage_name(stage)));
    }
  } catch (const Error& e) {
    return e.to_status();
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(fmt::format("sweep stages.{}: {}", stage_name(stage), e.what()));
  }
}

Result<YAML::Node> absolute_data(const YAML::Node& data, const fs::path& base) {
  try {
    if (!data || data.IsNull()) return YAML::Node(YAML::NodeType::Map);
    if (!data.IsMap()) return Status::InvalidArgument("sweep data: a mapping of index, root, clinical, out");
    check_known_keys(data, {"index", "root", "clinical", "out"}, "sweep data");
    YAML::Node out(YAML::NodeType::Map);
    for (const char* key : kDataKeys) {
      if (!data[key]) continue;
      const fs::path p = data[key].as<std::string>();
      out[key] = (p.is_absolute() ? p : base / p).lexically_normal().string();
    }
    return out;
  } catch (const Error& e) {
    return e.to_status();
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(fmt::format("sweep data: {}", e.what()));
  }
}

}  // namespace radclear::coordinator
