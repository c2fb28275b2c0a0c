// data/dicom: headers and HU of real CT files (pydicom's CT_small.dcm made
// into a series, and gdcmconv's compressed copies of it).
#include "data/dicom.h"

#include <gtest/gtest.h>

#include "tests/data/scanner_fixtures.h"

namespace radclear::data {
namespace {

using testing::expected_hu;
using testing::kAxialFilesInOrder;
using testing::scanner_fixtures;

std::string good(const std::string& series, const std::string& file) {
  return (scanner_fixtures() / "dicom" / "good" / series / file).string();
}

TEST(Dicom, HeaderHasTheTagsTheIndexGroupsAndOrdersBy) {
  const DicomHeader h = read_dicom_header(good("axial", "ct_a.dcm"));
  EXPECT_EQ(h.study_uid, "2.25.700001");
  EXPECT_EQ(h.series_uid, "2.25.700010");
  EXPECT_EQ(h.patient_id, "1CT1");
  EXPECT_EQ(h.modality, "CT");
  ASSERT_TRUE(h.has_position && h.has_orientation && h.has_pixel_spacing);
  EXPECT_NEAR(h.position[2], -75.699997 + 5.0, 1e-4);  // ct_a is the second slice up
  EXPECT_EQ(h.orientation, (std::array<double, 6>{1, 0, 0, 0, 1, 0}));
  EXPECT_NEAR(h.pixel_spacing[0], 0.661468, 1e-9);
  EXPECT_NEAR(h.slice_thickness, 5.0, 1e-9);
  EXPECT_EQ(h.rows, 128);
  EXPECT_EQ(h.columns, 128);
  EXPECT_EQ(h.frames, 1);
  EXPECT_FALSE(is_secondary_capture(h.sop_class_uid));
}

// Every transfer syntax decodes to the HU pydicom computed from the
// uncompressed file (slice 2 has RescaleSlope 0.5, slice 3 intercept -1000).
TEST(Dicom, EveryTransferSyntaxDecodesToTheSameHu) {
  const std::pair<const char*, const char*> kSeries[] = {{"axial", "1.2.840.10008.1.2.1"},
                                                         {"jpeg", "1.2.840.10008.1.2.4.70"},
                                                         {"rle", "1.2.840.10008.1.2.5"},
                                                         {"j2k", "1.2.840.10008.1.2.4.90"}};
  for (const auto& [series, syntax] : kSeries) {
    for (int k = 0; k < 4; ++k) {
      const std::string path = good(series, kAxialFilesInOrder[k]);
      EXPECT_EQ(read_dicom_header(path).transfer_syntax, syntax) << path;
      const HuSlice s = read_dicom_hu(path, 0);
      ASSERT_EQ(s.width, 128);
      ASSERT_EQ(s.height, 128);
      EXPECT_EQ(s.hu, expected_hu(series, k)) << path;
    }
  }
}

TEST(Dicom, BadInputIsNamedWithItsReason) {
  const std::string junk = (scanner_fixtures() / "dicom" / "bad" / "notes.txt").string();
  try {
    read_dicom_header(junk);
    FAIL() << "a text file parsed as DICOM";
  } catch (const ScannerInputError& e) {
    EXPECT_EQ(e.reason, "unreadable");
    EXPECT_NE(std::string(e.what()).find(junk), std::string::npos) << e.what();
  }
  try {
    read_dicom_hu(good("axial", "ct_a.dcm"), 1);
    FAIL() << "frame 1 of a single-frame file decoded";
  } catch (const ScannerInputError& e) {
    EXPECT_EQ(e.reason, "bad frame");
  }
  EXPECT_TRUE(is_secondary_capture(read_dicom_header(
      (scanner_fixtures() / "dicom" / "bad" / "secondary_capture.dcm").string()).sop_class_uid));
}

TEST(Dicom, HuRoundsAndClampsToInt16) {
  EXPECT_EQ(to_hu16(-1024.4), -1024);
  EXPECT_EQ(to_hu16(-1024.6), -1025);
  EXPECT_EQ(to_hu16(12.5), 13);
  EXPECT_EQ(to_hu16(1e9), 32767);
  EXPECT_EQ(to_hu16(-1e9), -32768);
}

}  // namespace
}  // namespace radclear::data
