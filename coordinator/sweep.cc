#include "coordinator/sweep.h"

#include <algorithm>
#include <numeric>
#include <set>

#include <fmt/format.h>

#include "common/check.h"
#include "common/yaml_fields.h"

namespace radclear::coordinator {
namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    parts.push_back(path.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

// Sets node[keys[i]][keys[i+1]]... = value, making mappings on the way.
// (Handles are passed by value: assigning to a yaml-cpp Node variable would
// overwrite the node it refers to instead of rebinding it.)
void set_path(YAML::Node node, const std::vector<std::string>& keys, size_t i, const YAML::Node& value) {
  if (i + 1 == keys.size()) {
    node[keys[i]] = YAML::Clone(value);
    return;
  }
  if (!node[keys[i]] || !node[keys[i]].IsMap()) node[keys[i]] = YAML::Node(YAML::NodeType::Map);
  set_path(node[keys[i]], keys, i + 1, value);
}

std::string value_text(const YAML::Node& v) {
  if (v.IsScalar()) return v.Scalar();
  YAML::Emitter out;
  out << YAML::Flow << v;
  return out.c_str();
}

void emit_canonical(YAML::Emitter& out, const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      std::vector<std::string> keys;
      for (auto it = n.begin(); it != n.end(); ++it) keys.push_back(it->first.as<std::string>());
      std::sort(keys.begin(), keys.end());
      out << YAML::BeginMap;
      for (const std::string& k : keys) {
        out << YAML::Key << k << YAML::Value;
        emit_canonical(out, n[k]);
      }
      out << YAML::EndMap;
      break;
    }
    case YAML::NodeType::Sequence:
      out << YAML::BeginSeq;
      for (const YAML::Node& item : n) emit_canonical(out, item);
      out << YAML::EndSeq;
      break;
    case YAML::NodeType::Scalar:
      // A quoted scalar stays quoted ("0003" must not come back as 3).
      if (n.Tag() == "!")
        out << YAML::DoubleQuoted << n.Scalar();
      else
        out << n.Scalar();
      break;
    default: out << YAML::Null; break;
  }
}

Status check_path(const SweepSpec& spec, const std::string& path, const std::string& context) {
  const auto parts = split_path(path);
  const auto stage = parse_stage(parts[0]);
  if (parts.size() < 2 || !stage || std::any_of(parts.begin(), parts.end(), [](const auto& p) { return p.empty(); }))
    return Status::InvalidArgument(fmt::format(
        "{}: '{}' is not a field path: write <stage>.<key>[.<key>...], e.g. pretrain.lr (stages: {})", context,
        path, stage_names()));
  if (!spec.stages.count(*stage))
    return Status::InvalidArgument(
        fmt::format("{}: '{}' overrides stage {}, which the sweep's 'stages' does not list", context, path, parts[0]));
  return Status::Ok();
}

}  // namespace

std::string canonical_yaml(const YAML::Node& node) {
  YAML::Emitter out;
  emit_canonical(out, node);
  return std::string(out.c_str()) + "\n";
}

Result<SweepSpec> parse_sweep(const YAML::Node& root, const std::string& context) {
  try {
    if (!root.IsMap()) return Status::InvalidArgument(fmt::format("{}: a sweep is a YAML mapping", context));
    check_known_keys(root, {"name", "data", "stages", "grid", "list", "pretrain_ranks", "extract_shards", "max_attempts"}, context);
    SweepSpec spec;
    read_field(root, "name", spec.name, context);
    if (spec.name.empty() || spec.name.find('/') != std::string::npos)
      return Status::InvalidArgument(fmt::format("{}: 'name' (the sweep id) is required and holds no '/'", context));
    spec.data = root["data"] ? YAML::Clone(root["data"]) : YAML::Node(YAML::NodeType::Map);
    read_field(root, "pretrain_ranks", spec.pretrain_ranks, context);
    read_field(root, "max_attempts", spec.max_attempts, context);
    read_field(root, "extract_shards", spec.extract_shards, context);
    if (spec.extract_shards < 1) return Status::InvalidArgument(fmt::format("{}: extract_shards must be >= 1", context));
    if (spec.pretrain_ranks < 1) return Status::InvalidArgument(fmt::format("{}: pretrain_ranks must be >= 1", context));
    const YAML::Node stages = root["stages"];
    if (!stages || !stages.IsMap() || stages.size() == 0)
      return Status::InvalidArgument(fmt::format("{}: 'stages' must map stage names to their specs", context));
    for (auto it = stages.begin(); it != stages.end(); ++it) {
      const std::string name = it->first.as<std::string>();
      const auto stage = parse_stage(name);
      if (!stage) {
        std::vector<std::string> known;
        for (int s = 0; s <= static_cast<int>(Stage::kReport); ++s) known.push_back(stage_name(static_cast<Stage>(s)));
        const std::string guess = closest_match(name, known);
        return Status::InvalidArgument(fmt::format("{}: stages: unknown stage '{}'{} (known: {})", context, name,
                                                   guess.empty() ? "" : ", did you mean '" + guess + "'?", stage_names()));
      }
      if (!it->second.IsMap() && !it->second.IsNull())
        return Status::InvalidArgument(fmt::format("{}: stages.{} must be a mapping (that command's --config keys)",
                                                   context, name));
      spec.stages[*stage] = it->second.IsNull() ? YAML::Node(YAML::NodeType::Map) : YAML::Clone(it->second);
    }
    const YAML::Node grid = root["grid"], list = root["list"];
    if (grid && list) return Status::InvalidArgument(fmt::format("{}: give 'grid' or 'list', not both", context));
    if (grid) {
      if (!grid.IsMap()) return Status::InvalidArgument(fmt::format("{}: 'grid' maps field paths to value lists", context));
      for (auto it = grid.begin(); it != grid.end(); ++it) {
        const std::string path = it->first.as<std::string>();
        Status s = check_path(spec, path, context + ": grid");
        if (!s.ok()) return s;
        if (!it->second.IsSequence() || it->second.size() == 0)
          return Status::InvalidArgument(fmt::format("{}: grid.{} must be a non-empty list of values", context, path));
        std::vector<YAML::Node> values;
        for (const YAML::Node& v : it->second) values.push_back(YAML::Clone(v));
        spec.grid.emplace_back(path, std::move(values));
      }
    }
    if (list) {
      if (!list.IsSequence() || list.size() == 0)
        return Status::InvalidArgument(fmt::format("{}: 'list' is a non-empty list of {{path: value}} mappings", context));
      for (size_t i = 0; i < list.size(); ++i) {
        if (!list[i].IsMap())
          return Status::InvalidArgument(fmt::format("{}: list[{}] must map field paths to values", context, i));
        std::vector<Override> point;
        for (auto it = list[i].begin(); it != list[i].end(); ++it) {
          const std::string path = it->first.as<std::string>();
          Status s = check_path(spec, path, fmt::format("{}: list[{}]", context, i));
          if (!s.ok()) return s;
          point.push_back(Override{path, YAML::Clone(it->second)});
        }
        spec.list.push_back(std::move(point));
      }
    }
    return spec;
  } catch (const Error& e) {
    return e.to_status();
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(fmt::format("{}: {}", context, e.what()));
  }
}

Result<SweepSpec> load_sweep(const std::filesystem::path& path) {
  try {
    return parse_sweep(load_yaml_file(path), path.string());
  } catch (const Error& e) {
    return e.to_status();
  }
}

Result<std::vector<ResolvedTrial>> expand_trials(const SweepSpec& spec) {
  std::vector<std::vector<Override>> points;
  if (!spec.list.empty()) {
    points = spec.list;
  } else if (!spec.grid.empty()) {
    // Odometer over the axes, the last axis fastest.
    std::vector<size_t> at(spec.grid.size(), 0);
    while (true) {
      std::vector<Override> point;
      for (size_t a = 0; a < spec.grid.size(); ++a) point.push_back(Override{spec.grid[a].first, spec.grid[a].second[at[a]]});
      points.push_back(std::move(point));
      int a = static_cast<int>(spec.grid.size()) - 1;
      while (a >= 0 && ++at[a] == spec.grid[a].second.size()) at[a--] = 0;
      if (a < 0) break;
    }
  } else {
    points.emplace_back();
  }
  std::vector<ResolvedTrial> trials;
  for (size_t i = 0; i < points.size(); ++i) {
    ResolvedTrial t;
    t.id = fmt::format("t{:03d}", i);
    for (const auto& [stage, base] : spec.stages) t.stages[stage] = YAML::Clone(base);
    for (const Override& o : points[i]) {
      const auto parts = split_path(o.path);
      const Stage stage = *parse_stage(parts[0]);
      set_path(t.stages[stage], std::vector<std::string>(parts.begin() + 1, parts.end()), 0, o.value);
      t.overrides.push_back(o.path + "=" + value_text(o.value));
    }
    trials.push_back(std::move(t));
  }
  return trials;
}

std::vector<Shard> balance_shards(std::vector<StudySize> studies, int n) {
  n = std::max(1, std::min<int>(n, static_cast<int>(studies.size())));
  if (studies.empty()) return {};
  std::vector<size_t> order(studies.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (studies[a].slices != studies[b].slices) return studies[a].slices > studies[b].slices;
    return studies[a].study < studies[b].study;
  });
  std::vector<Shard> shards(n);
  std::vector<std::vector<size_t>> members(n);
  for (size_t idx : order) {
    size_t lightest = 0;
    for (size_t s = 1; s < shards.size(); ++s)
      if (shards[s].slices < shards[lightest].slices) lightest = s;
    shards[lightest].slices += studies[idx].slices;
    members[lightest].push_back(idx);
  }
  for (size_t s = 0; s < shards.size(); ++s) {
    std::sort(members[s].begin(), members[s].end());
    for (size_t idx : members[s]) shards[s].studies.push_back(studies[idx].study);
  }
  return shards;
}

Result<std::string> default_payload(Stage stage, const YAML::Node& data, const YAML::Node& spec, const JobPart& part) {
  YAML::Node doc(YAML::NodeType::Map);
  doc["stage"] = stage_name(stage);
  doc["data"] = YAML::Clone(data);
  doc["spec"] = YAML::Clone(spec);
  YAML::Node p(YAML::NodeType::Map);
  p["index"] = part.index;
  p["count"] = part.count;
  if (part.shard) {
    YAML::Node studies(YAML::NodeType::Sequence);
    for (const std::string& s : part.shard->studies) studies.push_back(s);
    p["studies"] = studies;
  }
  doc["part"] = p;
  return canonical_yaml(doc);
}

Result<SweepSubmission> build_submission(const SweepSpec& spec, const std::vector<ResolvedTrial>& trials,
                                         const std::vector<Shard>& shards, const PayloadFn& payload) {
  SweepSubmission sub;
  sub.sweep = spec.name;
  const bool has_extract = spec.stages.count(Stage::kExtract) > 0;
  if (has_extract && shards.empty())
    return Status::InvalidArgument(fmt::format(
        "sweep {}: the extract stage needs a shard list (balance_shards over the index's studies)", spec.name));
  for (const ResolvedTrial& trial : trials) {
    TrialSubmission ts;
    ts.id = trial.id;
    ts.overrides = trial.overrides;
    std::vector<std::string> upstream;  // ids the next stage reads
    const YAML::Node empty(YAML::NodeType::Map);
    auto add = [&](Stage stage, const JobPart& part, const std::vector<std::string>& inputs) -> Result<std::string> {
      auto it = trial.stages.find(stage);
      JobPart with_trial = part;
      with_trial.trial = &trial.stages;
      auto body = payload(stage, spec.data, it == trial.stages.end() ? empty : it->second, with_trial);
      if (!body.ok()) return body.status();
      JobSubmission js;
      js.stage = stage;
      js.payload = std::move(body).value();
      js.inputs = inputs;
      js.min_ranks = is_gang_stage(stage) ? spec.pretrain_ranks : 1;
      js.max_attempts = spec.max_attempts;
      std::string id = js.id();
      ts.jobs.push_back(std::move(js));
      return id;
    };
    for (Stage stage : {Stage::kSynth, Stage::kIndex, Stage::kPretrain}) {
      if (!trial.stages.count(stage)) continue;
      auto id = add(stage, JobPart{}, upstream);
      if (!id.ok()) return id.status();
      upstream = {id.value()};
    }
    if (has_extract) {
      std::vector<std::string> ids;
      for (size_t s = 0; s < shards.size(); ++s) {
        auto id = add(Stage::kExtract, JobPart{static_cast<int>(s), static_cast<int>(shards.size()), &shards[s]}, upstream);
        if (!id.ok()) return id.status();
        ids.push_back(id.value());
      }
      upstream = ids;
    }
    if (trial.stages.count(Stage::kCrossval)) {
      const YAML::Node& cv = trial.stages.at(Stage::kCrossval);
      int folds = 5;
      try {
        if (cv["folds"]) folds = cv["folds"].as<int>();
      } catch (const YAML::Exception&) {
        return Status::InvalidArgument(fmt::format("sweep {} trial {}: crossval.folds must be an integer", spec.name, trial.id));
      }
      if (folds < 1) return Status::InvalidArgument(fmt::format("sweep {} trial {}: crossval.folds must be >= 1", spec.name, trial.id));
      std::vector<std::string> ids;
      for (int k = 0; k < folds; ++k) {
        auto id = add(Stage::kCrossval, JobPart{k, folds, nullptr}, upstream);
        if (!id.ok()) return id.status();
        ids.push_back(id.value());
      }
      upstream = ids;
      for (Stage stage : {Stage::kDeploy, Stage::kReport}) {
        // Deploy runs when the sweep names it; the report always closes a trial.
        if (stage == Stage::kDeploy && !trial.stages.count(stage)) continue;
        auto id = add(stage, JobPart{}, ids);
        if (!id.ok()) return id.status();
      }
    }
    sub.trials.push_back(std::move(ts));
  }
  return sub;
}

}  // namespace radclear::coordinator
