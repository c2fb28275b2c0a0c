#include "stages/field.h"

namespace radclear::stages {

std::string Field::flag_name() const {
  if (flag_ != nullptr) return flag_;
  std::string f = std::string("--") + key_;
  for (auto& c : f) c = c == '_' ? '-' : c;
  return f;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = s.find(',', start);
    std::string part = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!part.empty()) out.push_back(std::move(part));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace radclear::stages
