// Precision names and the autocast scope (models/layers/autocast.h) on the CPU.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/check.h"
#include "models/layers/autocast.h"

namespace radclear::models {
namespace {

TEST(Precision, NamesRoundTripAndUnknownNamesListTheKnownOnes) {
  for (const auto p : {Precision::kFloat32, Precision::kBFloat16, Precision::kFloat16}) {
    EXPECT_EQ(parse_precision(precision_name(p)), p);
  }
  EXPECT_EQ(precision_dtype(Precision::kBFloat16), torch::kBFloat16);
  EXPECT_EQ(precision_dtype(Precision::kFloat16), torch::kHalf);
  EXPECT_EQ(precision_dtype(Precision::kFloat32), torch::kFloat);
  try {
    parse_precision("fp8");
    FAIL() << "fp8 accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("fp32, bf16, fp16"), std::string::npos) << e.what();
  }
}

TEST(AutocastScope, CpuBf16RunsMatmulsInBf16AndRestoresTheState) {
  const auto a = torch::randn({4, 8}), b = torch::randn({8, 3});
  ASSERT_FALSE(autocast_enabled(torch::kCPU));
  {
    AutocastScope scope(torch::kCPU, Precision::kBFloat16);
    EXPECT_TRUE(autocast_enabled(torch::kCPU));
    EXPECT_FALSE(autocast_enabled(torch::kCUDA));
    EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kBFloat16);
    {
      AutocastScope inner(torch::kCPU, Precision::kFloat32);  // fp32 leaves the outer scope on
      EXPECT_TRUE(autocast_enabled(torch::kCPU));
    }
    EXPECT_TRUE(autocast_enabled(torch::kCPU));
  }
  EXPECT_FALSE(autocast_enabled(torch::kCPU));
  EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kFloat);
  {
    CpuBf16Autocast off(false);
    EXPECT_FALSE(autocast_enabled(torch::kCPU));
  }
}

TEST(AutocastScope, RefusesFp16OnCpuAndOtherDevices) {
  try {
    AutocastScope scope(torch::kCPU, Precision::kFloat16);
    FAIL() << "fp16 on CPU accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(autocast_enabled(torch::kCPU));
  EXPECT_THROW(AutocastScope(c10::DeviceType::Meta, Precision::kBFloat16), InvalidArgument);
  EXPECT_NO_THROW(AutocastScope(c10::DeviceType::Meta, Precision::kFloat32));
}

}  // namespace
}  // namespace radclear::models
