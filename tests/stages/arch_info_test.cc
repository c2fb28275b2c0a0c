#include "stages/arch_info.h"

#include <gtest/gtest.h>

#include <set>

#include "common/check.h"

namespace radclear::stages {
namespace {

TEST(ArchInfo, NamesAreUniqueAndUnknownOnesGetASuggestion) {
  std::set<std::string> names;
  for (const auto& a : arch_infos()) EXPECT_TRUE(names.insert(a.arch).second) << a.arch;
  EXPECT_EQ(arch_info("mambaout_femto").feature_dim, 288);
  try {
    arch_info("vit_smal");
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'vit_small'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace radclear::stages
