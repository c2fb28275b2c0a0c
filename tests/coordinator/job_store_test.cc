#include "coordinator/job_store.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <rocksdb/db.h>

#include "coordinator/job_json.h"
#include "tests/coordinator/coordinator_fixtures.h"

namespace radclear::coordinator {
namespace {

using testing::TempDir;

Job sample_job(const std::string& id) {
  Job j;
  j.id = id;
  j.content_key = std::string(64, 'a');
  j.stage = Stage::kExtract;
  j.inputs = {"pretrain-0123"};
  j.owners = {TrialRef{"s", "t000"}, TrialRef{"s", "t001"}};
  j.state = JobState::kRunning;
  j.attempts = 2;
  j.max_attempts = 4;
  j.epoch = 7;
  j.lease = Lease{"node1:42", 4, 7, 123456, "tok"};
  j.progress = Progress{0.25, 31.5, "slices", 1000};
  j.last_error = "attempt 1/4: lease expired";
  j.outputs = {"features/a.h5"};
  j.submitted_ms = 1;
  j.started_ms = 2;
  j.seq = 9;
  return j;
}

TEST(JobStore, CommitsAndReloadsEveryField) {
  TempDir dir;
  {
    auto store = JobStore::Open(dir.path() / "db");
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    StoreBatch batch;
    batch.jobs.push_back(sample_job("extract-1"));
    batch.payloads.emplace_back("extract-1", "spec: {windows: [abdomen]}\n");
    batch.sweeps.push_back(Sweep{"s", 5, {Trial{"t000", {"pretrain.lr=0.1"}, {"extract-1"}}}});
    ASSERT_TRUE(store.value()->Commit(batch).ok());
  }
  auto store = JobStore::Open(dir.path() / "db");
  ASSERT_TRUE(store.ok());
  auto jobs = store.value()->LoadJobs();
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs.value().size(), 1u);
  EXPECT_EQ(nlohmann::json(jobs.value()[0]), nlohmann::json(sample_job("extract-1")));
  auto payload = store.value()->GetPayload("extract-1");
  ASSERT_TRUE(payload.ok());
  EXPECT_EQ(payload.value(), "spec: {windows: [abdomen]}\n");
  auto sweeps = store.value()->LoadSweeps();
  ASSERT_TRUE(sweeps.ok());
  ASSERT_EQ(sweeps.value().size(), 1u);
  EXPECT_EQ(sweeps.value()[0].trials[0].overrides[0], "pretrain.lr=0.1");
  EXPECT_EQ(store.value()->GetPayload("nope").status().code(), StatusCode::kNotFound);
}

TEST(JobStore, OneWriterAndReadOnlyReaders) {
  TempDir dir;
  auto writer = JobStore::Open(dir.path() / "db");
  ASSERT_TRUE(writer.ok());
  StoreBatch batch;
  batch.jobs.push_back(sample_job("extract-1"));
  ASSERT_TRUE(writer.value()->Commit(batch).ok());

  auto second = JobStore::Open(dir.path() / "db");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kIoError);
  EXPECT_NE(second.status().message().find((dir.path() / "db").string()), std::string::npos);

  // `radclear status` with the coordinator running.
  JobStoreOptions ro;
  ro.read_only = true;
  auto reader = JobStore::Open(dir.path() / "db", ro);
  ASSERT_TRUE(reader.ok()) << reader.status().to_string();
  auto jobs = reader.value()->LoadJobs();
  ASSERT_TRUE(jobs.ok());
  EXPECT_EQ(jobs.value().size(), 1u);
  EXPECT_EQ(reader.value()->Commit(batch).code(), StatusCode::kFailedPrecondition);

  auto missing = JobStore::Open(dir.path() / "nothing", ro);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(JobStore, CorruptRecordNamesItsKey) {
  TempDir dir;
  const auto path = dir.path() / "db";
  { ASSERT_TRUE(JobStore::Open(path).ok()); }
  {
    // Write a record that is not a job, behind the store's back.
    rocksdb::DBOptions options;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const char* n : {"default", "jobs", "payloads", "sweeps"}) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, path.string(), cfs, &handles, &raw).ok());
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), handles[1], "extract-bad", "{\"id\": 3}").ok());
    for (auto* h : handles) ASSERT_TRUE(raw->DestroyColumnFamilyHandle(h).ok());
    delete raw;
  }
  auto store = JobStore::Open(path);
  ASSERT_TRUE(store.ok());
  auto jobs = store.value()->LoadJobs();
  ASSERT_FALSE(jobs.ok());
  EXPECT_EQ(jobs.status().code(), StatusCode::kCorruption);
  EXPECT_NE(jobs.status().message().find("extract-bad"), std::string::npos) << jobs.status().message();
  EXPECT_NE(jobs.status().message().find(path.string()), std::string::npos);
}

}  // namespace
}  // namespace radclear::coordinator
