#include "stages/any_spec.h"

#include <vector>

namespace radclear::stages {

namespace {

// Tries each alternative of AnySpec in turn: the one whose kStage matches.
template <size_t I = 0>
AnySpec decode_alternative(const std::string& stage, const std::string& payload, std::vector<std::string>& names) {
  if constexpr (I < std::variant_size_v<AnySpec>) {
    using Spec = std::variant_alternative_t<I, AnySpec>;
    if (stage == Spec::kStage) return from_payload<Spec>(payload);
    names.emplace_back(Spec::kStage);
    return decode_alternative<I + 1>(stage, payload, names);
  } else {
    throw InvalidArgument(fmt::format("job payload: unknown stage '{}'; known stages: {}", stage, fmt::join(names, ", ")));
  }
}

}  // namespace

const char* stage_name(const AnySpec& spec) {
  return std::visit([](const auto& s) { return std::decay_t<decltype(s)>::kStage; }, spec);
}

std::string to_payload(const AnySpec& spec) {
  return std::visit([](const auto& s) { return to_payload(s); }, spec);
}

AnySpec any_from_payload(const std::string& payload) {
  const PayloadHeader h = read_payload_header(payload);
  std::vector<std::string> names;
  return decode_alternative(h.stage, payload, names);
}

void validate(const AnySpec& spec) {
  std::visit([](const auto& s) { s.validate(); }, spec);
}

}  // namespace radclear::stages
