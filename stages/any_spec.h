#pragma once
// Any stage's spec, as one value: what the job runner dispatches on and the
// coordinator stores. to_payload / from_payload (stages/payload.h) pick the
// alternative by the payload's `stage`.
#include <string>
#include <variant>

#include "stages/crossval_spec.h"
#include "stages/extract_spec.h"
#include "stages/index_spec.h"
#include "stages/payload.h"
#include "stages/pretrain_spec.h"
#include "stages/synth_spec.h"

namespace radclear::stages {

using AnySpec = std::variant<SynthSpec, IndexSpec, PretrainSpec, ExtractSpec, CrossvalSpec, DeploySpec>;

// "pretrain", ... of the alternative held.
const char* stage_name(const AnySpec& spec);
std::string to_payload(const AnySpec& spec);
// The spec of a payload of any stage; throws InvalidArgument for an unknown
// stage (listing the known ones), another version, or a bad field.
AnySpec any_from_payload(const std::string& payload);
void validate(const AnySpec& spec);

}  // namespace radclear::stages
