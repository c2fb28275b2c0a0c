#include "storage/records.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include <gtest/gtest.h>

namespace radclear::storage {
namespace {

SliceId sid(std::string study, std::string series, uint32_t n, std::string name) {
  return SliceId{std::move(study), std::move(series), n, std::move(name)};
}

TEST(RecordKeys, SliceKeyRoundTrip) {
  const SliceId id = sid("000001_01_01", "01", 109, "109");
  SliceId back;
  ASSERT_TRUE(parse_slice_key(slice_key(id), &back).ok());
  EXPECT_EQ(back, id);
}

TEST(RecordKeys, BigEndianNumbersSortInZOrder) {
  // Numbers that sort wrongly as text (2 > 10 > 100) or as little-endian
  // bytes (256 < 1) must come out in numeric order.
  std::vector<uint32_t> numbers = {300, 2, 10, 256, 1, 100, 65536, 0};
  std::vector<std::string> keys;
  for (uint32_t n : numbers) keys.push_back(slice_key(sid("s", "", n, std::to_string(n))));
  std::sort(keys.begin(), keys.end());
  std::vector<uint32_t> got;
  for (const auto& k : keys) {
    SliceId id;
    ASSERT_TRUE(parse_slice_key(k, &id).ok());
    got.push_back(id.slice_number);
  }
  std::sort(numbers.begin(), numbers.end());
  EXPECT_EQ(got, numbers);
}

TEST(RecordKeys, StudyPrefixDoesNotMatchLongerStudyIds) {
  const std::string prefix = study_slice_prefix("p1");
  const std::string own = slice_key(sid("p1", "", 5, "5"));
  const std::string other = slice_key(sid("p1_b", "", 5, "5"));
  const std::string other2 = slice_key(sid("p10", "", 5, "5"));
  EXPECT_EQ(own.compare(0, prefix.size(), prefix), 0);
  EXPECT_NE(other.compare(0, prefix.size(), prefix), 0);
  EXPECT_NE(other2.compare(0, prefix.size(), prefix), 0);
}

TEST(RecordKeys, SeriesGroupsBeforeZ) {
  // (series, z): all of series "01" before "02", z order inside.
  EXPECT_LT(slice_key(sid("s", "01", 200, "200")), slice_key(sid("s", "02", 1, "1")));
  EXPECT_LT(slice_key(sid("s", "01", 1, "1")), slice_key(sid("s", "01", 2, "2")));
}

TEST(RecordKeys, LesionKeyExtendsSliceKey) {
  const SliceId id = sid("s", "1", 7, "007");
  const std::string k = lesion_key(id, 3);
  EXPECT_EQ(k.compare(0, slice_key(id).size(), slice_key(id)), 0);
  SliceId back;
  uint16_t ordinal = 0;
  ASSERT_TRUE(parse_lesion_key(k, &back, &ordinal).ok());
  EXPECT_EQ(back, id);
  EXPECT_EQ(ordinal, 3);
  EXPECT_LT(lesion_key(id, 1), lesion_key(id, 256));
}

TEST(RecordKeys, SplitKeysGroupBySplit) {
  EXPECT_LT(split_study_key(Split::kTrain, "zzz"), split_study_key(Split::kVal, "aaa"));
  Split split;
  std::string study;
  ASSERT_TRUE(parse_split_study_key(split_study_key(Split::kTest, "abc"), &split, &study).ok());
  EXPECT_EQ(split, Split::kTest);
  EXPECT_EQ(study, "abc");
}

TEST(RecordKeys, MalformedKeysAreCorruption) {
  SliceId id;
  EXPECT_EQ(parse_slice_key("no-terminator", &id).code(), StatusCode::kCorruption);
  EXPECT_EQ(parse_slice_key(std::string("a\0b\0\x01", 5), &id).code(), StatusCode::kCorruption);
  uint16_t ordinal;
  EXPECT_EQ(parse_lesion_key(slice_key(sid("a", "", 1, "1")), &id, &ordinal).code(),
            StatusCode::kCorruption);
}

SliceRecord sample_slice() {
  SliceRecord r;
  r.id = sid("000001_01_01", "01", 109, "109");
  r.rel_path = "Images_png/000001_01_01/109.png";
  r.file_size = 123456789012ULL;
  r.width = 512;
  r.height = 384;
  r.lesion = true;
  r.lesion_boxes = {{1.5f, 2.25f, 30.f, 40.f}, {100.f, 101.f, 200.5f, 300.f}};
  return r;
}

LesionRecord sample_lesion() {
  LesionRecord r;
  r.slice = sid("000001_01_01", "01", 109, "109");
  r.ordinal = 2;
  r.source_line = 12345;
  r.file_name = "000001_01_01_109.png";
  r.patient_index = 1;
  r.study_index = 1;
  r.series_id = 1;
  r.key_slice_index = 109;
  r.measurement_coordinates = {233.537, 95.0204, 234.057, 106.977, 231.169, 101.605, 236.252, 101.143};
  r.bounding_box = {226.169f, 90.0204f, 241.252f, 111.977f};
  r.lesion_diameters_pixel = {11.9677, 5.10387};
  r.normalized_lesion_location = {0.44449, 0.281955, 0.853884};
  r.coarse_lesion_type = 3;
  r.possibly_noisy = true;
  r.slice_range = {103, 115};
  r.spacing_mm_px = {0.488281, 0.488281, 5};
  r.image_size = {512, 512};
  r.dicom_windows = {-175, 275};
  r.patient_gender = 'F';
  r.patient_age = 62;
  r.split = Split::kVal;
  return r;
}

TEST(RecordValues, SliceRoundTrip) {
  const SliceRecord r = sample_slice();
  SliceRecord back;
  back.id = r.id;  // key parts come from the key
  ASSERT_TRUE(decode_slice(encode_slice(r), &back).ok());
  EXPECT_EQ(back, r);
}

TEST(RecordValues, SliceIsCompact) {
  SliceRecord r = sample_slice();
  r.lesion = false;
  r.lesion_boxes.clear();
  // version + path (1 + 31) + size (<= 6) + w, h (2 + 2) + flags + count.
  EXPECT_LE(encode_slice(r).size(), 45u);
}

TEST(RecordValues, LesionRoundTrip) {
  const LesionRecord r = sample_lesion();
  LesionRecord back;
  back.slice = r.slice;
  back.ordinal = r.ordinal;
  ASSERT_TRUE(decode_lesion(encode_lesion(r), &back).ok());
  EXPECT_EQ(back, r);
  LesionRecord negative = r;
  negative.coarse_lesion_type = -1;
  negative.patient_age = -1;
  negative.source_line = -5;
  ASSERT_TRUE(decode_lesion(encode_lesion(negative), &back).ok());
  EXPECT_EQ(back.coarse_lesion_type, -1);
  EXPECT_EQ(back.patient_age, -1);
  EXPECT_EQ(back.source_line, -5);
}

TEST(RecordValues, StudyAndPatientRoundTrip) {
  StudyRecord s;
  s.study_id = "study";
  s.patient_id = "patient_001";
  s.layout = Layout::kDeepLesion;
  s.split = Split::kTest;
  s.patient_age = 47;
  s.slice_count = 300;
  s.lesion_slice_count = 2;
  s.lesion_count = 3;
  s.series = {"01", "02"};
  s.clinical = {{"liver", 1.f}, {"lung", 0.f}, {"bone", std::numeric_limits<float>::quiet_NaN()}};
  s.stratum = "100";
  StudyRecord sb;
  sb.study_id = s.study_id;
  ASSERT_TRUE(decode_study(encode_study(s), &sb).ok());
  EXPECT_EQ(sb, s);
  EXPECT_TRUE(std::isnan(sb.clinical[2].value));

  PatientRecord p{"patient_001", 'M', {"a", "b"}};
  PatientRecord pb;
  pb.patient_id = p.patient_id;
  ASSERT_TRUE(decode_patient(encode_patient(p), &pb).ok());
  EXPECT_EQ(pb, p);
}

// A DICOM frame / NIfTI plane keeps its source, frame and spacing (format 2);
// an image-file slice stays format 1, so indexes written before are read
// and rewritten byte for byte.
TEST(RecordValues, ScannerSliceRoundTripAndPngSlicesKeepFormatOne) {
  SliceRecord r = sample_slice();
  EXPECT_EQ(static_cast<uint8_t>(encode_slice(r)[0]), kRecordFormatVersion);
  r.rel_path = "ct/lung_007.nii.gz";
  r.source = SliceSource::kNiftiPlane;
  r.frame = 41;
  r.spacing_mm = {0.7f, 0.7f, 1.25f};
  r.slice_thickness_mm = 1.5f;
  const std::string v = encode_slice(r);
  EXPECT_EQ(static_cast<uint8_t>(v[0]), kSliceFormatScanner);
  SliceRecord back;
  back.id = r.id;
  ASSERT_TRUE(decode_slice(v, &back).ok());
  EXPECT_EQ(back, r);
  for (size_t n = 0; n < v.size(); ++n) {
    EXPECT_EQ(decode_slice(v.substr(0, n), &back).code(), StatusCode::kCorruption) << "length " << n;
  }
  std::string bad_source = v;
  bad_source[v.size() - 4 * 4 - 1 - 1] = 7;  // the source byte: then frame 41 (1 varint byte), 4 floats
  EXPECT_EQ(decode_slice(bad_source, &back).code(), StatusCode::kCorruption);
}

TEST(RecordValues, VersionByteIsChecked) {
  std::string v = encode_slice(sample_slice());
  ASSERT_EQ(static_cast<uint8_t>(v[0]), kRecordFormatVersion);
  v[0] = static_cast<char>(kSliceFormatScanner + 1);  // slices read formats 1 and 2
  SliceRecord back;
  const Status s = decode_slice(v, &back);
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_NE(s.message().find("format version"), std::string::npos) << s.message();
}

TEST(RecordValues, TruncatedAndTrailingBytesAreCorruption) {
  const std::string v = encode_lesion(sample_lesion());
  LesionRecord back;
  for (size_t n = 0; n < v.size(); ++n) {
    EXPECT_EQ(decode_lesion(v.substr(0, n), &back).code(), StatusCode::kCorruption) << "length " << n;
  }
  EXPECT_EQ(decode_lesion(v + "x", &back).code(), StatusCode::kCorruption);
  StudyRecord sb;
  EXPECT_EQ(decode_study(encode_slice(sample_slice()), &sb).code(), StatusCode::kCorruption);
}

TEST(RecordValues, HugeCountDoesNotAllocate) {
  // version, empty path, size 0, w 0, h 0, flags 0, count = 2^62.
  std::string v = {static_cast<char>(kRecordFormatVersion), 0, 0, 0, 0, 0};
  for (int i = 0; i < 8; ++i) v.push_back(static_cast<char>(0xff));
  v.push_back(0x3f);
  SliceRecord back;
  EXPECT_EQ(decode_slice(v, &back).code(), StatusCode::kCorruption);
}

TEST(RecordValues, RandomBytesNeverCrash) {
  std::mt19937 rng(7);
  int rejected = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string v(rng() % 64, '\0');
    for (char& c : v) c = static_cast<char>(rng());
    if (!v.empty()) v[0] = static_cast<char>(kRecordFormatVersion);
    SliceRecord s;
    LesionRecord l;
    StudyRecord st;
    PatientRecord p;
    rejected += !decode_slice(v, &s).ok();
    rejected += !decode_lesion(v, &l).ok();
    rejected += !decode_study(v, &st).ok();
    rejected += !decode_patient(v, &p).ok();
  }
  // Random bytes almost never form a whole valid value of the right length.
  EXPECT_GT(rejected, 7000);
}

}  // namespace
}  // namespace radclear::storage
