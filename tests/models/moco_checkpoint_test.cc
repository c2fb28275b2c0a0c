// MoCo checkpoints across languages: a checkpoint written by a Python MoCo
// (scripts/golden/checkpoint.py) loads strictly into the C++ MoCo and gives
// the same outputs; one written by C++ loads strictly into the Python MoCo
// and gives the C++ outputs there.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "common/check.h"
#include "models/backbones/registry.h"
#include "models/backbones/state_dict.h"
#include "models/moco/loss.h"
#include "models/moco/moco.h"
#include "storage/checkpoint/checkpoint.h"
#include "storage/checkpoint/optimizer_state.h"
#include "storage/checkpoint/torch_file.h"
#include "tests/models/tiny_backbone.h"

namespace radclear::models {
namespace {

namespace fs = std::filesystem;
using storage::MocoCheckpoint;
using storage::PyValue;

fs::path golden(const std::string& name) {
  return fs::path(RADCLEAR_SOURCE_DIR) / "tests" / "golden" / "checkpoint" / name;
}

StateDict to_map(const storage::TensorDict& d) {
  StateDict out;
  for (const auto& item : d) out[item.key()] = item.value();
  return out;
}

bool python_has_torch() {
  static const bool ok = std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
  return ok;
}

std::pair<int, std::string> run_checkpoint_script(const std::string& args) {
  const std::string cmd = "/usr/bin/python3 " + std::string(RADCLEAR_SOURCE_DIR) +
                          "/scripts/golden/checkpoint.py " + args + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  std::string text;
  char buf[512];
  while (pipe != nullptr && std::fgets(buf, sizeof buf, pipe) != nullptr) text += buf;
  return {pipe == nullptr ? -1 : ::pclose(pipe), text};
}

TEST(MocoCheckpoint, PythonCheckpointGivesTheSameForwardInCpp) {
  const MocoCheckpoint c = storage::load_moco_checkpoint(golden("moco.pth.tar"));
  Moco moco(testing::tiny("vit"), MocoOptions{16, 32});
  load_state_dict_strict(*moco, to_map(c.state_dict), golden("moco.pth.tar").string());
  moco->eval();
  const PyValue io = storage::load_torch_file(golden("moco_io.pth"));
  const auto x = io.at("x").as_tensor();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(moco->query(x), io.at("q").as_tensor(), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(moco->key(x), io.at("k").as_tensor(), 1e-5, 1e-5));
  // A fresh model differs, so the comparison above is meaningful.
  Moco fresh(testing::tiny("vit"), MocoOptions{16, 32});
  fresh->eval();
  EXPECT_FALSE(torch::allclose(fresh->query(x), io.at("q").as_tensor(), 1e-3, 1e-3));
}

TEST(MocoCheckpoint, CppCheckpointGivesTheSameForwardInPython) {
  // scripts/setup.sh installs python3-torch: its absence is a broken setup, not a reason to skip.
  ASSERT_TRUE(python_has_torch()) << "/usr/bin/python3 cannot import torch; run scripts/setup.sh";
  torch::manual_seed(7);
  MocoCheckpoint c = storage::load_moco_checkpoint(golden("moco.pth.tar"));
  Moco moco(testing::tiny("vit"), MocoOptions{16, 32});
  // Resume Python's run for one C++ AdamW step (weights and moments move on).
  load_state_dict_strict(*moco, to_map(c.state_dict), "golden");
  torch::optim::AdamW adamw(moco->parameters(), torch::optim::AdamWOptions(0.5));
  storage::adamw_state_from_py(adamw, c.optimizer, "golden moco.pth.tar");
  EXPECT_DOUBLE_EQ(static_cast<torch::optim::AdamWOptions&>(adamw.param_groups()[0].options()).lr(), 1e-2);
  moco->train();
  const auto out = moco->forward(torch::randn({4, 3, 16, 16}), torch::randn({4, 3, 16, 16}), 0.9);
  moco_total_loss(out.q1, out.q2, out.k1, out.k2, torch::Tensor(), 0, {}).backward();
  adamw.step();
  c.optimizer = storage::adamw_state_to_py(adamw);

  moco->eval();
  const auto x = torch::randn({2, 3, 16, 16});
  c.epoch = 4;
  c.state_dict = named_state(*moco);
  c.radclear = PyValue::dict();
  c.radclear.set("x", PyValue::tensor(x));
  {
    torch::NoGradGuard no_grad;
    c.radclear.set("q", PyValue::tensor(moco->query(x)));
    c.radclear.set("k", PyValue::tensor(moco->key(x)));
  }
  const fs::path dir = fs::temp_directory_path() / ("radclear_moco_ckpt_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path path = dir / storage::moco_checkpoint_file_name("tiny_vit", "unit", c.epoch);
  storage::save_moco_checkpoint(path, c);
  const auto [rc, text] = run_checkpoint_script("verify-moco " + path.string());
  fs::remove_all(dir);
  EXPECT_EQ(rc, 0) << text;
  EXPECT_NE(text.find("OK moco epoch=4 arch=tiny_vit"), std::string::npos) << text;
}

// The same with the registry's vit_tiny against the backbones golden
// script's Python ViT (made at test time: 44 MB is too big to commit).
TEST(MocoCheckpoint, PythonVitTinyMocoGivesTheSameForwardInCpp) {
  // scripts/setup.sh installs python3-torch: its absence is a broken setup, not a reason to skip.
  ASSERT_TRUE(python_has_torch()) << "/usr/bin/python3 cannot import torch; run scripts/setup.sh";
  const fs::path dir = fs::temp_directory_path() / ("radclear_vit_moco_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto [rc, text] = run_checkpoint_script("make-vit-moco " + dir.string());
  ASSERT_EQ(rc, 0) << text;
  const MocoCheckpoint c = storage::load_moco_checkpoint(dir / "moco.pth.tar");
  const PyValue io = storage::load_torch_file(dir / "moco_io.pth");
  fs::remove_all(dir);
  EXPECT_EQ(c.arch, "vit_tiny");
  BackboneOptions options;
  options.image_size = 32;
  options.num_classes = 10;
  Moco moco([&] { return make_backbone(c.arch, options); }, MocoOptions{16, 32});
  load_state_dict_strict(*moco, to_map(c.state_dict), "python vit_tiny MoCo");
  moco->eval();
  torch::NoGradGuard no_grad;
  const auto x = io.at("x").as_tensor();
  const auto q = moco->query(x), k = moco->key(x);
  EXPECT_TRUE(torch::allclose(q, io.at("q").as_tensor(), 1e-4, 1e-4))
      << (q - io.at("q").as_tensor()).abs().max().item<float>();
  EXPECT_TRUE(torch::allclose(k, io.at("k").as_tensor(), 1e-4, 1e-4))
      << (k - io.at("k").as_tensor()).abs().max().item<float>();
}

TEST(MocoCheckpoint, AdamWStateRoundTripsAndRejectsMismatches) {
  const MocoCheckpoint c = storage::load_moco_checkpoint(golden("moco.pth.tar"));
  Moco moco(testing::tiny("vit"), MocoOptions{16, 32});
  torch::optim::AdamW adamw(moco->parameters(), torch::optim::AdamWOptions(0.5));
  storage::adamw_state_from_py(adamw, c.optimizer, "golden");
  const PyValue back = storage::adamw_state_to_py(adamw);
  const PyValue& want = c.optimizer.at("state");
  const PyValue& got = back.at("state");
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const PyValue* entry = got.find(want.keys()[i]);
    ASSERT_NE(entry, nullptr) << want.keys()[i].repr();
    EXPECT_EQ(entry->at("step").as_tensor().item<float>(), 3.0f);
    EXPECT_TRUE(torch::equal(entry->at("exp_avg").as_tensor(), want.values()[i].at("exp_avg").as_tensor()));
    EXPECT_TRUE(torch::equal(entry->at("exp_avg_sq").as_tensor(), want.values()[i].at("exp_avg_sq").as_tensor()));
  }
  EXPECT_EQ(back.at("param_groups").items()[0].at("params").size(), moco->parameters().size());

  // A model with a different shape is refused, naming the source.
  Moco other(testing::tiny("vit"), MocoOptions{8, 32});
  torch::optim::AdamW other_adamw(other->parameters(), torch::optim::AdamWOptions(0.5));
  try {
    storage::adamw_state_from_py(other_adamw, c.optimizer, "golden moco.pth.tar");
    FAIL();
  } catch (const CorruptData& e) {
    EXPECT_NE(std::string(e.what()).find("golden moco.pth.tar"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("shape"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(other_adamw.state().empty());
}

}  // namespace
}  // namespace radclear::models
