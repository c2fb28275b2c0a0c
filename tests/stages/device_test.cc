#include "stages/device.h"

#include <gtest/gtest.h>

#include "stages/crossval_spec.h"
#include "stages/extract_spec.h"
#include "stages/payload.h"
#include "stages/pretrain_spec.h"

namespace radclear::stages {
namespace {

TEST(DeviceChoice, ParsesTheFormsAUserTypesAndWritesThemBack) {
  for (const char* text : {"auto", "cpu", "cuda", "cuda:0", "cuda:7"}) {
    EXPECT_EQ(DeviceChoice::parse(text).str(), text);
  }
  EXPECT_EQ(DeviceChoice::parse("cuda:3").index, 3);
  EXPECT_EQ(DeviceChoice::parse("cuda").index, -1);
  EXPECT_EQ(DeviceChoice{}.str(), "auto");
  for (const char* bad : {"gpu", "cuda:", "cuda:-1", "cuda:x", "CPU", "cuda:1x", ""}) {
    try {
      DeviceChoice::parse(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("auto, cpu, cuda, cuda:N"), std::string::npos) << e.what();
    }
  }
}

TEST(DeviceChoice, IsASpecFieldInYaml) {
  ExtractSpec e;
  merge_yaml(e, YAML::Load("{device: 'cuda:1', precision: bf16}"), "test");
  EXPECT_EQ(e.device, DeviceChoice::parse("cuda:1"));
  EXPECT_EQ(e.precision, Precision::kBFloat16);
  EXPECT_EQ(to_yaml(e)["device"].as<std::string>(), "cuda:1");
  try {
    merge_yaml(e, YAML::Load("{device: tpu}"), "extract.yaml");
    ADD_FAILURE() << "tpu accepted";
  } catch (const InvalidArgument& err) {
    EXPECT_NE(std::string(err.what()).find("extract.yaml: field 'device'"), std::string::npos) << err.what();
  }
}

TEST(DeviceChoice, Fp16OnTheCpuIsRefusedWithTheAlternatives) {
  ExtractSpec e;
  e.db = "i";
  e.data = "d";
  e.checkpoint = "c";
  e.out = "o";
  e.precision = Precision::kFloat16;
  e.device = DeviceChoice::parse("cpu");
  try {
    e.validate();
    ADD_FAILURE() << "fp16 on cpu accepted";
  } catch (const InvalidArgument& err) {
    EXPECT_NE(std::string(err.what()).find("extract: precision fp16 needs a CUDA device"), std::string::npos)
        << err.what();
    EXPECT_NE(std::string(err.what()).find("bf16"), std::string::npos);
  }
  e.device = DeviceChoice::parse("cuda");
  EXPECT_NO_THROW(e.validate());  // whether there is a GPU is the worker's question
  EXPECT_EQ(parse_enum<Precision>("float16"), Precision::kFloat16);
  EXPECT_STREQ(enum_name(Precision::kFloat16), "fp16");
}

}  // namespace
}  // namespace radclear::stages
