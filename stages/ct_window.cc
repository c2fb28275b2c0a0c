#include "stages/ct_window.h"

#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "common/check.h"

namespace radclear::stages {

namespace {

struct NamedWindow {
  const char* name;
  CtWindow window;
};

constexpr NamedWindow kNamedWindows[] = {
    {"abdomen", {400, 40}},
    {"lung", {1500, -600}},
    {"bone", {1800, 400}},
    {"mediastinum", {350, 50}},
};

bool parse_double(const std::string& s, double* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && std::isfinite(*out);
}

}  // namespace

std::vector<std::string> ct_window_names() {
  std::vector<std::string> names;
  for (const auto& w : kNamedWindows) names.emplace_back(w.name);
  return names;
}

CtWindow parse_ct_window(const std::string& name) {
  for (const auto& w : kNamedWindows) {
    if (name == w.name) return w.window;
  }
  const auto slash = name.find('/');
  if (slash != std::string::npos) {
    CtWindow w;
    if (parse_double(name.substr(0, slash), &w.width) && parse_double(name.substr(slash + 1), &w.level)) {
      if (!(w.width > 0)) throw InvalidArgument(fmt::format("CT window '{}': width must be > 0", name));
      return w;
    }
  }
  throw InvalidArgument(fmt::format("unknown CT window '{}': use one of {} or a custom 'W/L' such as '400/40'",
                                    name, fmt::join(ct_window_names(), ", ")));
}

void check_ct_windows(const std::vector<std::string>& windows, const std::string& what) {
  if (windows.empty()) throw InvalidArgument(fmt::format("{} needs at least one CT window", what));
  for (size_t i = 0; i < windows.size(); ++i) {
    parse_ct_window(windows[i]);
    for (size_t j = 0; j < i; ++j) {
      if (windows[i] == windows[j]) {
        throw InvalidArgument(fmt::format("{}: window '{}' is listed twice", what, windows[i]));
      }
    }
  }
}

}  // namespace radclear::stages
