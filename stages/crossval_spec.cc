#include "stages/crossval_spec.h"

namespace radclear::stages {

void CrossvalSpec::validate() const {
  auto bad = [](const std::string& msg) { throw InvalidArgument("crossval: " + msg); };
  check_fields(*this);
  check_precision_on(device, precision, "crossval");
  if (labels.empty() == categorical.empty()) {
    bad("give either labels (binary 0/1 columns) or categorical (one column), not both or neither");
  }
  if (!(valid_fraction < 0.5)) bad(fmt::format("valid_fraction must be in (0, 0.5), got {}", valid_fraction));
  if (fold >= folds) bad(fmt::format("fold must be -1 (all) or 0..{}, got {}", folds - 1, fold));
  parse_csv_separator(csv_separator, "crossval: csv_separator");
  if (dropout >= 1.0) bad(fmt::format("dropout must be in [0, 1), got {}", dropout));
}

}  // namespace radclear::stages
