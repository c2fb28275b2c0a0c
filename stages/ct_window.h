#pragma once
// CT window names and their width/level, torch- and OpenCV-free so that any
// process can check a spec's `windows`. data/window.h applies them to pixels.
// Named windows (the usual radiology presets):
//   abdomen W400/L40, lung W1500/L-600, bone W1800/L400, mediastinum W350/L50
// plus any custom "W/L" string such as "400/40" or "1500/-600".
#include <string>
#include <vector>

namespace radclear::stages {

struct CtWindow {
  double width = 400;  // HU, > 0
  double level = 40;   // HU
  double lo() const { return level - width / 2; }
  double hi() const { return level + width / 2; }
};

// "abdomen", "lung", "bone", "mediastinum" or "W/L" (e.g. "400/40").
// Throws InvalidArgument listing the known names.
CtWindow parse_ct_window(const std::string& name);
// The names parse_ct_window() knows, for help texts.
std::vector<std::string> ct_window_names();
// Throws InvalidArgument when a window is unknown or listed twice, or the
// list is empty; `what` names the field ("windows").
void check_ct_windows(const std::vector<std::string>& windows, const std::string& what);

}  // namespace radclear::stages
