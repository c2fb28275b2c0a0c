#include "stages/pretrain_spec.h"

#include "stages/arch_info.h"
#include "stages/ct_window.h"

namespace radclear::stages {

void PretrainSpec::validate() const {
  auto need = [](bool ok, const std::string& msg) {
    if (!ok) throw InvalidArgument("pretrain: " + msg);
  };
  check_fields(*this);
  need(name.find('/') == std::string::npos && !name.empty(), fmt::format("name '{}' must be a plain word", name));
  need(image_size % 16 == 0, fmt::format("image_size must be a multiple of 16, got {}", image_size));
  need(warmup_epochs <= static_cast<double>(epochs),
       fmt::format("warmup_epochs must be in 0..epochs ({}), got {}", epochs, warmup_epochs));
  try {
    parse_ct_window(window);
  } catch (const InvalidArgument& e) {
    need(false, fmt::format("window: {}", e.what()));
  }
}

}  // namespace radclear::stages
