#include "worker/crossval/spec.h"

#include "common/check.h"
#include "common/yaml_fields.h"
#include "models/mil/mil.h"

namespace radclear::crossval {

void apply_yaml(const YAML::Node& node, CrossvalSpec& spec, const std::string& ctx) {
  if (!node || node.IsNull()) return;
  if (!node.IsMap()) throw InvalidArgument(fmt::format("{}: expected a mapping of crossval settings", ctx));
  check_known_keys(node,
                   {"features", "clini", "out", "db", "key_slices", "labels", "categorical", "study_column",
                    "patient_column", "model", "hidden", "dropout", "standardize", "folds", "bag_size", "batch_size",
                    "epochs", "patience", "lr", "weight_decay", "valid_fraction", "seed", "bootstrap", "attention_plots",
                    "threads", "progress"},
                   ctx);
  read_path(node, "features", spec.features_dir, ctx);
  read_path(node, "clini", spec.clini_csv, ctx);
  read_path(node, "out", spec.out_dir, ctx);
  read_path(node, "db", spec.db, ctx);
  read_path(node, "key_slices", spec.key_slices_csv, ctx);
  if (node["labels"] && node["labels"].IsScalar()) {
    // "bone,lung" as one string is accepted too.
    std::string s;
    read_field(node, "labels", s, ctx);
    spec.labels.clear();
    size_t start = 0;
    while (start <= s.size()) {
      const size_t comma = s.find(',', start);
      const std::string part = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!part.empty()) spec.labels.push_back(part);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  } else {
    read_field(node, "labels", spec.labels, ctx);
  }
  read_field(node, "categorical", spec.categorical, ctx);
  read_field(node, "study_column", spec.study_column, ctx);
  read_field(node, "patient_column", spec.patient_column, ctx);
  read_field(node, "model", spec.model, ctx);
  read_field(node, "hidden", spec.hidden, ctx);
  read_field(node, "dropout", spec.dropout, ctx);
  read_field(node, "standardize", spec.standardize, ctx);
  read_field(node, "folds", spec.folds, ctx);
  read_field(node, "bag_size", spec.bag_size, ctx);
  read_field(node, "batch_size", spec.batch_size, ctx);
  read_field(node, "epochs", spec.epochs, ctx);
  read_field(node, "patience", spec.patience, ctx);
  read_field(node, "lr", spec.lr, ctx);
  read_field(node, "weight_decay", spec.weight_decay, ctx);
  read_field(node, "valid_fraction", spec.valid_fraction, ctx);
  read_field(node, "seed", spec.seed, ctx);
  read_field(node, "bootstrap", spec.bootstrap, ctx);
  read_field(node, "attention_plots", spec.attention_plots, ctx);
  read_field(node, "threads", spec.threads, ctx);
  read_field(node, "progress", spec.progress, ctx);
}

void validate(const CrossvalSpec& s) {
  auto bad = [](const std::string& msg) { throw InvalidArgument("crossval: " + msg); };
  if (s.features_dir.empty()) bad("features: a directory of <study>.h5 files is required");
  if (s.clini_csv.empty()) bad("clini: the clinical CSV is required");
  if (s.out_dir.empty()) bad("out: an output directory is required");
  if (s.labels.empty() == s.categorical.empty()) {
    bad("give either labels (binary 0/1 columns) or categorical (one column), not both or neither");
  }
  models::parse_mil_kind(s.model);
  if (s.folds < 2) bad(fmt::format("folds must be >= 2, got {}", s.folds));
  if (s.bag_size < 1) bad(fmt::format("bag_size must be >= 1, got {}", s.bag_size));
  if (s.batch_size < 1) bad(fmt::format("batch_size must be >= 1, got {}", s.batch_size));
  if (s.epochs < 1) bad(fmt::format("epochs must be >= 1, got {}", s.epochs));
  if (s.patience < 1) bad(fmt::format("patience must be >= 1, got {}", s.patience));
  if (!(s.lr > 0.0)) bad(fmt::format("lr must be > 0, got {}", s.lr));
  if (s.weight_decay < 0.0) bad(fmt::format("weight_decay must be >= 0, got {}", s.weight_decay));
  if (!(s.valid_fraction > 0.0 && s.valid_fraction < 0.5)) {
    bad(fmt::format("valid_fraction must be in (0, 0.5), got {}", s.valid_fraction));
  }
  if (s.hidden < 1) bad(fmt::format("hidden must be >= 1, got {}", s.hidden));
  if (s.dropout < 0.0 || s.dropout >= 1.0) bad(fmt::format("dropout must be in [0, 1), got {}", s.dropout));
  if (s.bootstrap < 0) bad(fmt::format("bootstrap must be >= 0, got {}", s.bootstrap));
  if (s.attention_plots < 0) bad(fmt::format("attention_plots must be >= 0, got {}", s.attention_plots));
}

std::string to_yaml(const CrossvalSpec& s) {
  YAML::Emitter e;
  e << YAML::BeginMap;
  e << YAML::Key << "features" << YAML::Value << s.features_dir.string();
  e << YAML::Key << "clini" << YAML::Value << s.clini_csv.string();
  e << YAML::Key << "out" << YAML::Value << s.out_dir.string();
  e << YAML::Key << "db" << YAML::Value << s.db.string();
  e << YAML::Key << "key_slices" << YAML::Value << s.key_slices_csv.string();
  e << YAML::Key << "labels" << YAML::Value << YAML::Flow << s.labels;
  e << YAML::Key << "categorical" << YAML::Value << s.categorical;
  e << YAML::Key << "study_column" << YAML::Value << s.study_column;
  e << YAML::Key << "patient_column" << YAML::Value << s.patient_column;
  e << YAML::Key << "model" << YAML::Value << s.model;
  e << YAML::Key << "hidden" << YAML::Value << s.hidden;
  e << YAML::Key << "dropout" << YAML::Value << s.dropout;
  e << YAML::Key << "standardize" << YAML::Value << s.standardize;
  e << YAML::Key << "folds" << YAML::Value << s.folds;
  e << YAML::Key << "bag_size" << YAML::Value << s.bag_size;
  e << YAML::Key << "batch_size" << YAML::Value << s.batch_size;
  e << YAML::Key << "epochs" << YAML::Value << s.epochs;
  e << YAML::Key << "patience" << YAML::Value << s.patience;
  e << YAML::Key << "lr" << YAML::Value << s.lr;
  e << YAML::Key << "weight_decay" << YAML::Value << s.weight_decay;
  e << YAML::Key << "valid_fraction" << YAML::Value << s.valid_fraction;
  e << YAML::Key << "seed" << YAML::Value << s.seed;
  e << YAML::Key << "bootstrap" << YAML::Value << s.bootstrap;
  e << YAML::Key << "attention_plots" << YAML::Value << s.attention_plots;
  e << YAML::Key << "threads" << YAML::Value << s.threads;
  e << YAML::Key << "progress" << YAML::Value << s.progress;
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

}  // namespace radclear::crossval
