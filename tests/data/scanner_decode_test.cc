// data/scanner_decode + the loader's pipeline: a DICOM frame and a NIfTI
// plane reach the windows and views as the same pixels a DeepLesion PNG of
// the same HU does.
#include "data/scanner_decode.h"

#include <cstring>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "data/loader.h"
#include "data/nifti.h"
#include "tests/data/scanner_fixtures.h"
#include "tests/temp_dir.h"

namespace radclear::data {
namespace {

using testing::expected_hu;
using testing::scanner_fixtures;

// Writes `hu` (CV_16SC1) as a DeepLesion PNG (HU + 32768).
std::string write_png(const std::filesystem::path& dir, const cv::Mat& hu) {
  const std::string path = (dir / "slice.png").string();
  EXPECT_TRUE(cv::imwrite(path, hounsfield_to_png16(hu)));
  return path;
}

cv::Mat as_mat(std::vector<int16_t> hu, int width, int height) {
  cv::Mat m(height, width, CV_16SC1);
  std::memcpy(m.data, hu.data(), hu.size() * sizeof(int16_t));
  return m;
}

void expect_same_views(const SliceSample& a, const SliceSample& b, const SliceViewSpec& views) {
  const SlicePipeline pipe("", {"abdomen", "lung"}, views);
  const int n = 3 * view_size(views) * view_size(views);
  std::vector<float> a1(n), a2(n), b1(n), b2(n);
  for (int64_t index = 0; index < 3; ++index) {
    pipe.run(a, 7, 1, index, a1.data(), a2.data());
    pipe.run(b, 7, 1, index, b1.data(), b2.data());
    ASSERT_EQ(a1, b1) << a.path << " vs " << b.path << ", sample " << index;
    ASSERT_EQ(a2, b2) << a.path << " vs " << b.path << ", sample " << index;
  }
}

TEST(ScannerDecode, DicomFrameGivesThePngPathsPixelsAndViews) {
  testing::TempDir tmp;
  const std::string dicom = (scanner_fixtures() / "dicom" / "good" / "j2k" / "ct_d.dcm").string();
  const DecodedImage img = decode_slice_source(dicom, SliceSource::kDicomFrame, 0);
  ASSERT_EQ(img.kind, PixelKind::kHounsfield);
  const cv::Mat expected = as_mat(expected_hu("j2k", 2), 128, 128);
  ASSERT_EQ(cv::countNonZero(img.pixels != expected), 0);
  const std::string png = write_png(tmp.path(), expected);
  SliceSample from_dicom;
  from_dicom.path = dicom;
  from_dicom.source = SliceSource::kDicomFrame;
  from_dicom.lesion = true;
  from_dicom.boxes = {{40, 50, 70, 90}};
  SliceSample from_png = from_dicom;
  from_png.path = png;
  from_png.source = SliceSource::kImageFile;
  LeclViewSpec lecl;
  lecl.out_size = 32;
  CtViewSpec ct;
  ct.out_size = 32;
  expect_same_views(from_dicom, from_png, lecl);
  expect_same_views(from_dicom, from_png, ct);
}

TEST(ScannerDecode, NiftiPlaneGivesThePngPathsPixelsAndViews) {
  testing::TempDir tmp;
  const std::string nifti = (scanner_fixtures() / "nifti" / "ras.nii").string();
  const HuSlice plane = read_nifti_plane(nifti, 2);
  const DecodedImage img = decode_slice_source(nifti, SliceSource::kNiftiPlane, 2);
  ASSERT_EQ(img.kind, PixelKind::kHounsfield);
  ASSERT_EQ(cv::countNonZero(img.pixels != as_mat(plane.hu, plane.width, plane.height)), 0);
  SliceSample from_nifti;
  from_nifti.path = nifti;
  from_nifti.source = SliceSource::kNiftiPlane;
  from_nifti.frame = 2;
  SliceSample from_png = from_nifti;
  from_png.path = write_png(tmp.path(), img.pixels);
  from_png.source = SliceSource::kImageFile;
  from_png.frame = 0;
  LeclViewSpec lecl;
  lecl.out_size = 16;
  expect_same_views(from_nifti, from_png, lecl);
}

TEST(ScannerDecode, ErrorsNameTheFileAndFrame) {
  const std::string dicom = (scanner_fixtures() / "dicom" / "good" / "rle" / "ct_a.dcm").string();
  try {
    decode_slice_source(dicom, SliceSource::kDicomFrame, 4);
    FAIL() << "frame 4 decoded";
  } catch (const CorruptData& e) {
    EXPECT_NE(std::string(e.what()).find(dicom + ": frame 4"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace radclear::data
