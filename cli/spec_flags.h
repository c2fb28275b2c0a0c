#pragma once
// The command-line face of a stage spec, generated from its fields(): one
// flag per field (name, help and default from the declaration), plus
// --config. Resolution is STAMP's: the spec's defaults, then the YAML
// config file, then the flags given on the command line, all through the
// one merge_yaml() path, so a flag and a YAML key can never disagree.
//
// Every flag also answers to the spellings CLEAR's users type (flag_names):
// the YAML key with underscores (--sample_weight, --batch_size), the key
// with dashes when the field's flag is another word (--weight-decay for
// --wd), and main_moco's short flags -a (arch), -b (batch size), -j
// (workers), -p (print frequency) where the spec has that field.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <yaml-cpp/yaml.h>

#include "common/yaml_fields.h"
#include "stages/field.h"

namespace radclear::cli {

// main_moco.py's single-letter flags, by field key.
inline const char* short_flag(const std::string& key) {
  if (key == "arch") return "-a";
  if (key == "batch_size") return "-b";
  if (key == "workers") return "-j";
  if (key == "print_freq") return "-p";
  return nullptr;
}

// The CLI11 names of a field's flag: its flag, then the aliases above that
// differ from it and are not taken in `app` (comma-separated, CLI11 style).
inline std::string flag_names(const CLI::App& app, const stages::Field& f) {
  const std::string flag = f.flag_name();
  std::vector<std::string> names{flag};
  auto add = [&](const std::string& n) {
    if (std::find(names.begin(), names.end(), n) != names.end()) return;
    if (app.get_option_no_throw(n) != nullptr) return;
    names.push_back(n);
  };
  if (f.bool_flag() == stages::BoolFlag::kValue) {  // a negated switch keeps its one spelling
    std::string dashed = std::string("--") + f.key();
    for (auto& c : dashed) c = c == '_' ? '-' : c;
    add(dashed);
    add(std::string("--") + f.key());
    if (const char* s = short_flag(f.key())) add(s);
  } else if (f.bool_flag() == stages::BoolFlag::kSwitch) {
    std::string underscored = flag;
    for (size_t i = 2; i < underscored.size(); ++i) underscored[i] = underscored[i] == '-' ? '_' : underscored[i];
    add(underscored);
  }
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

template <typename Spec>
class SpecFlags {
 public:
  // Adds --config and one option per field of Spec to `app`.
  explicit SpecFlags(CLI::App& app) {
    app.add_option("--config", config_, "YAML file with these settings (keys as the flags, '-' -> '_'); flags override it");
    const Spec defaults{};
    Spec::fields(defaults, [&](const auto& value, const stages::Field& f) { add(app, value, f); });
  }

  // Defaults <- --config file <- given flags; validated. Throws
  // InvalidArgument naming the file or "command line" and the field.
  Spec resolve() const {
    Spec spec{};
    if (!config_.empty()) stages::merge_yaml(spec, load_yaml_file(config_), config_);
    stages::merge_yaml(spec, given(), "command line");
    spec.validate();
    return spec;
  }

  // The flags given on the command line as YAML keyed by field.
  YAML::Node given() const {
    YAML::Node n(YAML::NodeType::Map);
    for (const auto& v : values_) {
      if (v->option->count() == 0) continue;
      switch (v->kind) {
        case Kind::kText: n[v->key] = v->text; break;
        case Kind::kList: {
          YAML::Node list(YAML::NodeType::Sequence);
          for (const auto& s : v->list) list.push_back(s);
          n[v->key] = list;
          break;
        }
        case Kind::kSwitch: n[v->key] = true; break;
        case Kind::kNegated: n[v->key] = false; break;
      }
    }
    return n;
  }

 private:
  enum class Kind { kText, kList, kSwitch, kNegated };
  struct Value {
    std::string key;
    Kind kind = Kind::kText;
    std::string text;
    std::vector<std::string> list;
    bool on = false;
    CLI::Option* option = nullptr;
  };

  template <typename T>
  void add(CLI::App& app, const T& default_value, const stages::Field& f) {
    if (!f.has_flag()) return;
    auto v = std::make_unique<Value>();
    v->key = f.key();
    const std::string flag = flag_names(app, f);
    std::string help = f.help();
    if constexpr (std::is_enum_v<T>) {
      help += fmt::format(" ({})", fmt::join(stages::enum_names<T>(), ", "));
    }
    if constexpr (std::is_same_v<T, bool>) {
      if (f.bool_flag() != stages::BoolFlag::kValue) {
        v->kind = f.bool_flag() == stages::BoolFlag::kSwitch ? Kind::kSwitch : Kind::kNegated;
        v->option = app.add_flag(flag, v->on, help);
        values_.push_back(std::move(v));
        return;
      }
    }
    const YAML::Node shown = stages::encode_value(default_value);
    if (shown.IsSequence()) {
      v->kind = Kind::kList;
      v->option = app.add_option(flag, v->list, help)->delimiter(',');
      std::vector<std::string> items;
      for (const auto& x : shown) items.push_back(x.as<std::string>());
      if (!items.empty()) v->option->default_str(fmt::format("{}", fmt::join(items, ",")));
    } else {
      v->option = app.add_option(flag, v->text, help);
      std::string text = shown.as<std::string>();
      if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) text = fmt::format("{}", default_value);
      if (!text.empty()) v->option->default_str(text);
    }
    values_.push_back(std::move(v));
  }

  std::string config_;
  std::vector<std::unique_ptr<Value>> values_;
};

}  // namespace radclear::cli
