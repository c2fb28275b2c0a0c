#pragma once
// The serialised form of a stage spec: what the coordinator stores in its
// job table and sends to a worker group, and what a worker turns back into
// the spec it runs. A YAML document, versioned twice over:
//
//   format: 1            # this envelope
//   stage: pretrain      # which spec follows
//   version: 1           # that spec's field set (Spec::kVersion)
//   spec: {db: ..., ...} # every field, as to_yaml() writes it
//
// A payload of another format, stage or version is refused, never guessed.
#include <string>

#include <yaml-cpp/yaml.h>

#include "stages/field.h"

namespace radclear::stages {

inline constexpr int kPayloadFormat = 1;

// The envelope of a payload, without decoding its spec.
struct PayloadHeader {
  int format = 0;
  std::string stage;
  int version = 0;
};

// Parses and checks the envelope; throws InvalidArgument naming what is wrong.
PayloadHeader read_payload_header(const std::string& payload, YAML::Node* spec_node = nullptr);

template <typename Spec>
std::string to_payload(const Spec& spec) {
  YAML::Node n(YAML::NodeType::Map);
  n["format"] = kPayloadFormat;
  n["stage"] = Spec::kStage;
  n["version"] = Spec::kVersion;
  n["spec"] = to_yaml(spec);
  YAML::Emitter e;
  e << n;
  return std::string(e.c_str()) + "\n";
}

// The spec a payload holds (defaults for keys it lacks), validated. Throws
// InvalidArgument when the payload is not a `Spec::kStage` payload of this
// version, or a field is unknown or bad.
template <typename Spec>
Spec from_payload(const std::string& payload) {
  YAML::Node node;
  const PayloadHeader h = read_payload_header(payload, &node);
  if (h.stage != Spec::kStage) {
    throw InvalidArgument(fmt::format("job payload: holds a '{}' spec, expected '{}'", h.stage, Spec::kStage));
  }
  if (h.version != Spec::kVersion) {
    throw InvalidArgument(fmt::format("job payload: {} spec version {}, this radclear reads version {} (upgrade the "
                                      "older side)",
                                      h.stage, h.version, Spec::kVersion));
  }
  Spec spec{};
  merge_yaml(spec, node, fmt::format("{} job payload", h.stage));
  spec.validate();
  return spec;
}

}  // namespace radclear::stages
