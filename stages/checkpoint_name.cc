#include "stages/checkpoint_name.h"

#include <fmt/format.h>

#include "common/check.h"
#include "stages/pretrain_spec.h"

namespace radclear::stages {

std::string moco_checkpoint_file_name(const std::string& arch, const std::string& name, int64_t epoch) {
  if (arch.empty() || name.empty() || arch.find('/') != std::string::npos ||
      name.find('/') != std::string::npos || epoch < 0) {
    throw InvalidArgument(fmt::format("checkpoint name: need non-empty arch ('{}') and name ('{}') without '/' "
                                      "and epoch >= 0 ({})",
                                      arch, name, epoch));
  }
  return fmt::format("{}-moco-lecl-1-{}-checkpoint_{:04d}.pth.tar", arch, name, epoch);
}

std::filesystem::path final_checkpoint(const PretrainSpec& spec) {
  return spec.out / moco_checkpoint_file_name(spec.arch, spec.name, spec.epochs);
}

}  // namespace radclear::stages
