#include "models/backbones/state_dict.h"

#include <torch/torch.h>

#include <fmt/format.h>

#include "common/check.h"

namespace radclear::models {
namespace {

void collect(const torch::nn::Module& module, const std::string& prefix,
             torch::OrderedDict<std::string, torch::Tensor>& out) {
  // LibTorch registers an undefined tensor for an absent bias; PyTorch has
  // no key for it.
  for (const auto& p : module.named_parameters(/*recurse=*/false)) {
    if (!p.value().defined()) continue;
    out.insert(prefix + p.key(), p.value());
  }
  for (const auto& b : module.named_buffers(/*recurse=*/false)) {
    if (!b.value().defined()) continue;
    out.insert(prefix + b.key(), b.value());
  }
  for (const auto& child : module.named_children()) {
    collect(*child.value(), prefix + child.key() + ".", out);
  }
}

std::string shape_str(const torch::Tensor& t) {
  return t.dim() == 0 ? "scalar" : fmt::format("{}", fmt::join(t.sizes().vec(), "x"));
}

void describe_list(std::string& out, const char* label, const std::vector<std::string>& items,
                   size_t max_items) {
  if (items.empty()) return;
  out += fmt::format("{}{} {} key(s): ", out.empty() ? "" : "; ", items.size(), label);
  for (size_t i = 0; i < items.size() && i < max_items; ++i) {
    out += (i ? ", " : "") + items[i];
  }
  if (items.size() > max_items) out += fmt::format(", ... and {} more", items.size() - max_items);
}

}  // namespace

torch::OrderedDict<std::string, torch::Tensor> named_state(const torch::nn::Module& module) {
  torch::OrderedDict<std::string, torch::Tensor> out("state dict entry");
  collect(module, "", out);
  return out;
}

std::string StateDictMismatch::describe(size_t max_per_list) const {
  std::string out;
  describe_list(out, "missing", missing, max_per_list);
  describe_list(out, "unexpected", unexpected, max_per_list);
  describe_list(out, "wrongly shaped", bad_shape, max_per_list);
  return out;
}

StateDictMismatch compare_state_dict(const torch::nn::Module& module, const StateDict& state) {
  StateDictMismatch m;
  const auto own = named_state(module);
  for (const auto& item : own) {
    const auto it = state.find(item.key());
    if (it == state.end()) {
      m.missing.push_back(item.key());
    } else if (!it->second.defined() || it->second.sizes() != item.value().sizes()) {
      m.bad_shape.push_back(fmt::format("{}: module {} vs dict {}", item.key(), shape_str(item.value()),
                                        it->second.defined() ? shape_str(it->second) : "undefined"));
    }
  }
  for (const auto& kv : state) {
    if (own.find(kv.first) == nullptr) m.unexpected.push_back(kv.first);
  }
  return m;
}

void load_state_dict_strict(torch::nn::Module& module, const StateDict& state, const std::string& what) {
  const auto mismatch = compare_state_dict(module, state);
  if (!mismatch.empty()) {
    throw InvalidArgument(fmt::format("{} does not match module {} ({} keys): {}", what, module.name(),
                                      named_state(module).size(), mismatch.describe()));
  }
  torch::NoGradGuard no_grad;
  for (auto& item : named_state(module)) {
    item.value().copy_(state.at(item.key()));
  }
}

StateDict sub_state_dict(const StateDict& state, const std::string& prefix,
                         const std::vector<std::string>& drop) {
  StateDict out;
  for (auto it = state.lower_bound(prefix); it != state.end() && it->first.compare(0, prefix.size(), prefix) == 0;
       ++it) {
    std::string key = it->first.substr(prefix.size());
    bool dropped = false;
    for (const auto& d : drop) dropped = dropped || key.compare(0, d.size(), d) == 0;
    if (!dropped) out.emplace(std::move(key), it->second);
  }
  return out;
}

}  // namespace radclear::models
