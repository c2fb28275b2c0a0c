#include "stages/extract_spec.h"

#include "stages/ct_window.h"

namespace radclear::stages {

void ExtractSpec::validate() const {
  check_fields(*this);
  check_precision_on(device, precision, "extract");
  try {
    if (!windows.empty()) check_ct_windows(windows, "--windows");
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(fmt::format("extract: {}", e.what()));
  }
  if (image_size != 0 && image_size < 32) {
    throw InvalidArgument(fmt::format("extract: image_size must be 0 (auto) or >= 32 (got {})", image_size));
  }
}

}  // namespace radclear::stages
