#pragma once
// PyTorch-style state dicts for LibTorch modules: parameters and persistent
// buffers under their dotted names, in the order nn.Module.state_dict()
// produces them (a module's own parameters, its own buffers, then each child
// in registration order). Used to exchange weights with Python strictly.
#include <torch/nn/module.h>
#include <torch/ordered_dict.h>
#include <torch/types.h>

#include <map>
#include <string>
#include <vector>

namespace radclear::models {

using StateDict = std::map<std::string, torch::Tensor>;

// Every parameter and buffer of `module` by its state-dict key. The tensors
// alias the module's storage (no copy).
torch::OrderedDict<std::string, torch::Tensor> named_state(const torch::nn::Module& module);

// How a state dict differs from a module's own keys and shapes.
struct StateDictMismatch {
  std::vector<std::string> missing;     // in the module, not in the dict
  std::vector<std::string> unexpected;  // in the dict, not in the module
  std::vector<std::string> bad_shape;   // "key: module AxB vs dict CxD"
  bool empty() const { return missing.empty() && unexpected.empty() && bad_shape.empty(); }
  // Human-readable, at most `max_per_list` names per list.
  std::string describe(size_t max_per_list = 12) const;
};

StateDictMismatch compare_state_dict(const torch::nn::Module& module, const StateDict& state);

// Copies `state` into `module` (dtype converted as PyTorch's copy_ does).
// Strict: throws InvalidArgument when any key is missing or unexpected or a
// shape differs, listing them all; nothing is copied in that case. `what`
// names the source in the message (a file path, "golden vit_tiny").
void load_state_dict_strict(torch::nn::Module& module, const StateDict& state,
                            const std::string& what = "state dict");

// The entries whose key starts with `prefix`, with the prefix removed, e.g.
// sub_state_dict(moco, "module.base_encoder.") for the bare encoder. Keys
// that start with one of `drop` (after removing the prefix; e.g. "head.")
// are left out. The tensors are shared, not copied.
StateDict sub_state_dict(const StateDict& state, const std::string& prefix,
                         const std::vector<std::string>& drop = {});

}  // namespace radclear::models
