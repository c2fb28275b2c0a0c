#include "common/yaml_fields.h"

#include <gtest/gtest.h>

namespace radclear {
namespace {

TEST(YamlFields, ReadsTypedFieldsAndKeepsDefaults) {
  const YAML::Node n = YAML::Load("epochs: 5\nlr: 0.5\nname: run1\n");
  int epochs = 1, batch = 64;
  double lr = 0;
  std::string name;
  read_field(n, "epochs", epochs, "cfg.yaml");
  read_field(n, "batch", batch, "cfg.yaml");
  read_field(n, "lr", lr, "cfg.yaml");
  read_field(n, "name", name, "cfg.yaml");
  EXPECT_EQ(epochs, 5);
  EXPECT_EQ(batch, 64);
  EXPECT_DOUBLE_EQ(lr, 0.5);
  EXPECT_EQ(name, "run1");
}

TEST(YamlFields, WrongTypeNamesFileAndField) {
  const YAML::Node n = YAML::Load("epochs: many\n");
  int epochs = 1;
  try {
    read_field(n, "epochs", epochs, "cfg.yaml");
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("cfg.yaml"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("'epochs'"), std::string::npos);
  }
}

TEST(YamlFields, UnknownKeySuggestsTheClosest) {
  const YAML::Node n = YAML::Load("epoch: 5\n");
  try {
    check_known_keys(n, {"epochs", "lr"}, "cfg.yaml");
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'epochs'"), std::string::npos);
  }
  EXPECT_NO_THROW(check_known_keys(YAML::Load("lr: 1"), {"epochs", "lr"}, "cfg.yaml"));
}

TEST(YamlFields, EditDistance) {
  EXPECT_EQ(edit_distance("doctor", "doctro"), 2u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(closest_match("extarct", {"extract", "index", "synth"}), "extract");
  EXPECT_EQ(closest_match("qqqqqqq", {"extract", "index"}), "");
}

TEST(YamlFields, MissingFileIsNotFound) { EXPECT_THROW(load_yaml_file("/nonexistent.yaml"), NotFound); }

}  // namespace
}  // namespace radclear
