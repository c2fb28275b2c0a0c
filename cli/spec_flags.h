#pragma once
// The command-line face of a stage spec, generated from its fields(): one
// flag per field (name, help and default from the declaration), plus
// --config. Resolution is STAMP's: the spec's defaults, then the YAML
// config file, then the flags given on the command line, all through the
// one merge_yaml() path, so a flag and a YAML key can never disagree.
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <yaml-cpp/yaml.h>

#include "common/yaml_fields.h"
#include "stages/field.h"

namespace radclear::cli {

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
    const std::string flag = f.flag_name();
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
