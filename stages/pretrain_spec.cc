#include "stages/pretrain_spec.h"

#include "stages/arch_info.h"
#include "stages/ct_window.h"

namespace radclear::stages {

void PretrainSpec::validate() const {
  auto need = [](bool ok, const std::string& msg) {
    if (!ok) throw InvalidArgument("pretrain: " + msg);
  };
  check_fields(*this);
  check_precision_on(device, precision, "pretrain");
  need(name.find('/') == std::string::npos && !name.empty(), fmt::format("name '{}' must be a plain word", name));
  need(start_epoch < epochs, fmt::format("start_epoch {} must be below epochs {}", start_epoch, epochs));
  need(image_size % 16 == 0, fmt::format("image_size must be a multiple of 16, got {}", image_size));
  try {
    check_ct_windows(windows, "windows");
  } catch (const InvalidArgument& e) {
    need(false, e.what());
  }
}

}  // namespace radclear::stages
