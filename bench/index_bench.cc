// Slice index speed (issue 3 targets): ingest of 1,000,000 slice records from
// an in-memory listing (< 20 s) and the prefix scan of one 300-slice study
// (< 1 ms). Run: build/bench/radclear_index_bench
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>

#include <fmt/format.h>

#include "storage/index.h"
#include "storage/ingest.h"

namespace {

namespace fs = std::filesystem;
using radclear::storage::DataListing;
using radclear::storage::IndexOptions;
using radclear::storage::IngestOptions;
using radclear::storage::IngestReport;
using radclear::storage::Layout;
using radclear::storage::SliceIndex;

constexpr int kSlicesPerStudy = 300;

// DeepLesion-shaped listing: `slices` files, 300 per study, 3 studies per patient.
DataListing make_listing(int64_t slices) {
  DataListing listing;
  listing.layout = Layout::kDeepLesion;
  listing.files.reserve(static_cast<size_t>(slices));
  for (int64_t i = 0; i < slices; ++i) {
    const int64_t study = i / kSlicesPerStudy;
    const int64_t z = i % kSlicesPerStudy + 1;
    listing.files.push_back({fmt::format("Images_png/{:06d}_{:02d}_01/{:03d}.png", study / 3 + 1,
                                         study % 3 + 1, z),
                             static_cast<uint64_t>(250000 + (i * 7919) % 100000)});
  }
  return listing;
}

fs::path temp_db(const char* tag) {
  std::random_device rd;
  return fs::temp_directory_path() / fmt::format("radclear_index_bench_{}_{}", tag, rd());
}

std::unique_ptr<SliceIndex> open_or_die(const fs::path& p, bool bulk) {
  IndexOptions o;
  o.bulk_load = bulk;
  auto r = SliceIndex::Open(p, o);
  if (!r.ok()) throw std::runtime_error(r.status().to_string());
  return std::move(r.value());
}

void ingest_or_die(SliceIndex& index, const DataListing& listing, IngestReport* report) {
  radclear::Status s = radclear::storage::ingest(index, listing, IngestOptions{}, report);
  if (!s.ok()) throw std::runtime_error(s.to_string());
  s = index.Flush();
  if (!s.ok()) throw std::runtime_error(s.to_string());
}

// Fresh index each iteration; times listing grouping, merge, encoding,
// WriteBatches and the final flush to SST files.
void BM_IngestSlices(benchmark::State& state) {
  const DataListing listing = make_listing(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    const fs::path db = temp_db("ingest");
    auto index = open_or_die(db, true);
    state.ResumeTiming();
    IngestReport report;
    ingest_or_die(*index, listing, &report);
    state.PauseTiming();
    state.counters["batches"] = static_cast<double>(report.batches);
    index.reset();
    fs::remove_all(db);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_IngestSlices)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

// A second run over the same listing: every slice is compared, none written.
void BM_ReingestUnchanged(benchmark::State& state) {
  const DataListing listing = make_listing(state.range(0));
  const fs::path db = temp_db("reingest");
  auto index = open_or_die(db, true);
  IngestReport report;
  ingest_or_die(*index, listing, &report);
  for (auto _ : state) {
    ingest_or_die(*index, listing, &report);
    if (report.slices_unchanged != state.range(0)) state.SkipWithError("rerun wrote slices");
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  index.reset();
  fs::remove_all(db);
}
BENCHMARK(BM_ReingestUnchanged)->Arg(1000000)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

// All slices of one 300-slice study, decoded, from an index of ~1,000,000
// slices (reopened so the scan reads SST files, not the memtable).
void BM_PrefixScanStudy(benchmark::State& state) {
  struct ScanDb {
    fs::path path = temp_db("scan");
    ScanDb() {
      auto index = open_or_die(path, true);
      IngestReport report;
      ingest_or_die(*index, make_listing(3334 * kSlicesPerStudy), &report);  // 1,000,200
    }
    ~ScanDb() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  };
  static const ScanDb db;
  auto index = open_or_die(db.path, false);
  auto ids = index->ListStudyIds();
  if (!ids.ok() || ids.value().empty()) {
    state.SkipWithError("no studies");
    return;
  }
  std::mt19937 rng(1);
  size_t slices = 0;
  for (auto _ : state) {
    const std::string& id = ids.value()[rng() % ids.value().size()];
    auto r = index->SlicesOfStudy(id);
    if (!r.ok() || r.value().size() != kSlicesPerStudy) state.SkipWithError("bad scan");
    slices += r.value().size();
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<int64_t>(slices));
}
BENCHMARK(BM_PrefixScanStudy)->Unit(benchmark::kMicrosecond);

}  // namespace
