// Forward outputs of every backbone against our PyTorch definitions
// (scripts/golden/backbones.py; ResNet is torchvision's own). Both sides fill
// every state-dict entry from the same integer-hash formula (recipe_fill
// below mirrors the script bit for bit), the C++ model loads the Python key
// list strictly, and outputs must agree to 1e-4 relative (VMamba: computed
// in float64 on both sides, see the manifest's "float64").
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/backbones/registry.h"
#include "models/backbones/state_dict.h"

namespace radclear::models {
namespace {

const std::string kGoldenDir = std::string(RADCLEAR_SOURCE_DIR) + "/tests/golden/backbones/";

uint32_t fnv1a32(const std::string& text) {
  uint32_t h = 0x811C9DC5u;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x01000193u;
  }
  return h;
}

// The script's recipe_fill: value of state-dict entry `name` with `shape`.
torch::Tensor recipe_fill(const std::string& name, const std::vector<int64_t>& shape) {
  int64_t numel = 1;
  for (int64_t s : shape) numel *= s;
  const std::string leaf = name.substr(name.rfind('.') == std::string::npos ? 0 : name.rfind('.') + 1);
  if (leaf == "num_batches_tracked") return torch::zeros(shape, torch::kLong);
  const uint32_t seed = fnv1a32(name);
  // VMamba's stacked per-scan linears [K, out, in]: fan-in is the last dimension.
  const bool stacked_linear = leaf == "x_proj_weight" || leaf == "dt_projs_weight";
  const double fan_in = stacked_linear ? double(shape.back()) : shape.size() >= 2 ? double(numel / shape[0]) : 1.0;
  const double scale = std::sqrt(3.0) / std::sqrt(fan_in);
  enum { kVar, kMean, kMatrix, kScale, kShift } rule = kShift;
  if (leaf == "running_var") {
    rule = kVar;
  } else if (leaf == "running_mean") {
    rule = kMean;
  } else if (shape.size() >= 2) {
    rule = kMatrix;
  } else if (leaf == "weight") {
    rule = kScale;
  }
  auto out = torch::empty({numel}, torch::kFloat32);
  float* p = out.data_ptr<float>();
  for (int64_t i = 0; i < numel; ++i) {
    uint32_t x = static_cast<uint32_t>(i) * 0x9E3779B1u + seed;
    x ^= x >> 16;
    x *= 0x045D9F3Bu;
    x ^= x >> 16;
    x *= 0x045D9F3Bu;
    x ^= x >> 16;
    const double u = double(x) / 4294967296.0;
    double v = 0.1 * (2 * u - 1);
    switch (rule) {
      case kVar: v = 0.5 + u; break;
      case kMean: v = 0.2 * (2 * u - 1); break;
      case kMatrix: v = (2 * u - 1) * scale; break;
      case kScale: v = 1 + 0.2 * (2 * u - 1); break;
      case kShift: break;
    }
    p[i] = static_cast<float>(v);
  }
  return out.reshape(shape);
}

nlohmann::json load_manifest() {
  std::ifstream in(kGoldenDir + "manifest.json");
  if (!in) throw std::runtime_error("cannot open " + kGoldenDir + "manifest.json");
  return nlohmann::json::parse(in);
}

std::vector<float> read_floats(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error("cannot open " + path);
  const auto bytes = static_cast<size_t>(in.tellg());
  std::vector<float> v(bytes / sizeof(float));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
  return v;
}

// max |a - b| <= 1e-4 * max |b| (relative to the output's scale).
void expect_close(const torch::Tensor& got, const torch::Tensor& want, const std::string& what) {
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  const double scale = want.abs().max().item<double>();
  const double err = (got - want).abs().max().item<double>();
  EXPECT_LE(err, 1e-4 * scale) << what << ": max abs error " << err << " at output scale " << scale;
}

std::vector<std::string> golden_archs() {
  std::vector<std::string> out;
  const auto manifest = load_manifest();
  for (const auto& m : manifest["models"]) out.push_back(m["arch"].get<std::string>());
  return out;
}

class BackboneGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(BackboneGolden, ForwardMatchesPyTorch) {
  torch::manual_seed(0);
  const auto manifest = load_manifest();
  const int64_t batch = manifest["batch"].get<int64_t>();
  nlohmann::json entry;
  for (const auto& m : manifest["models"]) {
    if (m["arch"] == GetParam()) entry = m;
  }
  ASSERT_FALSE(entry.is_null());

  BackboneOptions options;
  options.image_size = entry["image_size"].get<int64_t>();
  options.num_classes = manifest["num_classes"].get<int64_t>();
  auto model = make_backbone(GetParam(), options);
  EXPECT_EQ(model->info().feature_dim, entry["feature_dim"].get<int64_t>());

  // The Python key list, filled by the recipe; pos_embed and Swin's
  // relative_position_index are each side's own.
  const auto own = named_state(*model);
  StateDict state;
  for (const auto& e : entry["state"]) {
    const auto name = e[0].get<std::string>();
    const auto shape = e[1].get<std::vector<int64_t>>();
    const std::string leaf = name.substr(name.rfind('.') == std::string::npos ? 0 : name.rfind('.') + 1);
    const bool own_value = (leaf == "pos_embed" || leaf == "relative_position_index") && own.find(name) != nullptr;
    state[name] = own_value ? own[name].clone() : recipe_fill(name, shape);
  }
  load_state_dict_strict(*model, state, "golden " + GetParam());
  // Same keys in the same order as Python's state_dict().
  ASSERT_EQ(own.size(), entry["state"].size());
  for (size_t i = 0; i < own.size(); ++i) {
    EXPECT_EQ(own[i].key(), entry["state"][i][0].get<std::string>()) << "position " << i;
    const bool is_int64 = entry["state"][i].size() > 2 && entry["state"][i][2] == "int64";
    EXPECT_EQ(own[i].value().scalar_type(), is_int64 ? torch::kLong : torch::kFloat32) << own[i].key();
  }

  // Deep models whose float32 rounding alone exceeds the tolerance have
  // float64 goldens (the manifest says so); they run in float64 here too.
  const bool float64 = entry.value("float64", false);
  if (float64) model->to(torch::kDouble);
  const int64_t s = options.image_size;
  const auto x = recipe_fill("input", {batch, 3, s, s}).to(float64 ? torch::kDouble : torch::kFloat);
  auto floats = read_floats(kGoldenDir + entry["outputs"].get<std::string>());
  const auto want = torch::from_blob(floats.data(), {static_cast<int64_t>(floats.size())}, torch::kFloat32).clone();
  const int64_t d = model->info().feature_dim, c = options.num_classes;
  const bool train_output = entry["train_mode_output"].get<bool>();
  ASSERT_EQ(want.numel(), batch * (d + c * (train_output ? 2 : 1)));

  torch::NoGradGuard no_grad;
  model->eval();
  expect_close(model->forward_features(x).to(torch::kFloat), want.slice(0, 0, batch * d).view({batch, d}),
               "features (eval)");
  expect_close(model->forward(x).to(torch::kFloat), want.slice(0, batch * d, batch * (d + c)).view({batch, c}),
               "head (eval)");
  if (train_output) {
    model->train();
    expect_close(model->forward(x), want.slice(0, batch * (d + c)).view({batch, c}), "head (train, batch stats)");
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, BackboneGolden, ::testing::ValuesIn(golden_archs()),
                         [](const auto& info) { return info.param; });

// Every registered architecture (but the aliases) has golden data and vice versa.
TEST(BackboneGoldenManifest, CoversEveryRegisteredBackbone) {
  const auto manifest = load_manifest();
  for (const auto& m : manifest["models"]) {
    EXPECT_TRUE(builtin_backbones().contains(m["arch"].get<std::string>())) << m["arch"];
  }
  for (const auto& name : builtin_backbones().names()) {
    if (name == "mambaout" || name == "swin" || name == "vmamba") continue;  // aliases of the *_tiny
    bool found = false;
    for (const auto& m : manifest["models"]) found = found || m["arch"] == name;
    EXPECT_TRUE(found) << name << " has no golden data; add it to scripts/golden/backbones.py";
  }
}

}  // namespace
}  // namespace radclear::models
