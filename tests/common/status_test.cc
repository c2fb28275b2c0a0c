#include "common/status.h"

#include <gtest/gtest.h>

#include "common/check.h"

namespace radclear {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return Status::InvalidArgument("must be positive");
  return v;
}

TEST(Status, ResultCarriesValueOrStatus) {
  auto ok = parse_positive(3);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.value(), 3);
  auto bad = parse_positive(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().to_string(), "Invalid argument: must be positive");
}

TEST(Status, ExceptionsMapToStatusAndBack) {
  try {
    throw CorruptData("DL_info.csv:12: bad box");
  } catch (const Error& e) {
    const Status s = e.to_status();
    EXPECT_EQ(s.code(), StatusCode::kCorruption);
    EXPECT_THROW(throw_if_error(s), CorruptData);
  }
  EXPECT_NO_THROW(throw_if_error(Status::Ok()));
}

TEST(Status, CheckMacroNamesTheCondition) {
  try {
    const int rank = 3;
    RADCLEAR_CHECK_EQ(rank, 2, "rank {} of {}", rank, 4);
    FAIL();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("rank == 2"), std::string::npos);
    EXPECT_NE(msg.find("3 vs 2"), std::string::npos);
    EXPECT_NE(msg.find("rank 3 of 4"), std::string::npos);
  }
}

}  // namespace
}  // namespace radclear
