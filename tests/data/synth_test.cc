#include "data/synth.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <opencv2/imgcodecs.hpp>

#include "common/check.h"
#include "common/csv.h"
#include "data/phantom.h"
#include "data/window.h"
#include "data/lesion_types.h"
#include "tests/read_file.h"

namespace radclear::data {
namespace {
namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("radclear_synth_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(d);
  return d;
}

SynthSpec small_spec(const fs::path& out, uint64_t seed = 7) {
  SynthSpec s;
  s.out = out;
  s.patients = 3;
  s.studies_per_patient = 2;
  s.slices = 12;
  s.size = 64;
  s.seed = seed;
  return s;
}

// All files under `root`, relative path -> bytes.
std::map<std::string, std::string> tree(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) out[fs::relative(e.path(), root).string()] = testing::read_file(e.path());
  }
  return out;
}

TEST(Synth, WritesDeepLesionAndClearLayouts) {
  const auto dir = fresh_dir("layout");
  const auto sum = generate_synth(small_spec(dir));
  EXPECT_EQ(sum.studies, 6);
  EXPECT_EQ(sum.slices, 72);
  EXPECT_GE(sum.lesions, 6);  // at least one per study
  EXPECT_TRUE(fs::exists(dir / "Images_png/000001_01_01/001.png"));
  EXPECT_TRUE(fs::exists(dir / "Images_png/000003_02_01/012.png"));
  EXPECT_FALSE(fs::exists(dir / "Images_png.partial"));
  EXPECT_TRUE(fs::exists(dir / "synth.yaml"));

  // DL_info.csv: the exact 18-column header, and every row parses.
  CsvReader dl(dir / "DL_info.csv");
  ASSERT_EQ(dl.header().size(), 18u);
  for (size_t i = 0; i < 18; ++i) EXPECT_EQ(dl.header()[i], kDlInfoColumns[i]);
  EXPECT_EQ(dl.header()[0], "File_name");
  EXPECT_EQ(dl.header()[17], "Train_Val_Test");
  CsvRow row;
  int64_t rows = 0;
  std::set<std::string> key_slices;
  while (dl.next(row)) {
    ASSERT_EQ(row.fields.size(), 18u) << dl.where(row);
    const std::string& name = row.fields[0];
    const auto us = name.rfind('_');
    const fs::path png = dir / "Images_png" / name.substr(0, us) / name.substr(us + 1);
    EXPECT_TRUE(fs::exists(png)) << png;
    key_slices.insert(name);
    EXPECT_EQ(parse_number_list(row.fields[5], 8).size(), 8u);
    const auto box = parse_number_list(row.fields[6], 4);
    EXPECT_LE(box[0], box[2]);
    EXPECT_LE(box[1], box[3]);
    EXPECT_EQ(parse_number_list(row.fields[7], 2).size(), 2u);
    EXPECT_EQ(parse_number_list(row.fields[8], 3).size(), 3u);
    const int type = static_cast<int>(parse_int(row.fields[9]).value());
    EXPECT_GE(type, 1);
    EXPECT_LE(type, 8);
    const auto range = parse_number_list(row.fields[11], 2);
    const auto key = parse_int(row.fields[4]).value();
    EXPECT_LE(range[0], key);
    EXPECT_GE(range[1], key);
    EXPECT_EQ(parse_number_list(row.fields[12], 3).size(), 3u);
    EXPECT_EQ(row.fields[13], "64, 64");
    EXPECT_EQ(parse_number_list(row.fields[14], 2).size(), 2u);
    EXPECT_TRUE(row.fields[15] == "M" || row.fields[15] == "F");
    const auto split = parse_int(row.fields[17]).value();
    EXPECT_TRUE(split >= 1 && split <= 3);
    ++rows;
  }
  EXPECT_EQ(rows, sum.lesions);

  // lesions.csv: one row per slice, lesion_present exactly on key slices.
  CsvReader les(dir / "lesions.csv");
  EXPECT_EQ(les.header(), (std::vector<std::string>{"image", "lesion_present", "patient_id"}));
  int64_t slices = 0, present = 0;
  while (les.next(row)) {
    ++slices;
    const std::string dl_name = row.fields[0].substr(0, row.fields[0].find('/')) + "_" +
                                row.fields[0].substr(row.fields[0].find('/') + 1);
    EXPECT_EQ(row.fields[1] == "1", key_slices.count(dl_name) == 1) << row.fields[0];
    present += row.fields[1] == "1";
    EXPECT_EQ(row.fields[2], row.fields[0].substr(0, 6));
  }
  EXPECT_EQ(slices, 72);
  EXPECT_EQ(present, static_cast<int64_t>(key_slices.size()));

  // clinical.csv: CLEAR's label names, one row per study, and the patient
  // (cross-validation folds are split by patient).
  CsvReader clin(dir / "clinical.csv");
  EXPECT_EQ(clin.header(), (std::vector<std::string>{"image", "bone", "abdomen", "mediastinum", "liver", "lung",
                                                     "kidney", "soft tissue", "pelvis", "all", "patient_id"}));
  int studies = 0;
  while (clin.next(row)) {
    ++studies;
    int any = 0;
    for (int i = 1; i <= 8; ++i) {
      EXPECT_TRUE(row.fields[i] == "0" || row.fields[i] == "1");
      any += row.fields[i] == "1";
    }
    EXPECT_GE(any, 1);
    EXPECT_EQ(row.fields[10], row.fields[0].substr(0, 6));  // "000001" of "000001_01_01"
  }
  EXPECT_EQ(studies, 6);
  fs::remove_all(dir);
}

TEST(Synth, PngsDecodeToTheHuRendered) {
  const auto dir = fresh_dir("hu");
  const SynthSpec spec = small_spec(dir);
  generate_synth(spec);
  const PhantomPatient patient = make_phantom_patient(spec.seed, 2);
  const PhantomStudy study = make_phantom_study(spec.seed, patient, 1, spec.slices, spec.size, spec.max_lesions_per_study);
  for (int k : {0, 5, 11}) {
    const RenderedSlice slice = render_phantom_slice(study, k);
    cv::Mat png = cv::imread((dir / "Images_png/000002_01_01" / fmt::format("{:03d}.png", k + 1)).string(),
                             cv::IMREAD_UNCHANGED);
    ASSERT_EQ(png.type(), CV_16U);
    ASSERT_EQ(png.rows, 64);
    for (int y = 0; y < png.rows; ++y) {
      for (int x = 0; x < png.cols; ++x) {
        const int hu = static_cast<int>(png.at<uint16_t>(y, x)) - 32768;
        ASSERT_EQ(hu, slice.hu.at<float>(y, x)) << "slice " << k << " at " << x << "," << y;
        ASSERT_GE(hu, -1024);
        ASSERT_LE(hu, 3071);
      }
    }
  }
  fs::remove_all(dir);
}

TEST(Synth, BoxesTightlyContainTheirLesions) {
  const auto dir = fresh_dir("boxes");
  SynthSpec spec = small_spec(dir, 11);
  spec.size = 128;
  spec.patients = 4;
  generate_synth(spec);
  CsvReader dl(dir / "DL_info.csv");
  CsvRow row;
  std::map<std::string, int> seen;  // lesions per study in row order
  int checked = 0;
  while (dl.next(row)) {
    const int p = static_cast<int>(parse_int(row.fields[1]).value());
    const int s = static_cast<int>(parse_int(row.fields[2]).value());
    const int key = static_cast<int>(parse_int(row.fields[4]).value());
    const auto box = parse_number_list(row.fields[6], 4);
    const int lesion = seen[row.fields[0].substr(0, 12)]++;
    const PhantomStudy study = make_phantom_study(spec.seed, make_phantom_patient(spec.seed, p), s, spec.slices,
                                                  spec.size, spec.max_lesions_per_study);
    const RenderedSlice slice = render_phantom_slice(study, key - 1);
    const RenderedSlice clean = render_phantom_slice(study, key - 1, /*with_lesions=*/false);
    int inside = 0, min_x = 1 << 30, max_x = -1, min_y = 1 << 30, max_y = -1;
    for (int y = 0; y < spec.size; ++y) {
      for (int x = 0; x < spec.size; ++x) {
        if (slice.labels.at<uint8_t>(y, x) != lesion + 1) continue;
        ++inside;
        min_x = std::min(min_x, x), max_x = std::max(max_x, x);
        min_y = std::min(min_y, y), max_y = std::max(max_y, y);
        EXPECT_GE(x, box[0]);
        EXPECT_LE(x, box[2]);
        EXPECT_GE(y, box[1]);
        EXPECT_LE(y, box[3]);
      }
    }
    EXPECT_GT(inside, 0) << "empty lesion for " << row.fields[0];
    EXPECT_EQ(min_x, box[0]);
    EXPECT_EQ(max_x, box[2]);
    EXPECT_EQ(min_y, box[1]);
    EXPECT_EQ(max_y, box[3]);
    // The lesion is visible: its pixels differ from the same slice without it.
    cv::Mat diff = cv::abs(slice.hu - clean.hu);
    EXPECT_GT(cv::mean(diff, slice.labels == lesion + 1)[0], 5.0) << row.fields[0];
    ++checked;
  }
  EXPECT_GT(checked, 4);
  fs::remove_all(dir);
}

TEST(Synth, AllCoarseTypesAppearInALargeEnoughSet) {
  std::array<int, 8> counts{};
  for (int p = 1; p <= 40; ++p) {
    const PhantomPatient patient = make_phantom_patient(3, p);
    for (int s = 1; s <= 2; ++s) {
      for (const auto& l : make_phantom_study(3, patient, s, 64, 512, 3).lesions) counts[l.coarse_type - 1]++;
    }
  }
  for (int t = 0; t < 8; ++t) EXPECT_GT(counts[t], 0) << coarse_type_name(t + 1);
}

// Every lesion must be visible where the pipeline looks: in the abdomen or
// lung window that extraction uses, at the quickstart's 128 px. A lesion of
// the same attenuation as its host (a 45 HU nodule inside 50 HU muscle) is a
// label no encoder can learn, and only adds noise to the learning check.
TEST(Synth, LesionsStandOutInTheFeatureWindows) {
  const CtWindow windows[] = {parse_ct_window("abdomen"), parse_ct_window("lung")};
  std::array<int, 8> total{}, visible{};
  std::array<std::vector<double>, 8> contrast;
  for (int p = 1; p <= 60; ++p) {
    const PhantomPatient patient = make_phantom_patient(5, p);
    for (int s = 1; s <= 2; ++s) {
      const PhantomStudy study = make_phantom_study(5, patient, s, 12, 128, 3);
      for (size_t i = 0; i < study.lesions.size(); ++i) {
        const int key = study.lesions[i].key_slice, type = study.lesions[i].coarse_type - 1;
        const RenderedSlice slice = render_phantom_slice(study, key);
        const RenderedSlice clean = render_phantom_slice(study, key, /*with_lesions=*/false);
        double best = 0;
        for (const CtWindow& w : windows) {
          double sum = 0;
          int n = 0;
          for (int y = 0; y < 128; ++y) {
            for (int x = 0; x < 128; ++x) {
              if (slice.labels.at<uint8_t>(y, x) != i + 1) continue;
              sum += std::abs(int{window_value(w, slice.hu.at<float>(y, x))} - int{window_value(w, clean.hu.at<float>(y, x))});
              ++n;
            }
          }
          best = std::max(best, n ? sum / n : 0.0);
        }
        total[type]++;
        contrast[type].push_back(best);
        if (best >= 20) visible[type]++;  // gray levels of 255: ~30 HU in the abdomen window
      }
    }
  }
  for (int t = 0; t < 8; ++t) {
    ASSERT_GT(total[t], 0) << coarse_type_name(t + 1);
    std::sort(contrast[t].begin(), contrast[t].end());
    EXPECT_GE(visible[t], 0.9 * total[t]) << coarse_type_name(t + 1) << ": " << visible[t] << " of " << total[t]
                                           << " lesions visible; median contrast " << contrast[t][contrast[t].size() / 2];
  }
}

TEST(Synth, SameSeedSameBytesDifferentSeedDifferentBytes) {
  const auto a = fresh_dir("a"), b = fresh_dir("b"), c = fresh_dir("c");
  SynthSpec sa = small_spec(a), sb = small_spec(b), sc = small_spec(c, 8);
  sa.threads = 1;
  sb.threads = 2;  // thread count must not matter
  generate_synth(sa);
  generate_synth(sb);
  generate_synth(sc);
  const auto ta = tree(a), tb = tree(b), tc = tree(c);
  EXPECT_EQ(ta.size(), 6u * 12u + 4u);
  EXPECT_TRUE(ta == tb);
  EXPECT_NE(ta.at("DL_info.csv"), tc.at("DL_info.csv"));
  EXPECT_NE(ta.at("Images_png/000001_01_01/006.png"), tc.at("Images_png/000001_01_01/006.png"));
  for (const auto& d : {a, b, c}) fs::remove_all(d);
}

TEST(Synth, BadArgumentsWriteNothing) {
  const auto dir = fresh_dir("bad");
  for (auto mutate : std::vector<std::function<void(SynthSpec&)>>{
           [](SynthSpec& s) { s.slices = 0; }, [](SynthSpec& s) { s.size = 0; },
           [](SynthSpec& s) { s.patients = 0; }, [](SynthSpec& s) { s.studies_per_patient = 0; },
           [](SynthSpec& s) { s.slices = 1000; }}) {
    SynthSpec s = small_spec(dir);
    mutate(s);
    EXPECT_THROW(generate_synth(s), InvalidArgument);
    EXPECT_FALSE(fs::exists(dir));
  }
  // Non-empty directory without --force.
  fs::create_directories(dir);
  std::ofstream(dir / "precious.txt") << "keep me";
  EXPECT_THROW(generate_synth(small_spec(dir)), InvalidArgument);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
  // With --force it writes and keeps unrelated files.
  SynthSpec forced = small_spec(dir);
  forced.force = true;
  generate_synth(forced);
  EXPECT_EQ(testing::read_file(dir / "precious.txt"), "keep me");
  EXPECT_TRUE(fs::exists(dir / "DL_info.csv"));
  fs::remove_all(dir);
}

TEST(Synth, UnwritableDirectoryIsRejected) {
  // A path below a regular file cannot be created, even by root.
  const auto file = fresh_dir("file");
  std::ofstream(file) << "x";
  SynthSpec s = small_spec(file / "sub");
  try {
    generate_synth(s);
    FAIL();
  } catch (const InvalidArgument& e) {
    // The cause: the parent is a regular file (ENOTDIR), not permissions.
    EXPECT_NE(std::string(e.what()).find(file.string() + " is not a directory"), std::string::npos) << e.what();
  }
  fs::remove(file);
}

TEST(Synth, DirectoryNames) {
  EXPECT_EQ(synth_study_dir(1, 1), "000001_01_01");
  EXPECT_EQ(synth_study_dir(4427, 12, 3), "004427_12_03");
}

}  // namespace
}  // namespace radclear::data
