#include "stages/payload.h"

namespace radclear::stages {

PayloadHeader read_payload_header(const std::string& payload, YAML::Node* spec_node) {
  YAML::Node n;
  try {
    n = YAML::Load(payload);
  } catch (const YAML::Exception& e) {
    throw InvalidArgument(fmt::format("job payload: not valid YAML: {}", e.what()));
  }
  if (!n.IsMap() || !n["format"] || !n["stage"] || !n["version"] || !n["spec"]) {
    throw InvalidArgument("job payload: expected a mapping with format, stage, version and spec");
  }
  PayloadHeader h;
  try {
    h.format = n["format"].as<int>();
    h.stage = n["stage"].as<std::string>();
    h.version = n["version"].as<int>();
  } catch (const YAML::Exception&) {
    throw InvalidArgument("job payload: format and version must be whole numbers, stage a name");
  }
  if (h.format != kPayloadFormat) {
    throw InvalidArgument(
        fmt::format("job payload: envelope format {}, this radclear reads format {}", h.format, kPayloadFormat));
  }
  if (spec_node != nullptr) *spec_node = n["spec"];
  return h;
}

}  // namespace radclear::stages
