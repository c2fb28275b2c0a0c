#include "models/backbones/backbone.h"

#include <torch/torch.h>

#include <utility>

#include "common/check.h"

namespace radclear::models {
namespace nn = torch::nn;

namespace {

// The module that owns the last component of `path` ("a.b.c" -> a.b) and
// that component; the owner is null when a component on the way is missing.
// The module tree keeps every child alive, so the raw pointers stay valid.
std::pair<nn::Module*, std::string> head_owner(nn::Module* root, const std::string& path) {
  nn::Module* owner = root;
  size_t begin = 0;
  for (size_t dot = path.find('.'); dot != std::string::npos && owner != nullptr; dot = path.find('.', begin)) {
    const auto children = owner->named_children();  // a copy: find() points into it
    const auto* child = children.find(path.substr(begin, dot - begin));
    owner = child != nullptr ? child->get() : nullptr;
    begin = dot + 1;
  }
  return {owner, path.substr(begin)};
}

}  // namespace

std::shared_ptr<nn::Module> BackboneImpl::head_module() const {
  // Only read: named_children() is const.
  const auto [owner, name] = head_owner(const_cast<BackboneImpl*>(this), info().head_name);
  if (owner == nullptr) return nullptr;
  const auto children = owner->named_children();
  const auto* entry = children.find(name);
  return entry != nullptr ? *entry : nullptr;
}

void BackboneImpl::replace_head(std::shared_ptr<nn::Module> head) {
  const auto [owner, name] = head_owner(this, info().head_name);
  if (owner == nullptr || !owner->named_children().contains(name)) {
    throw InvalidArgument(fmt::format("backbone '{}': no submodule at '{}' to replace as head", info().arch,
                                      info().head_name));
  }
  owner->replace_module(name, std::move(head));
}

torch::Tensor BackboneImpl::forward_head(const torch::Tensor& features) {
  const std::string& name = info().head_name;
  const std::shared_ptr<nn::Module> head = head_module();
  if (!head) {
    throw InvalidArgument(fmt::format("backbone '{}': no submodule named '{}' to use as head",
                                      info().arch, name));
  }
  if (auto seq = std::dynamic_pointer_cast<nn::SequentialImpl>(head)) {
    return seq->forward(features);
  }
  if (auto linear = std::dynamic_pointer_cast<nn::LinearImpl>(head)) {
    return linear->forward(features);
  }
  if (std::dynamic_pointer_cast<nn::IdentityImpl>(head)) {
    return features;
  }
  if (auto unary = std::dynamic_pointer_cast<UnaryModuleImpl>(head)) {
    return unary->forward(features);
  }
  throw InvalidArgument(fmt::format(
      "backbone '{}': head '{}' is a {}; expected Sequential, Linear, Identity or UnaryModuleImpl",
      info().arch, name, head->name()));
}

}  // namespace radclear::models
