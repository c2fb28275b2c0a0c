#include "models/backbones/backbone.h"

#include <torch/torch.h>

#include "common/check.h"

namespace radclear::models {
namespace nn = torch::nn;

torch::Tensor BackboneImpl::forward_head(const torch::Tensor& features) {
  const std::string& name = info().head_name;
  const auto children = named_children();
  const auto* entry = children.find(name);
  if (entry == nullptr) {
    throw InvalidArgument(fmt::format("backbone '{}': no submodule named '{}' to use as head",
                                      info().arch, name));
  }
  const std::shared_ptr<nn::Module>& head = *entry;
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
