#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "common/check.h"
#include "data/decode.h"
#include "data/window.h"

namespace radclear::data {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    dir_ = fs::temp_directory_path() / ("radclear_decode_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  ~TempDir() { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  fs::path dir_;
};

TEST(Decode, Png16IsHounsfieldMinus32768) {
  TempDir tmp;
  cv::Mat raw(3, 4, CV_16UC1);
  const int hu[] = {-32768, -1024, -1, 0, 1, 40, 400, 3071, 32767, -600, 100, 12};
  for (int i = 0; i < 12; ++i) raw.at<uint16_t>(i / 4, i % 4) = static_cast<uint16_t>(hu[i] + 32768);
  ASSERT_TRUE(cv::imwrite(tmp.path("a.png"), raw));
  const DecodedImage img = decode_file(tmp.path("a.png"));
  ASSERT_EQ(img.kind, PixelKind::kHounsfield);
  ASSERT_EQ(img.pixels.type(), CV_16SC1);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(img.pixels.at<int16_t>(i / 4, i % 4), hu[i]) << i;
  EXPECT_EQ(cv::countNonZero(hounsfield_to_png16(img.pixels) != raw), 0);
}

TEST(Decode, EightBitGrayAndColour) {
  TempDir tmp;
  cv::Mat gray(5, 6, CV_8UC1);
  cv::randu(gray, 0, 256);
  ASSERT_TRUE(cv::imwrite(tmp.path("g.png"), gray));
  DecodedImage g = decode_file(tmp.path("g.png"));
  EXPECT_EQ(g.kind, PixelKind::kGray8);
  EXPECT_EQ(cv::countNonZero(g.pixels != gray), 0);

  cv::Mat bgr(5, 6, CV_8UC3, cv::Scalar(10, 20, 30));  // B, G, R
  ASSERT_TRUE(cv::imwrite(tmp.path("c.png"), bgr));
  DecodedImage c = decode_file(tmp.path("c.png"));
  EXPECT_EQ(c.kind, PixelKind::kRgb8);
  EXPECT_EQ(c.pixels.at<cv::Vec3b>(2, 3), cv::Vec3b(30, 20, 10));  // RGB

  ASSERT_TRUE(cv::imwrite(tmp.path("j.jpg"), gray));
  EXPECT_EQ(decode_file(tmp.path("j.jpg")).kind, PixelKind::kGray8);
}

TEST(Decode, BadFilesNameThePath) {
  TempDir tmp;
  try {
    decode_file(tmp.path("missing.png"));
    FAIL() << "no throw";
  } catch (const NotFound& e) {
    EXPECT_NE(std::string(e.what()).find("missing.png"), std::string::npos);
  }
  {
    std::ofstream(tmp.path("junk.png")) << "not an image at all";
  }
  EXPECT_THROW(decode_file(tmp.path("junk.png")), CorruptData);
  // A truncated 16-bit PNG (the file cut in half).
  cv::Mat raw(64, 64, CV_16UC1);
  cv::randu(raw, 0, 65535);
  std::vector<uint8_t> png;
  ASSERT_TRUE(cv::imencode(".png", raw, png));
  png.resize(png.size() / 2);
  try {
    decode_image(png, "cut.png");
    FAIL() << "no throw";
  } catch (const CorruptData& e) {
    EXPECT_NE(std::string(e.what()).find("cut.png"), std::string::npos);
  }
  EXPECT_THROW(decode_image({}, "empty.png"), CorruptData);
}

TEST(Window, NamedAndCustom) {
  EXPECT_EQ(parse_ct_window("abdomen").width, 400);
  EXPECT_EQ(parse_ct_window("abdomen").level, 40);
  EXPECT_EQ(parse_ct_window("lung").width, 1500);
  EXPECT_EQ(parse_ct_window("lung").level, -600);
  EXPECT_EQ(parse_ct_window("bone").width, 1800);
  EXPECT_EQ(parse_ct_window("bone").level, 400);
  EXPECT_EQ(parse_ct_window("mediastinum").width, 350);
  EXPECT_EQ(parse_ct_window("mediastinum").level, 50);
  const CtWindow c = parse_ct_window("1500/-600");
  EXPECT_EQ(c.width, 1500);
  EXPECT_EQ(c.level, -600);
  EXPECT_THROW(parse_ct_window("liver"), InvalidArgument);
  EXPECT_THROW(parse_ct_window("0/40"), InvalidArgument);
  EXPECT_THROW(parse_ct_window("400/"), InvalidArgument);
  EXPECT_THROW(parse_ct_window("a/b"), InvalidArgument);
}

TEST(Window, MapsLinearlyWithClamp) {
  const CtWindow abd = parse_ct_window("abdomen");  // [-160, 240]
  EXPECT_EQ(window_value(abd, -1024), 0);
  EXPECT_EQ(window_value(abd, -160), 0);
  EXPECT_EQ(window_value(abd, 240), 255);
  EXPECT_EQ(window_value(abd, 3000), 255);
  EXPECT_EQ(window_value(abd, 40), 128);   // 127.5 rounds up
  EXPECT_EQ(window_value(abd, 0), 102);    // 160 / 400 * 255 = 102.0
  EXPECT_EQ(window_value(abd, -159), 1);   // 0.6375 -> 1
}

TEST(Window, LutMatchesFormulaAndAirPads) {
  const CtWindow lung = parse_ct_window("lung");  // [-1350, 150]
  const WindowLut lut(lung);
  cv::Mat hu(1, 65536, CV_16SC1);
  for (int i = 0; i < 65536; ++i) hu.at<int16_t>(0, i) = static_cast<int16_t>(i - 32768);
  const cv::Mat out = lut.apply(hu);
  for (int i = 0; i < 65536; i += 7) ASSERT_EQ(out.at<uint8_t>(0, i), window_value(lung, i - 32768)) << i - 32768;
  DecodedImage img{hu, PixelKind::kHounsfield};
  uint8_t air = 0;
  to_8bit(img, lut, &air);
  EXPECT_EQ(air, 55);  // (-1024 + 1350) / 1500 * 255 = 55.4
  DecodedImage g{cv::Mat(2, 2, CV_8UC1, cv::Scalar(9)), PixelKind::kGray8};
  EXPECT_EQ(to_8bit(g, lut, &air).at<uint8_t>(1, 1), 9);
  EXPECT_EQ(air, 0);
  const cv::Mat rgb = gray_to_rgb(g.pixels);
  EXPECT_EQ(rgb.type(), CV_8UC3);
  EXPECT_EQ(rgb.at<cv::Vec3b>(0, 1), cv::Vec3b(9, 9, 9));
}

}  // namespace
}  // namespace radclear::data
