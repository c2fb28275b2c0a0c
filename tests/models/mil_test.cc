// MIL heads against our PyTorch definitions (scripts/golden/mil.py) plus
// the masking properties the reference got wrong.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/check.h"
#include "models/mil/mil.h"

namespace radclear::models {
namespace {

nlohmann::json load_golden() {
  std::ifstream in(std::string(RADCLEAR_SOURCE_DIR) + "/tests/golden/mil/mil_forward.json");
  EXPECT_TRUE(in.good()) << "missing golden file; run /usr/bin/python3 scripts/golden/mil.py";
  return nlohmann::json::parse(in);
}

// Same formula as deterministic_fill() in scripts/golden/mil.py.
void deterministic_fill(torch::nn::Module& m) {
  torch::NoGradGuard ng;
  for (auto& item : m.named_parameters()) {
    int c = 0;
    for (unsigned char ch : item.key()) c += ch;
    c %= 97;
    auto idx = torch::arange(item.value().numel(), torch::kFloat64);
    item.value().copy_((0.3 * torch::sin(0.61 * idx + 0.37 * c)).reshape(item.value().sizes()).to(torch::kFloat32));
  }
}

torch::Tensor from_json(const nlohmann::json& j, std::vector<int64_t> shape, torch::Dtype dt = torch::kFloat32) {
  std::vector<double> v = j.get<std::vector<double>>();
  return torch::tensor(v, torch::kFloat64).reshape(shape).to(dt);
}

MilOptions golden_options(const nlohmann::json& g, const std::string& name) {
  MilOptions o;
  const auto& c = g["options"];
  o.in_dim = g["in_dim"];
  o.n_labels = g["n_labels"];
  o.hidden = c["hidden"];
  o.attention_dim = c["attention_dim"];
  o.pma_heads = c["pma_heads"];
  o.pma_seeds = c["pma_seeds"];
  o.linear_hidden = name == "linear0" ? 0 : c["linear_hidden"].get<int64_t>();
  o.dropout = c["dropout"];
  o.kind = parse_mil_kind(name == "linear0" ? "linear" : name);
  return o;
}

class MilGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(MilGolden, ForwardMatchesPytorch) {
  const auto g = load_golden();
  const std::string name = GetParam();
  const auto shape = g["shape"].get<std::vector<int64_t>>();
  const auto feats = from_json(g["feats"], shape);
  const auto mask = from_json(g["mask"], {shape[0], shape[1]}).to(torch::kBool);
  auto model = make_mil_model(golden_options(g, name));
  const auto& ref = g["models"][name];

  std::vector<std::string> keys;
  for (const auto& p : model->named_parameters()) keys.push_back(p.key());
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, ref["state_dict_keys"].get<std::vector<std::string>>());

  deterministic_fill(*model);
  model->eval();
  torch::NoGradGuard ng;
  const auto out = model->forward(feats, mask);
  const auto want_logits = from_json(ref["logits"], {shape[0], g["n_labels"].get<int64_t>()});
  const auto want_att = from_json(ref["attention"], {shape[0], shape[1]});
  EXPECT_TRUE(torch::allclose(out.logits, want_logits, 1e-4, 1e-5))
      << "got\n" << out.logits << "\nwant\n" << want_logits;
  EXPECT_TRUE(torch::allclose(out.attention, want_att, 1e-4, 1e-6))
      << "got\n" << out.attention << "\nwant\n" << want_att;
}

INSTANTIATE_TEST_SUITE_P(AllHeads, MilGolden,
                         ::testing::Values("abmil", "abmil_gated", "pma", "linear", "linear0"));

class MilMasking : public ::testing::TestWithParam<std::string> {};

// Padded rows, whatever they hold, change neither logits nor attention on
// real rows, and receive exactly zero attention.
TEST_P(MilMasking, PaddingIsInvisible) {
  torch::manual_seed(3);
  MilOptions o;
  o.kind = parse_mil_kind(GetParam());
  o.in_dim = 10;
  o.n_labels = 2;
  o.hidden = 32;
  o.attention_dim = 16;
  auto model = make_mil_model(o);
  model->eval();
  torch::NoGradGuard ng;
  const auto x = torch::randn({2, 5, 10});
  const auto mask = torch::ones({2, 5}, torch::kBool);
  const auto base = model->forward(x, mask);

  auto padded = torch::cat({x, 100.0 * torch::randn({2, 7, 10})}, 1);
  auto pmask = torch::cat({mask, torch::zeros({2, 7}, torch::kBool)}, 1);
  const auto out = model->forward(padded, pmask);
  EXPECT_TRUE(torch::allclose(out.logits, base.logits, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(out.attention.slice(1, 0, 5), base.attention, 1e-5, 1e-6));
  EXPECT_EQ(out.attention.slice(1, 5).abs().max().item<float>(), 0.0f);
  EXPECT_TRUE(torch::allclose(out.attention.sum(1), torch::ones({2}), 1e-5, 1e-5));
}

// A bag without any instance must not poison training with NaN.
TEST_P(MilMasking, EmptyBagHasFiniteGradients) {
  torch::manual_seed(4);
  MilOptions o;
  o.kind = parse_mil_kind(GetParam());
  o.in_dim = 6;
  o.n_labels = 3;
  o.hidden = 8;
  o.attention_dim = 8;
  o.pma_heads = 2;
  auto model = make_mil_model(o);
  model->train();
  const auto x = torch::randn({2, 4, 6});
  auto mask = torch::ones({2, 4}, torch::kBool);
  mask[1].fill_(false);
  const auto out = model->forward(x, mask);
  EXPECT_EQ(out.attention[1].abs().sum().item<float>(), 0.0f);
  out.logits.sum().backward();
  for (const auto& p : model->parameters()) {
    ASSERT_TRUE(p.grad().defined());
    EXPECT_TRUE(torch::isfinite(p.grad()).all().item<bool>());
  }
}

INSTANTIATE_TEST_SUITE_P(AllHeads, MilMasking, ::testing::Values("abmil", "abmil_gated", "pma", "linear"));

TEST(MilModel, RejectsBadOptionsAndNames) {
  MilOptions o;
  o.in_dim = 4;
  o.n_labels = 0;
  EXPECT_THROW(make_mil_model(o), InvalidArgument);
  o.n_labels = 2;
  o.kind = MilKind::kPma;
  o.hidden = 10;
  o.pma_heads = 4;
  EXPECT_THROW(make_mil_model(o), InvalidArgument);
  try {
    parse_mil_kind("abmill");
    FAIL() << "no throw";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("abmil_gated"), std::string::npos) << e.what();
  }
  for (const auto& n : mil_kind_names()) EXPECT_EQ(mil_kind_name(parse_mil_kind(n)), n);
}

TEST(MilModel, WrongFeatureWidthNamesShapes) {
  MilOptions o;
  o.in_dim = 4;
  o.n_labels = 2;
  auto model = make_mil_model(o);
  try {
    model->forward(torch::zeros({1, 3, 5}), torch::ones({1, 3}, torch::kBool));
    FAIL() << "no throw";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("1x3x5"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace radclear::models
