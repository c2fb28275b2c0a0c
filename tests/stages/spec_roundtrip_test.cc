// Every stage spec, every field: CLI -> spec -> YAML -> spec -> payload ->
// spec gives back the same spec, and a data member missing from fields()
// fails the count check.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli/spec_flags.h"
#include "stages/arch_info.h"
#include "stages/any_spec.h"
#include "worker/pipeline/quickstart.h"

namespace radclear::stages {
namespace {

// A value unlike the default of each field, of the same type.
template <typename T>
T changed(const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return !v;
  } else if constexpr (IsTextValue<T>::value) {
    return T::parse(v.str() == "cpu" ? "cuda:1" : "cpu");
  } else if constexpr (std::is_enum_v<T>) {
    for (const auto& n : EnumTraits<T>::kNames) {
      if (n.value != v) return n.value;
    }
    return v;
  } else if constexpr (IsEnumList<T>::value) {
    T out = v;
    out.push_back(EnumTraits<typename T::value_type>::kNames[0].value);
    return out;
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    T out = v;
    out.push_back("x" + std::to_string(v.size()));
    return out;
  } else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::filesystem::path>) {
    return T(v.empty() ? std::string("given") : std::string(v) + "_x");
  } else if constexpr (std::is_floating_point_v<T>) {
    return v * 0.5 + 0.375;  // exact in binary; differs from every default here
  } else {
    return v + 3;
  }
}

template <typename Spec>
Spec every_field_changed() {
  Spec s{};
  Spec::fields(s, [](auto& v, const Field&) { v = changed(v); });
  return s;
}

// The command line that sets every field of `s` (as a user types it).
template <typename Spec>
std::vector<std::string> command_line(const Spec& s) {
  std::vector<std::string> args{"radclear"};
  Spec::fields(s, [&](const auto& v, const Field& f) {
    using T = std::decay_t<decltype(v)>;
    if (!f.has_flag()) return;
    if constexpr (std::is_same_v<T, bool>) {
      if (f.bool_flag() != BoolFlag::kValue) {
        if (v == (f.bool_flag() == BoolFlag::kSwitch)) args.push_back(f.flag_name());
        return;
      }
    }
    const YAML::Node n = encode_value(v);
    std::string text;
    if (n.IsSequence()) {
      for (const auto& x : n) text += (text.empty() ? "" : ",") + x.template as<std::string>();
    } else {
      text = n.template as<std::string>();
    }
    args.push_back(f.flag_name());
    args.push_back(text);
  });
  return args;
}

template <typename Spec>
class SpecRoundTrip : public ::testing::Test {};

using AllSpecs = ::testing::Types<SynthSpec, IndexSpec, PretrainSpec, ExtractSpec, CrossvalSpec, DeploySpec,
                                  pipeline::QuickstartSpec>;
TYPED_TEST_SUITE(SpecRoundTrip, AllSpecs);

TYPED_TEST(SpecRoundTrip, EveryMemberIsAField) {
  // Fails when a data member is added to the struct but not to fields().
  EXPECT_EQ(aggregate_member_count<TypeParam>(), field_count<TypeParam>()) << TypeParam::kStage;
  const auto keys = field_keys<TypeParam>();
  for (size_t i = 0; i < keys.size(); ++i) {
    for (size_t j = 0; j < i; ++j) EXPECT_NE(keys[i], keys[j]) << "key declared twice";
  }
}

TYPED_TEST(SpecRoundTrip, CliYamlPayloadGiveBackEveryField) {
  const TypeParam want = every_field_changed<TypeParam>();
  visit_pairs(want, TypeParam{}, [](const auto& a, const auto& b, const Field& f) {
    EXPECT_FALSE(a == b) << f.key() << ": the test value must differ from the default";
  });

  // CLI -> spec.
  CLI::App app;
  cli::SpecFlags<TypeParam> flags(app);
  auto args = command_line(want);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  app.parse(static_cast<int>(argv.size()), argv.data());
  TypeParam from_cli{};
  merge_yaml(from_cli, flags.given(), "command line");
  EXPECT_TRUE(fields_equal(from_cli, want)) << YAML::Dump(to_yaml(from_cli));

  // spec -> YAML text -> spec.
  TypeParam from_yaml{};
  merge_yaml(from_yaml, YAML::Load(YAML::Dump(to_yaml(from_cli))), "resolved.yaml");
  EXPECT_TRUE(fields_equal(from_yaml, want));

  // spec -> payload -> spec (the coordinator's path; not validated here).
  YAML::Node node;
  const auto header = read_payload_header(to_payload(from_yaml), &node);
  EXPECT_EQ(header.stage, TypeParam::kStage);
  EXPECT_EQ(header.version, TypeParam::kVersion);
  TypeParam from_payload{};
  merge_yaml(from_payload, node, "payload");
  EXPECT_TRUE(fields_equal(from_payload, want));
}

// What CLEAR's users type: main_moco.py's short flags, underscore
// spellings, --start-epoch, LARS --momentum, --weight-decay beside --wd,
// and --arch swin.
TEST(SpecFlags, ClearSpellingsAreAliases) {
  CLI::App app;
  cli::SpecFlags<PretrainSpec> flags(app);
  std::vector<std::string> args = {"radclear", "-a", "swin", "-b", "64", "-j", "3", "-p", "7",
                                   "--sample_weight", "0.5", "--moco_m", "0.9", "--start-epoch", "2",
                                   "--momentum", "0.8", "--optimizer", "lars", "--weight-decay", "0.01",
                                   "--moco_m_cos", "--db", "db", "--data", "d", "--out", "o"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  app.parse(static_cast<int>(argv.size()), argv.data());
  const PretrainSpec s = flags.resolve();
  EXPECT_EQ(s.arch, "swin");
  EXPECT_EQ(arch_info(s.arch).family, std::string("swin"));
  EXPECT_EQ(arch_info(s.arch).feature_dim, arch_info("swin_tiny").feature_dim);
  EXPECT_EQ(s.batch_size, 64);
  EXPECT_EQ(s.workers, 3);
  EXPECT_EQ(s.print_freq, 7);
  EXPECT_EQ(s.sample_weight, 0.5);
  EXPECT_EQ(s.moco_m, 0.9);
  EXPECT_EQ(s.start_epoch, 2);
  EXPECT_EQ(s.momentum, 0.8);
  EXPECT_EQ(s.optimizer, OptimizerKind::kLars);
  EXPECT_EQ(s.weight_decay, 0.01);
  EXPECT_TRUE(s.moco_m_cos);

  // Every spec: each value flag also answers to its underscore spelling.
  CLI::App index_app;
  cli::SpecFlags<IndexSpec> index_flags(index_app);
  std::vector<std::string> index_args = {"radclear", "--data", "d", "--db", "x", "--lesion_csv", "l.csv",
                                         "--csv_separator", ";"};
  std::vector<char*> index_argv;
  for (auto& a : index_args) index_argv.push_back(a.data());
  index_app.parse(static_cast<int>(index_argv.size()), index_argv.data());
  const IndexSpec is = index_flags.resolve();
  EXPECT_EQ(is.lesion_csv, "l.csv");
  EXPECT_EQ(is.csv_separator, ";");
  IndexSpec bad = is;
  bad.csv_separator = ";;";
  EXPECT_THROW(bad.validate(), InvalidArgument);

  PretrainSpec late = s;
  late.start_epoch = late.epochs;
  EXPECT_THROW(late.validate(), InvalidArgument);
}

TEST(SpecFields, UnknownKeysSuggestTheClosestAndBadValuesNameTheField) {
  PretrainSpec s;
  try {
    merge_yaml(s, YAML::Load("bacth_size: 3"), "p.yaml");
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'batch_size'"), std::string::npos) << e.what();
  }
  try {
    merge_yaml(s, YAML::Load("sampling: Lesoin"), "p.yaml");
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("field 'sampling'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("did you mean 'Lesion'"), std::string::npos) << e.what();
  }
  ExtractSpec x;
  EXPECT_THROW(merge_yaml(x, YAML::Load("splits: [train, tset]"), "x.yaml"), InvalidArgument);
  merge_yaml(x, YAML::Load("splits: train,test"), "x.yaml");
  EXPECT_EQ(x.splits, (std::vector<Split>{Split::kTrain, Split::kTest}));
}

TEST(SpecFields, DeclaredChecksNameTheFieldAndTheBound) {
  PretrainSpec s;
  s.db = "i";
  s.data = "d";
  s.out = "o";
  s.validate();
  s.lr = 0;
  try {
    s.validate();
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("lr must be > 0"), std::string::npos) << e.what();
  }
  s.lr = 1e-4;
  s.windows = {"abdomen", "liver"};  // checked before any model is built
  EXPECT_THROW(s.validate(), InvalidArgument);
  s.windows = {"400/40"};
  s.validate();
  s.out.clear();
  try {
    s.validate();
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("--out is required"), std::string::npos) << e.what();
  }
}

TEST(Payload, RefusesAnotherStageVersionOrFormat) {
  PretrainSpec p;
  p.db = "i";
  p.data = "d";
  p.out = "o";
  const std::string payload = to_payload(p);
  EXPECT_TRUE(std::holds_alternative<PretrainSpec>(any_from_payload(payload)));
  EXPECT_THROW(from_payload<ExtractSpec>(payload), InvalidArgument);
  auto edited = [&](const std::string& from, const std::string& to) {
    std::string s = payload;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  EXPECT_THROW(any_from_payload(edited("version: 1", "version: 99")), InvalidArgument);
  EXPECT_THROW(any_from_payload(edited("format: 1", "format: 2")), InvalidArgument);
  EXPECT_THROW(any_from_payload(edited("stage: pretrain", "stage: pretrian")), InvalidArgument);
  EXPECT_THROW(any_from_payload("not: [yaml"), InvalidArgument);
  EXPECT_THROW(any_from_payload("format: 1\nstage: pretrain\nversion: 1\nspec: {db: i}\n"), InvalidArgument)
      << "a payload is validated: data and out are required";
}

}  // namespace
}  // namespace radclear::stages
