#include "storage/index.h"

#include <algorithm>
#include <fstream>
#include <random>

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "storage/ingest.h"
#include "tests/storage/index_fixtures.h"

namespace radclear::storage {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;

SliceRecord make_slice(const std::string& study, uint32_t z, bool lesion = false) {
  SliceRecord r;
  r.id = {study, "", z, std::to_string(z)};
  r.rel_path = study + "/" + std::to_string(z) + ".png";
  r.file_size = 1000 + z;
  r.lesion = lesion;
  if (lesion) r.lesion_boxes = {{1, 2, 3, 4}};
  return r;
}

StudyRecord make_study(const std::string& id, Split split, uint32_t slices) {
  StudyRecord s;
  s.study_id = id;
  s.patient_id = "p_" + id;
  s.split = split;
  s.slice_count = slices;
  return s;
}

std::unique_ptr<SliceIndex> open(const std::filesystem::path& p, IndexOptions o = {}) {
  auto r = SliceIndex::Open(p, o);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? std::move(r.value()) : nullptr;
}

TEST(SliceIndex, PrefixScanReturnsAStudyInZOrder) {
  TempDir tmp;
  auto index = open(tmp.path() / "db");
  ASSERT_TRUE(index);
  std::vector<uint32_t> z(300);
  for (uint32_t i = 0; i < 300; ++i) z[i] = i + 1;
  std::shuffle(z.begin(), z.end(), std::mt19937(3));
  IndexBatch batch = index->NewBatch();
  for (uint32_t n : z) {
    batch.PutSlice(make_slice("s1", n));
    batch.PutSlice(make_slice("s10", n));  // a study whose id extends "s1"
  }
  batch.PutSlice(make_slice("s", 5));
  ASSERT_TRUE(index->Write(&batch).ok());
  EXPECT_EQ(batch.operations(), 0u);

  auto slices = index->SlicesOfStudy("s1");
  ASSERT_TRUE(slices.ok()) << slices.status().to_string();
  ASSERT_EQ(slices.value().size(), 300u);
  for (uint32_t i = 0; i < 300; ++i) {
    EXPECT_EQ(slices.value()[i].id.slice_number, i + 1);
    EXPECT_EQ(slices.value()[i].id.study_id, "s1");
    EXPECT_EQ(slices.value()[i].file_size, 1001 + i);
  }
  EXPECT_EQ(index->SlicesOfStudy("s").value().size(), 1u);
  EXPECT_TRUE(index->SlicesOfStudy("nope").value().empty());

  auto one = index->GetSlice({"s1", "", 42, "42"});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one.value().rel_path, "s1/42.png");
  EXPECT_EQ(index->GetSlice({"s1", "", 999, "999"}).status().code(), StatusCode::kNotFound);

  int64_t n = 0;
  ASSERT_TRUE(index->ForEachSlice([&](const SliceRecord&) { return ++n < 10; }).ok());
  EXPECT_EQ(n, 10);
}

TEST(SliceIndex, StudiesBySplitFollowSplitChanges) {
  TempDir tmp;
  auto index = open(tmp.path() / "db");
  ASSERT_TRUE(index);
  IndexBatch batch = index->NewBatch();
  const StudyRecord a = make_study("a", Split::kTrain, 3);
  batch.PutStudy(a, nullptr);
  batch.PutStudy(make_study("b", Split::kTest, 4), nullptr);
  batch.PutStudy(make_study("c", Split::kTrain, 5), nullptr);
  ASSERT_TRUE(index->Write(&batch).ok());
  EXPECT_EQ(index->ListStudyIds(Split::kTrain).value(), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(index->ListStudyIds(Split::kTest).value(), (std::vector<std::string>{"b"}));
  EXPECT_EQ(index->ListStudyIds().value(), (std::vector<std::string>{"a", "b", "c"}));

  StudyRecord moved = a;
  moved.split = Split::kVal;
  batch.PutStudy(moved, &a);
  ASSERT_TRUE(index->Write(&batch).ok());
  EXPECT_EQ(index->ListStudyIds(Split::kTrain).value(), (std::vector<std::string>{"c"}));
  auto val = index->ListStudies(Split::kVal);
  ASSERT_TRUE(val.ok());
  ASSERT_EQ(val.value().size(), 1u);
  EXPECT_EQ(val.value()[0].study_id, "a");
  EXPECT_EQ(val.value()[0].split, Split::kVal);
  EXPECT_EQ(index->PatientOfStudy("b").value(), "p_b");
  EXPECT_EQ(index->GetStudy("zzz").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(index->PatientOfStudy("zzz").status().code(), StatusCode::kNotFound);
}

TEST(SliceIndex, LesionSlicesComeWithTheirLesions) {
  TempDir tmp;
  auto index = open(tmp.path() / "db");
  ASSERT_TRUE(index);
  IndexBatch batch = index->NewBatch();
  SliceRecord l = make_slice("s", 7, true);
  batch.PutSlice(make_slice("s", 6));
  batch.PutSlice(l);
  for (uint16_t k = 0; k < 2; ++k) {
    LesionRecord r;
    r.slice = l.id;
    r.ordinal = k;
    r.coarse_lesion_type = static_cast<int8_t>(4 + k);
    r.split = Split::kTrain;
    batch.PutLesion(r);
  }
  ASSERT_TRUE(index->Write(&batch).ok());
  auto ls = index->LesionSlices();
  ASSERT_TRUE(ls.ok());
  ASSERT_EQ(ls.value().size(), 1u);
  EXPECT_EQ(ls.value()[0].slice.id.slice_number, 7u);
  ASSERT_EQ(ls.value()[0].lesions.size(), 2u);
  EXPECT_EQ(ls.value()[0].lesions[1].coarse_lesion_type, 5);
  EXPECT_EQ(index->LesionsOfStudy("s").value().size(), 2u);

  // Clearing the flag removes it from lesion_slices.
  l.lesion = false;
  l.lesion_boxes.clear();
  batch.PutSlice(l);
  ASSERT_TRUE(index->Write(&batch).ok());
  EXPECT_TRUE(index->LesionSlices().value().empty());
}

TEST(SliceIndex, ReadOnlyHandlesAndTheWriteLock) {
  TempDir tmp;
  const auto db = tmp.path() / "db";
  IndexOptions ro;
  ro.read_only = true;
  EXPECT_EQ(SliceIndex::Open(db, ro).status().code(), StatusCode::kNotFound);
  IndexOptions no_create;
  no_create.create_if_missing = false;
  EXPECT_EQ(SliceIndex::Open(db, no_create).status().code(), StatusCode::kNotFound);

  auto writer = open(db);
  ASSERT_TRUE(writer);
  IndexBatch batch = writer->NewBatch();
  batch.PutStudy(make_study("a", Split::kTrain, 1), nullptr);
  ASSERT_TRUE(writer->Write(&batch).ok());
  ASSERT_TRUE(writer->Flush().ok());

  // A second writer is refused while the first holds the lock.
  auto second = SliceIndex::Open(db);
  EXPECT_EQ(second.status().code(), StatusCode::kIoError);
  EXPECT_NE(second.status().message().find("only one process may write"), std::string::npos)
      << second.status().message();

  // Readers may open alongside the writer.
  auto reader = open(db, ro);
  ASSERT_TRUE(reader);
  EXPECT_TRUE(reader->GetStudy("a").ok());
  IndexBatch rb = reader->NewBatch();
  rb.PutStudy(make_study("b", Split::kTrain, 1), nullptr);
  EXPECT_EQ(reader->Write(&rb).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(rb.operations(), 1u);  // kept on failure
}

TEST(SliceIndex, RefusesAnotherSchemaVersion) {
  TempDir tmp;
  const auto db = tmp.path() / "db";
  {
    auto index = open(db);
    ASSERT_TRUE(index);
    EXPECT_EQ(index->GetMeta("schema_version").value(), std::to_string(kIndexSchemaVersion));
    IndexBatch batch = index->NewBatch();
    batch.PutMeta("schema_version", "999");
    ASSERT_TRUE(index->Write(&batch).ok());
  }
  EXPECT_EQ(SliceIndex::Open(db).status().code(), StatusCode::kFailedPrecondition);
}

TEST(SliceIndex, KeepsColumnFamiliesOfOtherModules) {
  TempDir tmp;
  const auto db = tmp.path() / "db";
  {
    auto index = open(db);
    ASSERT_TRUE(index);
    auto cf = index->column_family("feature_shards");
    ASSERT_TRUE(cf.ok());
    ASSERT_TRUE(index->raw_db()->Put(rocksdb::WriteOptions(), cf.value(), "k", "v").ok());
  }
  IndexOptions ro;
  ro.read_only = true;
  auto index = open(db, ro);
  ASSERT_TRUE(index);
  auto cf = index->column_family("feature_shards");
  ASSERT_TRUE(cf.ok());
  std::string v;
  ASSERT_TRUE(index->raw_db()->Get(rocksdb::ReadOptions(), cf.value(), "k", &v).ok());
  EXPECT_EQ(v, "v");
  EXPECT_EQ(index->column_family("absent").status().code(), StatusCode::kNotFound);
}

TEST(SliceIndex, CorruptValuesAreReportedWithTheKey) {
  TempDir tmp;
  auto index = open(tmp.path() / "db");
  ASSERT_TRUE(index);
  auto cf = index->column_family("studies");
  ASSERT_TRUE(cf.ok());
  ASSERT_TRUE(index->raw_db()->Put(rocksdb::WriteOptions(), cf.value(), "bad", "\x07garbage").ok());
  auto r = index->GetStudy("bad");
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("studies"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("bad"), std::string::npos) << r.status().message();
  EXPECT_EQ(index->ListStudies().status().code(), StatusCode::kCorruption);
}

IndexOptions read_only() {
  IndexOptions o;
  o.read_only = true;
  return o;
}

// An index of 4 studies x 2000 slices, flushed to SST files and closed; the
// largest SST file (the slices) is returned.
fs::path flushed_index(const fs::path& db) {
  {
    auto index = open(db);
    IndexBatch batch = index->NewBatch();
    for (const char* study : {"a", "b", "c", "d"}) {
      for (uint32_t z = 1; z <= 2000; ++z) batch.PutSlice(make_slice(study, z));
    }
    EXPECT_TRUE(index->Write(&batch).ok());
    EXPECT_TRUE(index->Flush().ok());
  }
  fs::path largest;
  for (const auto& e : fs::directory_iterator(db)) {
    if (e.path().extension() != ".sst") continue;
    if (largest.empty() || fs::file_size(e.path()) > fs::file_size(largest)) largest = e.path();
  }
  EXPECT_GT(fs::file_size(largest), 3u * 16 * 1024) << "expected several 16 KiB blocks in " << largest;
  return largest;
}

// Status of a full slice scan, with the number of slices it saw.
Status scan_all(const fs::path& db, int64_t* n) {
  *n = 0;
  auto index = SliceIndex::Open(db, read_only());
  if (!index.ok()) return index.status();
  return index.value()->ForEachSlice([&](const SliceRecord&) { return ++*n, true; });
}

void expect_damaged(const Status& s, const std::string& fragment) {
  EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.to_string();
  EXPECT_NE(s.message().find(fragment), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("rebuild it with `radclear index`"), std::string::npos) << s.message();
}

TEST(SliceIndex, DamagedSstIsReportedNotReadAsFewerSlices) {
  TempDir tmp;
  const fs::path db = tmp.path() / "db";
  const fs::path sst = flushed_index(db);
  int64_t n = 0;
  ASSERT_TRUE(scan_all(db, &n).ok());
  ASSERT_EQ(n, 8000);
  {
    auto index = open(db, read_only());
    ASSERT_TRUE(index);
    EXPECT_TRUE(index->VerifyChecksums().ok());
  }

  // 4096 bytes flipped in the middle of the slices' SST file: same size.
  std::string bytes;
  {
    std::ifstream in(sst, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const size_t mid = bytes.size() / 2;
  for (size_t i = mid; i < mid + 4096; ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0xFF);
  std::ofstream(sst, std::ios::binary | std::ios::trunc) << bytes;

  const Status scanned = scan_all(db, &n);
  expect_damaged(scanned, db.string());
  EXPECT_LT(n, 8000) << "the scan saw every slice in a damaged file";
  auto index = open(db, read_only());
  ASSERT_TRUE(index);
  expect_damaged(index->VerifyChecksums(), sst.filename().string());
  VerifyReport report;
  expect_damaged(verify_files(*index, tmp.path(), 1, &report), "checksum");
}

TEST(SliceIndex, TruncatedSstIsReportedNotReadAsFewerSlices) {
  TempDir tmp;
  const fs::path db = tmp.path() / "db";
  const fs::path sst = flushed_index(db);
  fs::resize_file(sst, fs::file_size(sst) / 2);
  int64_t n = 0;
  expect_damaged(scan_all(db, &n), db.string());
  EXPECT_EQ(SliceIndex::Open(db).status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace radclear::storage
