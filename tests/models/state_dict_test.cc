#include "models/backbones/state_dict.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "common/check.h"

namespace radclear::models {
namespace {
namespace nn = torch::nn;

// Like a tiny PyTorch model: own parameter, Linear without bias, BN buffers.
struct ToyImpl : nn::Module {
  ToyImpl() {
    scale = register_parameter("scale", torch::ones({3}));
    body = register_module("body", nn::Sequential(nn::Linear(nn::LinearOptions(4, 3).bias(false)),
                                                  nn::BatchNorm1d(3)));
    out = register_module("out", nn::Linear(3, 2));
  }
  torch::Tensor scale;
  nn::Sequential body{nullptr};
  nn::Linear out{nullptr};
};

TEST(StateDict, KeysInPyTorchOrder) {
  auto toy = std::make_shared<ToyImpl>();
  const auto state = named_state(*toy);
  const std::vector<std::string> want = {"scale",
                                         "body.0.weight",
                                         "body.1.weight",
                                         "body.1.bias",
                                         "body.1.running_mean",
                                         "body.1.running_var",
                                         "body.1.num_batches_tracked",
                                         "out.weight",
                                         "out.bias"};
  EXPECT_EQ(state.keys(), want);
}

StateDict copy_of(const nn::Module& m) {
  StateDict out;
  for (const auto& item : named_state(m)) out[item.key()] = item.value().detach().clone();
  return out;
}

TEST(StateDict, StrictLoadCopiesValues) {
  auto src = std::make_shared<ToyImpl>();
  auto dst = std::make_shared<ToyImpl>();
  auto state = copy_of(*src);
  state["out.weight"].fill_(0.25);
  state["body.1.num_batches_tracked"].fill_(7);
  load_state_dict_strict(*dst, state);
  EXPECT_TRUE(torch::equal(dst->out->weight, torch::full({2, 3}, 0.25)));
  EXPECT_EQ(named_state(*dst)["body.1.num_batches_tracked"].item<int64_t>(), 7);
  EXPECT_TRUE(dst->out->weight.requires_grad());
}

TEST(StateDict, StrictLoadNamesEveryMismatchAndCopiesNothing) {
  auto dst = std::make_shared<ToyImpl>();
  const auto before = dst->out->bias.clone();
  auto state = copy_of(*dst);
  state.erase("body.1.running_var");
  state["body.0.bias"] = torch::zeros({3});
  state["out.weight"] = torch::zeros({3, 2});
  state["out.bias"] = torch::full({2}, 9.0);
  try {
    load_state_dict_strict(*dst, state, "toy.pth");
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("toy.pth"), std::string::npos) << msg;
    EXPECT_NE(msg.find("1 missing key(s): body.1.running_var"), std::string::npos) << msg;
    EXPECT_NE(msg.find("1 unexpected key(s): body.0.bias"), std::string::npos) << msg;
    EXPECT_NE(msg.find("out.weight: module 2x3 vs dict 3x2"), std::string::npos) << msg;
  }
  EXPECT_TRUE(torch::equal(dst->out->bias, before));
}

TEST(StateDict, DescribeTruncatesLongLists) {
  StateDictMismatch m;
  for (int i = 0; i < 30; ++i) m.missing.push_back("k" + std::to_string(i));
  const auto text = m.describe(5);
  EXPECT_NE(text.find("30 missing key(s): k0, k1, k2, k3, k4, ... and 25 more"), std::string::npos) << text;
  EXPECT_TRUE(StateDictMismatch{}.empty());
}

TEST(StateDict, SubStateDictStripsPrefixAndDrops) {
  StateDict state;
  state["module.base_encoder.blocks.0.w"] = torch::ones({1});
  state["module.base_encoder.head.0.weight"] = torch::ones({1});
  state["module.base_encoderX.bad"] = torch::ones({1});
  state["module.momentum_encoder.blocks.0.w"] = torch::ones({1});
  const auto sub = sub_state_dict(state, "module.base_encoder.", {"head."});
  ASSERT_EQ(sub.size(), 1u);
  EXPECT_EQ(sub.begin()->first, "blocks.0.w");
  EXPECT_EQ(sub_state_dict(state, "module.").size(), 4u);
  EXPECT_TRUE(sub_state_dict(state, "nothing.").empty());
}

}  // namespace
}  // namespace radclear::models
