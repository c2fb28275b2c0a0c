// stages/arch_info.h (what torch-free processes know of each backbone)
// against the registry that builds them: same names, families and widths.
#include <gtest/gtest.h>

#include "models/backbones/registry.h"
#include "stages/arch_info.h"

namespace radclear::models {
namespace {

TEST(ArchInfo, MatchesTheRegistry) {
  const auto& registry = builtin_backbones();
  EXPECT_EQ(registry.names().size(), stages::arch_infos().size());
  for (const auto& a : stages::arch_infos()) {
    ASSERT_TRUE(registry.contains(a.arch)) << a.arch << " is in stages/arch_info.cc but not registered";
    BackboneOptions o;
    o.image_size = a.default_image_size;
    o.num_classes = 0;
    const auto model = registry.create(a.arch, o);
    EXPECT_EQ(model->info().feature_dim, a.feature_dim) << a.arch;
    EXPECT_EQ(model->info().family, a.family) << a.arch;
  }
}

}  // namespace
}  // namespace radclear::models
