// The backbone registry and every registered architecture: shapes, info,
// published parameter counts, heads, initialisation, option validation.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <string>

#include "common/check.h"
#include "models/backbones/mambaout.h"
#include "models/backbones/registry.h"
#include "models/backbones/state_dict.h"
#include "models/backbones/vit.h"
#include "models/backbones/vmamba.h"

namespace radclear::models {
namespace {

// Parameter counts with a 1000-class head at 224 px: timm (vit_tiny/small/
// base_patch16_224; MoCo v3's vit_small has 12 heads, same count), the
// MambaOut paper's table (7.3M, 9.1M, 26.5M, 48.5M, 84.8M), torchvision
// (resnet50, swin_t/s/b).
// The conv-stem ViTs and VMamba's VSSM() configuration have no published
// count; ours equal scripts/golden's (VMamba: its VSSM definition).
const std::map<std::string, int64_t> kParamCounts = {
    {"vit_tiny", 5717416},        {"vit_small", 22050664},      {"vit_base", 86567656},
    {"vit_conv_small", 21002392}, {"vit_conv_base", 82968904},  {"mambaout_femto", 7304536},
    {"mambaout_kobe", 9141208},   {"mambaout_tiny", 26545096},  {"mambaout", 26545096},
    {"mambaout_small", 48488072}, {"mambaout_base", 84813092},  {"resnet50", 25557032},
    {"swin_tiny", 28288354},      {"swin_small", 49606258},     {"swin_base", 87768224},
    {"swin", 28288354},  // CLEAR's --arch swin: Swin-T, torchvision swin_t
    // torchvision's SwinTransformer with window_size [8, 8] (larger bias tables).
    {"swin_tiny_256", 28296082},  {"swin_small_256", 49622050},
    {"vmamba_tiny", 43722376},    {"vmamba_small", 86528392},   {"vmamba_base", 151079784},
    {"vmamba", 43722376},  // CLEAR's --arch vmamba: VSSM()
};

const std::map<std::string, int64_t> kFeatureDims = {
    {"vit_tiny", 192},       {"vit_small", 384},      {"vit_base", 768},       {"vit_conv_small", 384},
    {"vit_conv_base", 768},  {"mambaout_femto", 288}, {"mambaout_kobe", 288},  {"mambaout_tiny", 576},
    {"mambaout", 576},       {"mambaout_small", 576}, {"mambaout_base", 768},  {"resnet50", 2048},
    {"swin_tiny", 768},      {"swin_small", 768},     {"swin_base", 1024},     {"swin", 768},
    {"swin_tiny_256", 768},  {"swin_small_256", 768},
    {"vmamba_tiny", 768},    {"vmamba_small", 768},   {"vmamba_base", 1024},   {"vmamba", 768},
};

int64_t count_params(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

BackboneOptions small_options(int64_t num_classes = 10) {
  BackboneOptions o;
  o.image_size = 32;
  o.num_classes = num_classes;
  return o;
}

// An alias builds the same parameters and buffers, in the same order and
// shapes, as the backbone it names.
void expect_same_layout(const torch::nn::Module& alias, const torch::nn::Module& target) {
  const auto a = named_state(alias), t = named_state(target);
  ASSERT_EQ(a.size(), t.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].key(), t[i].key());
    EXPECT_EQ(a[i].value().sizes(), t[i].value().sizes()) << a[i].key();
  }
}

class EveryBackbone : public ::testing::TestWithParam<std::string> {};

// One small model per architecture (construction dominates the cost):
// info, eval shapes, gradients in train mode, then MoCo's head swap.
TEST_P(EveryBackbone, ShapesGradientsAndReplacedHead) {
  torch::manual_seed(1);
  auto model = make_backbone(GetParam(), small_options(10));
  const auto& info = model->info();
  EXPECT_EQ(info.arch, GetParam());
  ASSERT_TRUE(kFeatureDims.count(GetParam())) << "add " << GetParam() << " to kFeatureDims";
  EXPECT_EQ(info.feature_dim, kFeatureDims.at(GetParam()));
  EXPECT_EQ(info.head_in_dim, info.feature_dim);
  EXPECT_EQ(info.image_size, 32);
  EXPECT_EQ(info.num_classes, 10);
  EXPECT_NE(model->head_module(), nullptr) << info.head_name;
  EXPECT_TRUE(info.family == "vit" || info.family == "mambaout" || info.family == "resnet" ||
              info.family == "swin" || info.family == "vmamba")
      << info.family;

  const auto x = torch::randn({2, 3, 32, 32});
  {
    model->eval();
    torch::NoGradGuard no_grad;
    EXPECT_EQ(model->forward_features(x).sizes(), (std::vector<int64_t>{2, info.feature_dim}));
    const auto y = model->forward(x);
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 10}));
    EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
    // A grayscale batch (the slice before its 3-channel conversion) is named, not convolved.
    try {
      model->forward_features(torch::randn({2, 1, 32, 32}));
      ADD_FAILURE() << "a [2, 1, 32, 32] input was accepted";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(GetParam()), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("[2, 1, 32, 32]"), std::string::npos) << e.what();
    }
  }

  // Gradients reach every trainable parameter. Zero-initialised residual
  // BNs (ResNet) block the gradient of their branch at init: set them first.
  model->train();
  {
    torch::NoGradGuard no_grad;
    for (auto& item : named_state(*model)) {
      if (item.key().find("bn3.weight") != std::string::npos) item.value().fill_(0.5);
    }
  }
  model->forward(x).square().sum().backward();
  // VMamba's decay A acts from the second position on: at 32 px its last
  // stage has one position, where A_logs cannot matter.
  const std::string one_position_decay = "layers.3.blocks.";
  for (const auto& p : model->named_parameters()) {
    if (!p.value().requires_grad()) continue;
    if (info.family == "vmamba" && p.key().rfind(one_position_decay, 0) == 0 &&
        p.key().size() > 6 && p.key().compare(p.key().size() - 6, 6, "A_logs") == 0) {
      continue;
    }
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }

  // MoCo swaps the head for its projector with replace_head; forward uses it.
  auto projector = torch::nn::Sequential(torch::nn::Linear(info.head_in_dim, 16), torch::nn::ReLU(),
                                         torch::nn::Linear(16, 7));
  model->replace_head(projector.ptr());
  EXPECT_EQ(model->head_module(), projector.ptr());
  model->eval();
  torch::NoGradGuard no_grad;
  const auto y = model->forward(x);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 7}));
  EXPECT_TRUE(torch::allclose(y, projector->forward(model->forward_features(x))));
  EXPECT_NE(named_state(*model).find(info.head_name + ".0.weight"), nullptr);
  EXPECT_EQ(named_state(*model).find(info.head_name + ".weight"), nullptr);
}

TEST_P(EveryBackbone, PublishedParameterCountAt224) {
  ASSERT_TRUE(kParamCounts.count(GetParam())) << "add " << GetParam() << " to kParamCounts";
  auto model = make_backbone(GetParam(), {});
  EXPECT_EQ(count_params(*model), kParamCounts.at(GetParam()));
}

INSTANTIATE_TEST_SUITE_P(Registry, EveryBackbone, ::testing::ValuesIn(builtin_backbones().names()),
                         [](const auto& info) { return info.param; });

// ---- registry ---------------------------------------------------------------

TEST(BackboneRegistry, NoClassesGivesIdentityHead) {
  for (const char* name : {"vit_tiny", "mambaout_femto", "resnet50", "vmamba_tiny"}) {
    auto model = make_backbone(name, small_options(0));
    model->eval();
    torch::NoGradGuard no_grad;
    const auto x = torch::randn({1, 3, 32, 32});
    EXPECT_TRUE(torch::equal(model->forward(x), model->forward_features(x))) << name;
    for (const auto& item : named_state(*model)) {
      EXPECT_NE(item.key().rfind(model->info().head_name + ".", 0), 0u) << item.key();
    }
  }
}

TEST(BackboneRegistry, UnknownNameListsKnownOnesAndSuggests) {
  try {
    make_backbone("vit_smal", {});
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("unknown backbone 'vit_smal'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("did you mean 'vit_small'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("mambaout_femto"), std::string::npos) << msg;
    EXPECT_NE(msg.find("resnet50"), std::string::npos) << msg;
  }
  EXPECT_THROW(builtin_backbones().description("nope"), InvalidArgument);
}

TEST(BackboneRegistry, DuplicateRegistrationReplacesTheEarlierFactory) {
  BackboneRegistry registry;
  register_builtin_backbones(registry);
  const auto before = registry.names().size();
  registry.add("resnet50", "replacement", [](const BackboneOptions& o) { return make_backbone("vit_tiny", o); });
  EXPECT_EQ(registry.names().size(), before);
  EXPECT_EQ(registry.description("resnet50"), "replacement");
  EXPECT_EQ(registry.create("resnet50", small_options())->info().family, "vit");
}

TEST(BackboneRegistry, ListsTheIssueArchitectures) {
  for (const char* name : {"vit_tiny", "vit_small", "vit_base", "vit_conv_small", "vit_conv_base",
                           "mambaout_femto", "mambaout_kobe", "mambaout_tiny", "mambaout_small",
                           "mambaout_base", "mambaout", "resnet50", "vmamba", "vmamba_tiny", "vmamba_small",
                           "vmamba_base"}) {
    EXPECT_TRUE(builtin_backbones().contains(name)) << name;
  }
}

TEST(BackboneRegistry, MambaoutAliasIsTiny) {
  const auto alias = make_backbone("mambaout", small_options());
  expect_same_layout(*alias, *make_backbone("mambaout_tiny", small_options()));
  EXPECT_EQ(alias->info().head_in_dim, 576);  // not CLEAR's 768
}

TEST(BackboneRegistry, RejectsBadOptions) {
  BackboneOptions o;
  o.image_size = 40;  // not a multiple of 16
  EXPECT_THROW(make_backbone("vit_small", o), InvalidArgument);
  o.image_size = 16;
  EXPECT_THROW(make_backbone("mambaout_femto", o), InvalidArgument);
  EXPECT_THROW(make_backbone("resnet50", o), InvalidArgument);
  o = small_options(-1);
  EXPECT_THROW(make_backbone("vit_tiny", o), InvalidArgument);
  VitConfig bad{"vit_bad", 100, 2, 3};  // 100 does not divide by 3 heads
  EXPECT_THROW(make_vit(bad, small_options()), InvalidArgument);
}

TEST(BackboneRegistry, ViTRejectsWrongInputSize) {
  auto model = make_backbone("vit_tiny", small_options());
  try {
    model->forward(torch::randn({1, 3, 48, 48}));
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("[B, 3, 32, 32]"), std::string::npos) << e.what();
  }
}

// ---- ViT specifics ------------------------------------------------------------

TEST(ViT, SinCosPositionEmbeddingFormula) {
  const int64_t grid = 3, dim = 16, q = dim / 4;
  const auto pe = sincos_position_embedding(grid, dim);
  ASSERT_EQ(pe.sizes(), (std::vector<int64_t>{1, 1 + grid * grid, dim}));
  EXPECT_EQ(pe[0][0].abs().sum().item<float>(), 0.0f);  // cls row
  for (int64_t k = 0; k < grid * grid; ++k) {
    const double a = double(k / grid), b = double(k % grid);
    for (int64_t i = 0; i < q; ++i) {
      const double w = 1.0 / std::pow(10000.0, double(i) / double(q));
      const auto row = pe[0][k + 1];
      EXPECT_NEAR(row[i].item<float>(), std::sin(a * w), 1e-6);
      EXPECT_NEAR(row[q + i].item<float>(), std::cos(a * w), 1e-6);
      EXPECT_NEAR(row[2 * q + i].item<float>(), std::sin(b * w), 1e-6);
      EXPECT_NEAR(row[3 * q + i].item<float>(), std::cos(b * w), 1e-6);
    }
  }
}

TEST(ViT, MocoV3Initialisation) {
  torch::manual_seed(3);
  BackboneOptions o = small_options(10);
  auto model = make_backbone("vit_small", o);
  const auto state = named_state(*model);
  const double d = 384;
  auto max_abs = [&](const std::string& k) { return state[k].abs().max().item<double>(); };
  // qkv: q, k, v as separate D x D matrices.
  const double qkv_bound = std::sqrt(6.0 / (d + d));
  EXPECT_LE(max_abs("blocks.0.attn.qkv.weight"), qkv_bound);
  EXPECT_GT(max_abs("blocks.0.attn.qkv.weight"), 0.99 * qkv_bound);
  // Other linears: xavier uniform.
  const double fc1_bound = std::sqrt(6.0 / (d + 4 * d));
  EXPECT_LE(max_abs("blocks.3.mlp.fc1.weight"), fc1_bound);
  EXPECT_GT(max_abs("blocks.3.mlp.fc1.weight"), 0.99 * fc1_bound);
  const double head_bound = std::sqrt(6.0 / (d + 10));
  EXPECT_LE(max_abs("head.weight"), head_bound);
  EXPECT_GT(max_abs("head.weight"), 0.9 * head_bound);
  EXPECT_EQ(max_abs("blocks.0.attn.qkv.bias"), 0.0);
  EXPECT_EQ(max_abs("blocks.11.mlp.fc2.bias"), 0.0);
  // Patch projection: uniform with the fan of a 768 -> D linear.
  const double patch_bound = std::sqrt(6.0 / (3 * 16 * 16 + d));
  EXPECT_LE(max_abs("patch_embed.proj.weight"), patch_bound);
  EXPECT_GT(max_abs("patch_embed.proj.weight"), 0.99 * patch_bound);
  EXPECT_EQ(max_abs("patch_embed.proj.bias"), 0.0);
  // cls token N(0, 1e-6); pos_embed fixed.
  EXPECT_GT(max_abs("cls_token"), 0.0);
  EXPECT_LT(max_abs("cls_token"), 1e-5);
  EXPECT_FALSE(state["pos_embed"].requires_grad());
  EXPECT_TRUE(torch::equal(state["pos_embed"], sincos_position_embedding(2, 384)));
  EXPECT_TRUE(state["patch_embed.proj.weight"].requires_grad());
}

TEST(ViT, StopGradOnPatchProjection) {
  BackboneOptions o = small_options();
  o.stop_grad_conv1 = true;
  auto model = make_backbone("vit_tiny", o);
  const auto state = named_state(*model);
  EXPECT_FALSE(state["patch_embed.proj.weight"].requires_grad());
  EXPECT_FALSE(state["patch_embed.proj.bias"].requires_grad());
  EXPECT_TRUE(state["blocks.0.attn.qkv.weight"].requires_grad());
  // The conv stem has no linear patch projection to freeze (as in MoCo v3).
  auto conv = make_backbone("vit_conv_small", o);
  for (const auto& p : conv->named_parameters()) {
    if (p.key() != "pos_embed") {
      EXPECT_TRUE(p.value().requires_grad()) << p.key();
    }
  }
}

TEST(ViT, ConvStemLayout) {
  auto model = make_backbone("vit_conv_small", small_options());
  const auto state = named_state(*model);
  const std::vector<std::pair<std::string, std::vector<int64_t>>> expected = {
      {"patch_embed.proj.0.weight", {48, 3, 3, 3}},   {"patch_embed.proj.1.running_var", {48}},
      {"patch_embed.proj.3.weight", {96, 48, 3, 3}},  {"patch_embed.proj.6.weight", {192, 96, 3, 3}},
      {"patch_embed.proj.9.weight", {384, 192, 3, 3}}, {"patch_embed.proj.12.weight", {384, 384, 1, 1}},
      {"patch_embed.proj.12.bias", {384}},            {"blocks.10.mlp.fc2.weight", {384, 1536}},
  };
  for (const auto& [key, shape] : expected) {
    ASSERT_NE(state.find(key), nullptr) << key;
    EXPECT_EQ(state[key].sizes(), shape) << key;
  }
  EXPECT_EQ(state.find("patch_embed.proj.0.bias"), nullptr);
  EXPECT_EQ(state.find("blocks.11.norm1.weight"), nullptr);  // depth 11
}

// ---- MambaOut / ResNet specifics ----------------------------------------------

TEST(MambaOut, InitAndHeadWidthFollowVariant) {
  torch::manual_seed(4);
  auto model = make_backbone("mambaout_femto", {});
  const auto state = named_state(*model);
  const auto w = state["stages.2.4.fc1.weight"];
  EXPECT_EQ(w.sizes(), (std::vector<int64_t>{2 * 512, 192}));
  EXPECT_NEAR(w.std().item<double>(), 0.02, 0.001);
  EXPECT_EQ(state["stages.2.4.fc1.bias"].abs().max().item<float>(), 0.0f);
  EXPECT_EQ(state["stages.2.4.conv.weight"].sizes(), (std::vector<int64_t>{192, 1, 7, 7}));
  EXPECT_EQ(state["stages.2.4.fc2.weight"].sizes(), (std::vector<int64_t>{192, 512}));
  EXPECT_EQ(state["downsample_layers.0.conv1.weight"].sizes(), (std::vector<int64_t>{24, 3, 3, 3}));
  EXPECT_EQ(state["downsample_layers.3.conv.weight"].sizes(), (std::vector<int64_t>{288, 192, 3, 3}));
  EXPECT_EQ(state["head.fc1.weight"].sizes(), (std::vector<int64_t>{1152, 288}));
  EXPECT_EQ(state["head.fc2.weight"].sizes(), (std::vector<int64_t>{1000, 1152}));
  EXPECT_EQ(model->info().head_in_dim, 288);
}

TEST(VMamba, OfficialLayoutAndInit) {
  torch::manual_seed(7);
  auto model = make_backbone("vmamba_tiny", small_options(10));
  const auto state = named_state(*model);
  const std::vector<std::pair<std::string, std::vector<int64_t>>> expected = {
      {"patch_embed.0.weight", {96, 3, 4, 4}},
      {"patch_embed.2.weight", {96}},
      {"layers.0.blocks.1.op.x_proj_weight", {4, 6 + 32, 192}},  // dt_rank ceil(96/16) = 6
      {"layers.0.blocks.1.op.A_logs", {4 * 192, 16}},
      {"layers.0.blocks.1.op.Ds", {4 * 192}},
      {"layers.0.blocks.1.op.dt_projs_weight", {4, 192, 6}},
      {"layers.0.blocks.1.op.dt_projs_bias", {4, 192}},
      {"layers.0.blocks.1.op.in_proj.weight", {384, 96}},
      {"layers.0.blocks.1.op.conv2d.weight", {192, 1, 3, 3}},
      {"layers.0.blocks.1.op.conv2d.bias", {192}},
      {"layers.0.blocks.1.op.out_norm.weight", {192}},
      {"layers.0.blocks.1.op.out_proj.weight", {96, 192}},
      {"layers.2.blocks.8.mlp.fc1.weight", {1536, 384}},
      {"layers.2.downsample.1.weight", {768, 384, 2, 2}},
      {"layers.2.downsample.3.weight", {768}},
      {"classifier.norm.weight", {768}},
      {"classifier.head.weight", {10, 768}},
  };
  for (const auto& [key, shape] : expected) {
    ASSERT_NE(state.find(key), nullptr) << key;
    EXPECT_EQ(state[key].sizes(), shape) << key;
  }
  for (const char* absent : {"layers.0.blocks.0.op.in_proj.bias", "layers.0.blocks.0.op.out_proj.bias",
                             "layers.3.downsample.1.weight", "layers.2.blocks.9.norm.weight", "head.weight"}) {
    EXPECT_EQ(state.find(absent), nullptr) << absent;
  }
  EXPECT_EQ(model->info().head_name, "classifier.head");
  EXPECT_EQ(model->head_module(), model->named_modules()["classifier.head"]);

  // A_logs = log(1..N) in every row, D = 1, softplus(dt bias) in [1e-3, 0.1].
  const auto a_logs = state["layers.1.blocks.0.op.A_logs"];
  EXPECT_TRUE(torch::allclose(a_logs, torch::log(torch::arange(1, 17, torch::kFloat)).expand_as(a_logs)));
  EXPECT_EQ(state["layers.1.blocks.0.op.Ds"].min().item<float>(), 1.0f);
  EXPECT_EQ(state["layers.1.blocks.0.op.Ds"].max().item<float>(), 1.0f);
  const auto dt = torch::softplus(state["layers.1.blocks.0.op.dt_projs_bias"]);
  EXPECT_GE(dt.min().item<double>(), 1e-3 * 0.999);
  EXPECT_LE(dt.max().item<double>(), 0.1 * 1.001);
  EXPECT_LT(dt.min().item<double>(), 2e-3);  // log-uniform: both ends reached with 4 x 384 draws
  EXPECT_GT(dt.max().item<double>(), 0.05);
  // x_proj: nn.Linear's default U(+-1/sqrt(inner)); dt_projs_weight U(+-dt_rank^-1/2).
  const double x_bound = 1.0 / std::sqrt(384.0), dt_bound = 1.0 / std::sqrt(12.0);
  EXPECT_LE(state["layers.1.blocks.0.op.x_proj_weight"].abs().max().item<double>(), x_bound);
  EXPECT_GT(state["layers.1.blocks.0.op.x_proj_weight"].abs().max().item<double>(), 0.99 * x_bound);
  EXPECT_LE(state["layers.1.blocks.0.op.dt_projs_weight"].abs().max().item<double>(), dt_bound);
  EXPECT_GT(state["layers.1.blocks.0.op.dt_projs_weight"].abs().max().item<double>(), 0.95 * dt_bound);
  // Linears: trunc-normal std 0.02, zero bias.
  EXPECT_NEAR(state["layers.2.blocks.3.op.in_proj.weight"].std().item<double>(), 0.02, 0.001);
  EXPECT_EQ(state["layers.2.blocks.3.mlp.fc1.bias"].abs().max().item<float>(), 0.0f);
}

// The model's maths does not depend on the scan: sequential (the CPU
// default) and chunked (CUDA's, or any chunk length) give the same outputs
// and gradients from the same weights.
TEST(VMamba, ChunkedAndSequentialScansGiveTheSameModel) {
  VMambaConfig config;
  config.arch = "vmamba_test";
  config.depths = {1, 1, 2, 1};
  config.scan_chunk = 0;
  torch::manual_seed(8);
  auto sequential = make_vmamba(config, small_options(5));
  config.scan_chunk = 7;  // does not divide 64 = (32 / 4)^2 positions
  auto chunked = make_vmamba(config, small_options(5));
  load_state_dict_strict(*chunked, [&] {
    StateDict s;
    for (const auto& item : named_state(*sequential)) s[item.key()] = item.value().detach().clone();
    return s;
  }());
  const auto x = torch::randn({2, 3, 32, 32});
  const auto y_seq = sequential->forward(x), y_chunk = chunked->forward(x);
  EXPECT_TRUE(torch::allclose(y_chunk, y_seq, 1e-4, 1e-5)) << (y_chunk - y_seq).abs().max().item<double>();
  y_seq.square().sum().backward();
  y_chunk.square().sum().backward();
  const auto p_seq = sequential->named_parameters(), p_chunk = chunked->named_parameters();
  for (const auto& p : p_seq) {
    const auto& g = p.value().grad();
    EXPECT_TRUE(torch::allclose(p_chunk[p.key()].grad(), g, 1e-3, 1e-5 * g.abs().max().item<double>()))
        << p.key();
  }
  config.scan_chunk = -2;
  EXPECT_THROW(make_vmamba(config, small_options()), InvalidArgument);
}

TEST(VMamba, AliasIsTinyAndAMissingHeadPathIsAClearError) {
  expect_same_layout(*make_backbone("vmamba", small_options()), *make_backbone("vmamba_tiny", small_options()));
  // A head path whose owner is missing: no head, and replacing it throws.
  auto model = make_backbone("vmamba_tiny", small_options());
  model->replace_head(torch::nn::Linear(768, 3).ptr());
  model->replace_module("classifier", torch::nn::Identity());
  EXPECT_EQ(model->head_module(), nullptr);
  EXPECT_THROW(model->replace_head(torch::nn::Linear(768, 3).ptr()), InvalidArgument);
  EXPECT_THROW(model->forward(torch::randn({1, 3, 32, 32})), InvalidArgument);
}

TEST(Swin, TorchvisionLayoutAndInit) {
  torch::manual_seed(6);
  auto model = make_backbone("swin_tiny", small_options(10));
  const auto state = named_state(*model);
  EXPECT_EQ(state["features.0.0.weight"].sizes(), (std::vector<int64_t>{96, 3, 4, 4}));
  EXPECT_EQ(state["features.0.2.weight"].sizes(), (std::vector<int64_t>{96}));
  EXPECT_EQ(state["features.1.1.attn.relative_position_bias_table"].sizes(), (std::vector<int64_t>{169, 3}));
  const auto index = state["features.1.1.attn.relative_position_index"];
  EXPECT_EQ(index.scalar_type(), torch::kLong);
  EXPECT_EQ(index.sizes(), (std::vector<int64_t>{2401}));
  EXPECT_EQ(index[0].item<int64_t>(), 6 * 13 + 6);        // same position: centre of the table
  EXPECT_EQ(index[48].item<int64_t>(), 0);                // query (0,0), key (6,6)
  EXPECT_EQ(index.max().item<int64_t>(), 168);
  EXPECT_EQ(state["features.2.reduction.weight"].sizes(), (std::vector<int64_t>{192, 384}));
  EXPECT_EQ(state.find("features.2.reduction.bias"), nullptr);
  EXPECT_EQ(state["features.5.5.mlp.3.weight"].sizes(), (std::vector<int64_t>{384, 1536}));
  EXPECT_NEAR(state["features.5.0.attn.qkv.weight"].std().item<double>(), 0.02, 0.001);
  EXPECT_EQ(state["features.5.0.attn.qkv.bias"].abs().max().item<float>(), 0.0f);
  EXPECT_NEAR(state["features.5.0.attn.relative_position_bias_table"].std().item<double>(), 0.02, 0.002);
}

TEST(ResNet, TorchvisionLayoutAndZeroInitResidual) {
  torch::manual_seed(5);
  auto model = make_backbone("resnet50", small_options(10));
  const auto state = named_state(*model);
  EXPECT_EQ(model->info().head_name, "fc");
  EXPECT_EQ(state["conv1.weight"].sizes(), (std::vector<int64_t>{64, 3, 7, 7}));
  EXPECT_EQ(state["layer2.0.conv2.weight"].sizes(), (std::vector<int64_t>{128, 128, 3, 3}));
  EXPECT_EQ(state["layer4.0.downsample.0.weight"].sizes(), (std::vector<int64_t>{2048, 1024, 1, 1}));
  EXPECT_EQ(state["layer4.2.bn3.num_batches_tracked"].dim(), 0);
  EXPECT_EQ(state.find("layer1.1.downsample.0.weight"), nullptr);
  EXPECT_EQ(state["fc.weight"].sizes(), (std::vector<int64_t>{10, 2048}));
  for (const auto& item : state) {
    if (item.key().find("bn3.weight") != std::string::npos) {
      EXPECT_EQ(item.value().abs().max().item<float>(), 0.0f) << item.key();
    } else if (item.key().find("bn1.weight") != std::string::npos) {
      EXPECT_EQ(item.value().min().item<float>(), 1.0f) << item.key();
    }
  }
  // Kaiming normal, fan_out, ReLU gain: std sqrt(2 / (256 * 1 * 1)).
  EXPECT_NEAR(state["layer3.1.conv3.weight"].std().item<double>(), std::sqrt(2.0 / 1024.0), 0.002);
}

}  // namespace
}  // namespace radclear::models
