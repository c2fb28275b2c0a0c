// Per-study HDF5 feature files: round trips, float16, h5py interop, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "common/check.h"
#include "storage/feature_store.h"

namespace radclear::storage {
namespace {
namespace fs = std::filesystem;

class FeatureStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("radclear_fs_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static StudyFeatures make(const std::string& id, int64_t rows, int64_t dim, FeatureDtype dtype) {
    StudyFeatures f;
    f.attrs.study_id = id;
    f.attrs.extractor_arch = "vit_small";
    f.attrs.checkpoint_path = "/ckpt/vit_small-moco-lecl-1-x-checkpoint_0099.pth.tar";
    f.attrs.checkpoint_sha256 = std::string(64, 'a');
    f.attrs.windows = {"abdomen", "chest"};
    f.attrs.dtype = dtype;
    f.rows = rows;
    f.dim = dim;
    std::mt19937 rng(42);
    std::normal_distribution<float> nd;
    for (int64_t i = 0; i < rows * dim; ++i) f.feats.push_back(nd(rng));
    for (int64_t r = 0; r < rows; ++r) {
      f.coords.push_back(static_cast<int32_t>(100 + r / 2));
      f.coords.push_back(static_cast<int32_t>(r % 2));
      f.slice_names.push_back(std::to_string(100 + r / 2) + ".png");
    }
    return f;
  }

  // Runs python with h5py on `path`, returns stdout.
  static std::string h5py(const std::string& code, const fs::path& path) {
    const fs::path out = path.string() + ".py.txt";
    const std::string cmd = "/usr/bin/python3 -c \"import h5py, numpy as np, sys; f = h5py.File(sys.argv[1], 'r'); " +
                            code + "\" " + path.string() + " > " + out.string() + " 2>&1";
    const int rc = std::system(cmd.c_str());
    std::ifstream in(out);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(rc, 0) << text;
    return text;
  }

  fs::path dir_;
};

TEST_F(FeatureStoreTest, Float32RoundTripKeepsEverything) {
  const auto f = make("000001_01", 6, 5, FeatureDtype::kFloat32);
  const auto path = feature_file_path(dir_, f.attrs.study_id);
  EXPECT_EQ(path.filename(), "000001_01.h5");
  write_study_features(path, f);
  const auto g = read_study_features(path, 5);
  EXPECT_EQ(g.rows, 6);
  EXPECT_EQ(g.dim, 5);
  EXPECT_EQ(g.feats, f.feats);
  EXPECT_EQ(g.coords, f.coords);
  EXPECT_EQ(g.slice_names, f.slice_names);
  EXPECT_EQ(g.attrs.study_id, "000001_01");
  EXPECT_EQ(g.attrs.extractor_arch, "vit_small");
  EXPECT_EQ(g.attrs.checkpoint_path, f.attrs.checkpoint_path);
  EXPECT_EQ(g.attrs.checkpoint_sha256, f.attrs.checkpoint_sha256);
  EXPECT_EQ(g.attrs.windows, f.attrs.windows);
  EXPECT_EQ(g.attrs.dtype, FeatureDtype::kFloat32);
  EXPECT_NE(g.attrs.radclear_version.find("radclear"), std::string::npos);
  const auto info = read_feature_info(path);
  EXPECT_EQ(info.rows, 6);
  EXPECT_EQ(info.dim, 5);
  // Only the final file remains: no temporary beside it.
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir_)) files += e.path().extension() == ".h5" ? 1 : 100;
  EXPECT_EQ(files, 1);
}

TEST_F(FeatureStoreTest, H5pySeesTheDocumentedLayout) {
  const auto f = make("s1", 4, 3, FeatureDtype::kFloat16);
  const auto path = feature_file_path(dir_, "s1");
  write_study_features(path, f);
  const auto text = h5py(
      "print(f['feats'].dtype, f['feats'].shape, f['coords'].dtype, f['coords'][1].tolist(), "
      "f['slice_names'].asstr()[0], f.attrs['extractor'], list(f.attrs['windows']), f.attrs['dtype'], "
      "int(f.attrs['feat_dim']), f.attrs['study_id']); "
      "print(repr(float(f['feats'][2, 1])))",
      path);
  EXPECT_NE(text.find("float16 (4, 3) int32 [100, 1] 100.png vit_small ['abdomen', 'chest'] float16 3 s1"),
            std::string::npos)
      << text;
  const auto g = read_study_features(path);
  EXPECT_EQ(g.attrs.dtype, FeatureDtype::kFloat16);
  // numpy's float16 value printed by python equals ours.
  EXPECT_NE(text.find(fmt::format("{}", static_cast<double>(g.feats[2 * 3 + 1]))), std::string::npos)
      << text << " vs " << g.feats[7];
  for (size_t i = 0; i < f.feats.size(); ++i) EXPECT_NEAR(g.feats[i], f.feats[i], 2e-3 * std::abs(f.feats[i]) + 1e-4);
}

TEST_F(FeatureStoreTest, ReadsFilesWrittenByH5py) {
  const auto path = dir_ / "ext.h5";
  const std::string cmd = "/usr/bin/python3 -c \"import h5py, numpy as np; f = h5py.File('" + path.string() +
                          "', 'w'); f['feats'] = np.arange(12, dtype=np.float64).reshape(4, 3); "
                          "f['coords'] = np.array([[5, 0], [5, 1], [6, 0], [6, 1]], dtype=np.int64)\"";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const auto g = read_study_features(path, 3);
  EXPECT_EQ(g.rows, 4);
  EXPECT_EQ(g.feats[11], 11.0f);
  EXPECT_EQ(g.slice_of(2), 6);
  EXPECT_EQ(g.window_of(3), 1);
  EXPECT_EQ(g.attrs.study_id, "ext");  // from the file name when the attribute is absent
}

TEST_F(FeatureStoreTest, ClearErrors) {
  try {
    read_study_features(dir_ / "missing.h5");
    FAIL();
  } catch (const NotFound& e) {
    EXPECT_NE(std::string(e.what()).find("missing.h5"), std::string::npos);
  }
  const auto f = make("w", 2, 4, FeatureDtype::kFloat32);
  write_study_features(dir_ / "w.h5", f);
  try {
    read_study_features(dir_ / "w.h5", 768);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("4 wide, expected 768"), std::string::npos) << e.what();
  }
  std::ofstream(dir_ / "junk.h5") << "not hdf5";
  EXPECT_THROW(read_study_features(dir_ / "junk.h5"), CorruptData);
  const std::string cmd = "/usr/bin/python3 -c \"import h5py; h5py.File('" + (dir_ / "other.h5").string() +
                          "', 'w')['x'] = [1]\"";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  try {
    read_feature_info(dir_ / "other.h5");
    FAIL();
  } catch (const CorruptData& e) {
    EXPECT_NE(std::string(e.what()).find("'feats' is missing"), std::string::npos) << e.what();
  }
  auto bad = f;
  bad.coords.pop_back();
  EXPECT_THROW(write_study_features(dir_ / "bad.h5", bad), InvalidArgument);
  bad = f;
  bad.coords[1] = 5;  // window 5 of 2
  EXPECT_THROW(write_study_features(dir_ / "bad.h5", bad), InvalidArgument);
  EXPECT_FALSE(fs::exists(dir_ / "bad.h5"));
  EXPECT_THROW(feature_file_path(dir_, "a/b"), InvalidArgument);
  EXPECT_THROW(parse_feature_dtype("float8"), InvalidArgument);
}

TEST(HalfFloat, AllHalvesRoundTripAndRoundingIsToNearestEven) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = half_to_float(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(half_to_float(float_to_half(f))));
      continue;
    }
    ASSERT_EQ(float_to_half(f), h) << "half 0x" << std::hex << h;
  }
  EXPECT_EQ(float_to_half(1.0f), 0x3c00);
  EXPECT_EQ(float_to_half(1.0f + std::ldexp(1.0f, -11)), 0x3c00);          // tie -> even
  EXPECT_EQ(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);      // tie -> even (up)
  EXPECT_EQ(float_to_half(65504.0f), 0x7bff);
  EXPECT_EQ(float_to_half(65520.0f), 0x7c00);                              // rounds to Inf
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -25)), 0x0000);                 // tie -> even (zero)
  EXPECT_EQ(float_to_half(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(float_to_half(-0.0f), 0x8000);
  EXPECT_EQ(float_to_half(1e-10f), 0x0000);
}

}  // namespace
}  // namespace radclear::storage
