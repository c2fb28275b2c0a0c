// data/nifti: axial reorientation through the sform/qform, scl_slope/inter,
// and real nibabel test volumes.
#include "data/nifti.h"

#include <gtest/gtest.h>

#include "tests/data/scanner_fixtures.h"

namespace radclear::data {
namespace {

using testing::scanner_fixtures;

std::string nifti(const std::string& name) { return (scanner_fixtures() / "nifti" / name).string(); }

// The fixtures hold stored value i + 10 j + 100 k at voxel (i, j, k) of a
// 5 x 4 x 3 grid (x, y, z), scl_slope 2, scl_inter -1000.
int16_t hu_of(int i, int j, int k) { return static_cast<int16_t>(2 * (i + 10 * j + 100 * k) - 1000); }

struct Case {
  const char* file;
  const char* transform;
  bool flip_x, flip_y;  // RAS storage is shown mirrored in x and y
};

TEST(Nifti, AxialPlanesComeOutLeftToTheRightPosteriorDownInferiorFirst) {
  const Case kCases[] = {{"ras.nii", "sform", true, true},
                         {"lps.nii.gz", "sform", false, false},
                         {"perm_qform.nii.gz", "qform", false, false}};
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.file);
    const NiftiAxial a = read_nifti_axial(nifti(c.file));
    EXPECT_STREQ(a.transform, c.transform);
    ASSERT_EQ(a.width, 5);
    ASSERT_EQ(a.height, 4);
    ASSERT_EQ(a.depth, 3);
    EXPECT_EQ(a.spacing_mm, (std::array<float, 3>{2, 3, 4}));
    EXPECT_DOUBLE_EQ(a.slope, 2.0);
    EXPECT_DOUBLE_EQ(a.intercept, -1000.0);
    for (int z = 0; z < 3; ++z) {
      const HuSlice s = read_nifti_plane(nifti(c.file), z);
      ASSERT_EQ(s.hu.size(), 20u);
      for (int r = 0; r < 4; ++r) {
        for (int col = 0; col < 5; ++col) {
          const int i = c.flip_x ? 4 - col : col, j = c.flip_y ? 3 - r : r;
          ASSERT_EQ(s.hu[r * 5 + col], hu_of(i, j, z)) << "plane " << z << " row " << r << " column " << col;
        }
      }
    }
  }
}

TEST(Nifti, PatientFrameIsLps) {
  // ras.nii: voxel (i, j, k) at RAS (2i, 3j, 4k); shown pixel (0, 0) of
  // plane 0 is voxel (4, 3, 0) = RAS (8, 9, 0) = LPS (-8, -9, 0).
  const NiftiAxial a = read_nifti_axial(nifti("ras.nii"));
  EXPECT_EQ(a.plane0.origin, (std::array<double, 3>{-8, -9, 0}));
  EXPECT_EQ(a.plane0.column_dir, (std::array<double, 3>{1, 0, 0}));
  EXPECT_EQ(a.plane0.row_dir, (std::array<double, 3>{0, 1, 0}));
  EXPECT_EQ(a.plane_step, (std::array<double, 3>{0, 0, 4}));
}

TEST(Nifti, RealNibabelVolumeAndFourDimensionalRefusal) {
  const NiftiAxial a = read_nifti_axial(nifti("pat01/anat.nii"));
  ASSERT_GT(a.depth, 1);
  const HuSlice s = read_nifti_plane(nifti("pat01/anat.nii"), a.depth - 1);
  EXPECT_EQ(s.hu.size(), static_cast<size_t>(a.width) * a.height);
  try {
    read_nifti_axial(nifti("example4d.nii.gz"));
    FAIL() << "a 4-D volume was read as axial planes";
  } catch (const ScannerInputError& e) {
    EXPECT_EQ(e.reason, "not 3-D");
  }
  try {
    read_nifti_plane(nifti("lps.nii.gz"), 3);
    FAIL() << "plane 3 of a 3-plane volume";
  } catch (const ScannerInputError& e) {
    EXPECT_EQ(e.reason, "bad plane");
  }
}

}  // namespace
}  // namespace radclear::data
