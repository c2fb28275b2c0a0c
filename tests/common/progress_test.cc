#include "common/progress.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace radclear {
namespace {

TEST(Progress, FinalLineHasCountRateAndDuration) {
  std::FILE* f = std::tmpfile();
  {
    ProgressBar bar(10, {"work", "items", true, 10.0, f});
    for (int i = 0; i < 10; ++i) bar.advance(1, "loss 0.5");
  }
  std::rewind(f);
  char buf[512] = {};
  const size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  const std::string out(buf, n);
  EXPECT_NE(out.find("work"), std::string::npos);
  EXPECT_NE(out.find("10/10 100%"), std::string::npos);
  EXPECT_NE(out.find("items/s"), std::string::npos);
  EXPECT_NE(out.find("took"), std::string::npos);
  EXPECT_NE(out.find("loss 0.5"), std::string::npos);
}

TEST(Progress, DurationFormat) {
  EXPECT_EQ(format_duration(12.34), "12.3s");
  EXPECT_EQ(format_duration(185), "3m05s");
  EXPECT_EQ(format_duration(3720), "1h02m");
  EXPECT_EQ(format_duration(-1), "?");
}

}  // namespace
}  // namespace radclear
