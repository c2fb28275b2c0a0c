#pragma once
// A stage spec declares each field once, in a static `fields(self, visit)`:
//
//   struct PretrainSpec {
//     int64_t epochs = 100;
//     template <typename Self, typename Visit>
//     static void fields(Self& s, Visit&& visit) {
//       visit(s.epochs, Field("epochs", "Epochs").positive());
//     }
//   };
//
// and everything else comes from that one line: the YAML key (read with a
// typo guard and written back), the CLI flag (cli/spec_flags.h), the help
// text, the simple checks (required, bounds), equality and the job payload
// (stages/payload.h). Cross-field checks stay in the spec's validate().
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "common/check.h"
#include "common/yaml_fields.h"
#include "stages/enum_table.h"

namespace radclear::stages {

// How a bool field appears on the command line.
enum class BoolFlag {
  kValue,    // --standardize true|false
  kSwitch,   // --force sets true
  kNegated,  // --no-strict sets false (the flag is given in Field::flag)
};

// Everything about a field but its type and storage. Chain the setters on a
// temporary: Field("lr", "Base learning rate").positive().
class Field {
 public:
  constexpr Field(const char* key, const char* help) : key_(key), help_(help) {}

  // The CLI flag when it is not "--" + key with '_' -> '-' (e.g. "--wd").
  constexpr Field flag(const char* f) const { return with([&](Field& x) { x.flag_ = f; }); }
  // Must be set (non-empty path, string or list); `hint` says how.
  constexpr Field required(const char* hint = "") const {
    return with([&](Field& x) { x.required_ = true; x.hint_ = hint; });
  }
  constexpr Field positive() const { return with([](Field& x) { x.lo_ = 0; x.lo_open_ = true; }); }
  constexpr Field at_least(double lo) const { return with([&](Field& x) { x.lo_ = lo; }); }
  constexpr Field at_most(double hi) const { return with([&](Field& x) { x.hi_ = hi; }); }
  constexpr Field range(double lo, double hi) const { return at_least(lo).at_most(hi); }
  constexpr Field bool_flag(BoolFlag b) const { return with([&](Field& x) { x.bool_flag_ = b; }); }
  // An older YAML key still read into this field (a renamed setting).
  constexpr Field alias(const char* old_key) const { return with([&](Field& x) { x.alias_ = old_key; }); }
  // Not on the command line (set in YAML or by the program).
  constexpr Field no_flag() const { return with([](Field& x) { x.no_flag_ = true; }); }

  const char* key() const { return key_; }
  const char* help() const { return help_; }
  std::string flag_name() const;  // "--batch-size"
  bool is_required() const { return required_; }
  const char* hint() const { return hint_; }
  double lo() const { return lo_; }
  bool lo_open() const { return lo_open_; }
  double hi() const { return hi_; }
  BoolFlag bool_flag() const { return bool_flag_; }
  bool has_flag() const { return !no_flag_; }
  const char* old_key() const { return alias_; }

 private:
  template <typename F>
  constexpr Field with(F&& f) const {
    Field x = *this;
    f(x);
    return x;
  }
  const char* key_;
  const char* help_;
  const char* flag_ = nullptr;
  const char* hint_ = "";
  const char* alias_ = nullptr;
  bool required_ = false;
  double lo_ = -std::numeric_limits<double>::infinity();
  bool lo_open_ = false;
  double hi_ = std::numeric_limits<double>::infinity();
  BoolFlag bool_flag_ = BoolFlag::kValue;
  bool no_flag_ = false;
};

// ---- values <-> YAML --------------------------------------------------------

template <typename T>
struct IsEnumList : std::false_type {};
template <typename E>
struct IsEnumList<std::vector<E>> : std::is_enum<E> {};

// A small value type written as text: `static T parse(const std::string&)`
// (throws InvalidArgument) and `std::string str() const` (e.g. DeviceChoice).
template <typename T, typename = void>
struct IsTextValue : std::false_type {};
template <typename T>
struct IsTextValue<T, std::void_t<decltype(T::parse(std::string())), decltype(std::declval<const T&>().str())>>
    : std::true_type {};

template <typename T>
YAML::Node encode_value(const T& v) {
  if constexpr (IsTextValue<T>::value) {
    return YAML::Node(v.str());
  } else if constexpr (std::is_same_v<T, std::filesystem::path>) {
    return YAML::Node(v.string());
  } else if constexpr (std::is_enum_v<T>) {
    return YAML::Node(std::string(enum_name(v)));
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    YAML::Node n(YAML::NodeType::Sequence);
    for (const auto& s : v) n.push_back(s);
    return n;
  } else if constexpr (IsEnumList<T>::value) {
    YAML::Node n(YAML::NodeType::Sequence);
    for (const auto& e : v) n.push_back(std::string(enum_name(e)));
    return n;
  } else {
    return YAML::Node(v);
  }
}

template <typename T>
const char* type_name() {
  if constexpr (std::is_same_v<T, bool>) return "true or false";
  else if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T>) return "a whole number >= 0";
  else if constexpr (std::is_integral_v<T>) return "a whole number";
  else if constexpr (std::is_floating_point_v<T>) return "a number";
  else if constexpr (std::is_same_v<T, std::vector<std::string>> || IsEnumList<T>::value) return "a list";
  else return "text";
}

// Splits "a,b" into {"a", "b"} (a list given as one scalar).
std::vector<std::string> split_commas(const std::string& s);

// Reads `node` into `out`; throws InvalidArgument "ctx: field 'key': ...".
template <typename T>
void decode_value(const YAML::Node& node, T& out, const char* key, const std::string& ctx) {
  try {
    if constexpr (IsTextValue<T>::value) {
      out = T::parse(node.as<std::string>());
    } else if constexpr (std::is_same_v<T, std::filesystem::path>) {
      out = node.IsNull() ? std::string() : node.as<std::string>();
    } else if constexpr (std::is_enum_v<T>) {
      out = parse_enum<T>(node.as<std::string>());
    } else if constexpr (std::is_same_v<T, std::vector<std::string>> || IsEnumList<T>::value) {
      std::vector<std::string> names;
      if (node.IsScalar()) {
        names = split_commas(node.as<std::string>());  // "bone,lung" as one string
      } else if (!node.IsNull()) {
        names = node.as<std::vector<std::string>>();
      }
      if constexpr (IsEnumList<T>::value) {
        out.clear();
        for (const auto& n : names) out.push_back(parse_enum<typename T::value_type>(n));
      } else {
        out = std::move(names);
      }
    } else {
      out = node.as<T>();
    }
  } catch (const YAML::Exception&) {
    throw InvalidArgument(fmt::format("{}: field '{}': cannot read '{}' as {}", ctx, key, YAML::Dump(node),
                                      type_name<T>()));
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(fmt::format("{}: field '{}': {}", ctx, key, e.what()));
  }
}


// ---- operations over a spec's fields -----------------------------------------

// The YAML keys of Spec, in declaration order.
template <typename Spec>
std::vector<std::string> field_keys() {
  std::vector<std::string> keys;
  Spec s{};
  Spec::fields(s, [&](auto&, const Field& f) { keys.emplace_back(f.key()); });
  return keys;
}

// Every field as YAML, in declaration order.
template <typename Spec>
YAML::Node to_yaml(const Spec& spec) {
  YAML::Node n(YAML::NodeType::Map);
  Spec::fields(spec, [&](const auto& v, const Field& f) { n[f.key()] = encode_value(v); });
  return n;
}

// Fields present in `node` replace the spec's; an unknown key is an error
// naming `ctx` and suggesting the closest key.
template <typename Spec>
void merge_yaml(Spec& spec, const YAML::Node& node, const std::string& ctx) {
  if (!node || node.IsNull()) return;
  if (!node.IsMap()) throw InvalidArgument(fmt::format("{}: expected a mapping of {} settings", ctx, Spec::kStage));
  const auto keys = field_keys<Spec>();
  std::vector<std::string> aliases;
  Spec::fields(spec, [&](auto&, const Field& f) {
    if (f.old_key() != nullptr) aliases.emplace_back(f.old_key());
  });
  for (const auto& kv : node) {
    const auto key = kv.first.as<std::string>();
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
    if (std::find(aliases.begin(), aliases.end(), key) != aliases.end()) continue;
    const auto hint = closest_match(key, keys);
    throw InvalidArgument(fmt::format("{}: unknown {} setting '{}'{}", ctx, Spec::kStage, key,
                                      hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)));
  }
  Spec::fields(spec, [&](auto& v, const Field& f) {
    if (f.old_key() != nullptr) {
      if (const YAML::Node x = node[f.old_key()]) decode_value(x, v, f.old_key(), ctx);
    }
    if (const YAML::Node x = node[f.key()]) decode_value(x, v, f.key(), ctx);
  });
}

namespace detail {
template <typename T>
bool is_empty_value(const T& v) {
  if constexpr (std::is_same_v<T, std::filesystem::path> || std::is_same_v<T, std::string> ||
                std::is_same_v<T, std::vector<std::string>>) {
    return v.empty();
  } else {
    return false;
  }
}
}  // namespace detail

// The declared checks: required fields set, numbers within their bounds.
// Throws InvalidArgument "<stage>: ...", naming the flag or key.
template <typename Spec>
void check_fields(const Spec& spec) {
  Spec::fields(spec, [&](const auto& v, const Field& f) {
    using T = std::decay_t<decltype(v)>;
    if (f.is_required() && detail::is_empty_value(v)) {
      throw InvalidArgument(fmt::format("{}: {} is required{}{}", Spec::kStage, f.flag_name(),
                                        *f.hint() ? " " : "", f.hint()));
    }
    if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
      const double x = static_cast<double>(v);
      const bool low = f.lo_open() ? !(x > f.lo()) : !(x >= f.lo());
      if (low || !(x <= f.hi())) {
        std::string want;
        if (f.lo() > -std::numeric_limits<double>::infinity()) want = fmt::format("{} {}", f.lo_open() ? ">" : ">=", f.lo());
        if (f.hi() < std::numeric_limits<double>::infinity()) {
          want += fmt::format("{}<= {}", want.empty() ? "" : " and ", f.hi());
        }
        throw InvalidArgument(fmt::format("{}: {} must be {}, got {}", Spec::kStage, f.key(), want, v));
      }
    }
  });
}

// Calls visit(a_field, b_field, Field) for each field of two specs.
template <typename Spec, typename Visit>
void visit_pairs(const Spec& a, const Spec& b, Visit&& visit) {
  std::vector<const void*> fields_b;
  Spec::fields(b, [&](const auto& v, const Field&) { fields_b.push_back(&v); });
  size_t i = 0;
  Spec::fields(a, [&](const auto& v, const Field& f) {
    using T = std::decay_t<decltype(v)>;
    visit(v, *static_cast<const T*>(fields_b[i++]), f);
  });
}

// True when every declared field is equal.
template <typename Spec>
bool fields_equal(const Spec& a, const Spec& b) {
  bool same = true;
  visit_pairs(a, b, [&](const auto& x, const auto& y, const Field&) { same = same && x == y; });
  return same;
}

// The number of declared fields.
template <typename Spec>
size_t field_count() {
  size_t n = 0;
  Spec s{};
  Spec::fields(s, [&](auto&, const Field&) { ++n; });
  return n;
}

// ---- the number of data members of an aggregate -----------------------------
// Lets a test fail when a member is added to a spec but not to its fields():
// the largest N for which Spec{x1, ..., xN} compiles (boost.pfr's method).
namespace detail {
struct AnyValue {
  template <typename T>
  operator T() const;  // never defined: used in unevaluated context only
};
template <typename T, typename Seq, typename = void>
struct BraceInitializable : std::false_type {};
template <typename T, size_t... I>
struct BraceInitializable<T, std::index_sequence<I...>, std::void_t<decltype(T{(void(I), AnyValue{})...})>>
    : std::true_type {};
}  // namespace detail

template <typename T, size_t N = 0>
constexpr size_t aggregate_member_count() {
  if constexpr (detail::BraceInitializable<T, std::make_index_sequence<N + 1>>::value) {
    return aggregate_member_count<T, N + 1>();
  } else {
    return N;
  }
}

}  // namespace radclear::stages
