#include "stages/outputs.h"

#include "stages/checkpoint_name.h"

namespace radclear::stages {

namespace {

std::vector<std::string> outputs_of(const SynthSpec& s) { return {s.out.string()}; }
std::vector<std::string> outputs_of(const IndexSpec& s) { return {s.db.string()}; }
std::vector<std::string> outputs_of(const PretrainSpec& s) { return {final_checkpoint(s).string(), s.out.string()}; }
std::vector<std::string> outputs_of(const ExtractSpec& s) { return {s.out.string()}; }
std::vector<std::string> outputs_of(const CrossvalSpec& s) {
  if (s.fold >= 0) return {s.out_dir.string()};
  return {s.out_dir.string(), (s.out_dir / "stats.csv").string()};
}
std::vector<std::string> outputs_of(const DeploySpec& s) { return {s.out_dir.string()}; }

}  // namespace

std::vector<std::string> output_paths(const AnySpec& spec) {
  return std::visit([](const auto& s) { return outputs_of(s); }, spec);
}

}  // namespace radclear::stages
