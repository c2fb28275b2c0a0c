#include "worker/extract/extractor.h"

#include <chrono>
#include <ctime>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include <c10/core/InferenceMode.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "common/atomic_file.h"
#include "common/check.h"
#include "common/parallel.h"
#include "common/progress.h"
#include "common/sha256.h"
#include "common/version.h"
#include "models/backbones/backbone.h"
#include "models/layers/autocast.h"
#include "storage/feature_index.h"
#include "storage/feature_store.h"
#include "storage/index.h"
#include "worker/extract/encoder.h"
#include "worker/extract/journal.h"
#include "worker/extract/sharding.h"
#include "worker/extract/study_reader.h"
#include "worker/device.h"

namespace radclear::worker {

namespace fs = std::filesystem;

namespace {

// Opens the index. For writing, waits up to kWriteLockWait while another
// process holds the writer's lock: shard jobs of one feature set in other
// worker groups write it briefly at their start and end.
constexpr auto kWriteLockWait = std::chrono::seconds(300);

std::unique_ptr<storage::SliceIndex> open_index(const fs::path& db, bool read_only) {
  storage::IndexOptions opts;
  opts.read_only = read_only;
  opts.create_if_missing = false;
  const auto deadline = std::chrono::steady_clock::now() + kWriteLockWait;
  bool told = false;
  while (true) {
    auto index = storage::SliceIndex::Open(db, opts);
    const bool locked = !read_only && index.status().code() == StatusCode::kIoError && fs::exists(db / "CURRENT");
    if (!locked || std::chrono::steady_clock::now() > deadline) {
      throw_if_error(index.status());
      return std::move(index.value());
    }
    if (!told) spdlog::info("index {} is being written by another process; waiting for it", db.string());
    told = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}


// The studies of the requested splits (all when none), ascending id.
std::vector<storage::StudyRecord> studies_of(const storage::SliceIndex& index, const std::vector<stages::Split>& splits) {
  std::vector<storage::StudyRecord> out;
  if (splits.empty()) {
    auto all = index.ListStudies();
    throw_if_error(all.status());
    return std::move(all.value());
  }
  for (const auto& s : splits) {
    auto some = index.ListStudies(s);
    throw_if_error(some.status());
    for (auto& r : some.value()) out.push_back(std::move(r));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.study_id < b.study_id; });
  return out;
}

// `studies` narrowed to the ids in `only` (all when `only` is empty); an id
// that is not among them is an error (a shard names studies of the index).
std::vector<storage::StudyRecord> only_studies(std::vector<storage::StudyRecord> studies,
                                              const std::vector<std::string>& only) {
  if (only.empty()) return studies;
  const std::set<std::string> wanted(only.begin(), only.end());
  std::vector<storage::StudyRecord> out;
  for (auto& s : studies) {
    if (wanted.count(s.study_id)) out.push_back(std::move(s));
  }
  if (out.size() != wanted.size()) {
    std::set<std::string> found;
    for (const auto& s : out) found.insert(s.study_id);
    for (const auto& id : wanted) {
      if (!found.count(id)) {
        throw InvalidArgument(fmt::format("extract: study '{}' (--studies) is not among the index's studies of the "
                                          "requested splits",
                                          id));
      }
    }
  }
  return out;
}

// Moves every journal line of the set into the index, then removes the
// journal files (rank 0 only).
int64_t ingest_journals(storage::FeatureIndex& fi, const fs::path& out, const std::string& set_id) {
  int64_t n = 0;
  for (const auto& file : journal_files(out, set_id)) {
    // A journal another job still writes: its lines so far (PutShards is
    // idempotent); that job removes the file when it ends.
    const bool live = journal_in_use(file);
    const auto records = read_journal(file);
    throw_if_error(fi.PutShards(records));
    n += static_cast<int64_t>(records.size());
    if (!live) fs::remove(file);
  }
  return n;
}

// Removes temporary files a killed run left behind (".<study>.h5.tmp.<pid>.<n>").
// A temp file lives only while one study's file is written, so one untouched
// for kStaleTemp is a dead writer's; younger ones may belong to a shard job
// of the same set running in another worker group.
constexpr auto kStaleTemp = std::chrono::minutes(10);

void remove_stale_temps(const fs::path& out) {
  std::error_code ec;
  if (!fs::is_directory(out, ec)) return;
  const auto now = fs::file_time_type::clock::now();
  for (const auto& e : fs::directory_iterator(out)) {
    const std::string name = e.path().filename().string();
    if (name.size() <= 1 || name[0] != '.' || name.find(".h5.tmp.") == std::string::npos) continue;
    const auto written = fs::last_write_time(e.path(), ec);
    if (!ec && now - written < kStaleTemp) continue;
    fs::remove(e.path(), ec);
  }
}

// Rank 0, before any rank starts: bring the set's records up to date with
// the files on disk.
void prepare_set(const ExtractSpec& spec, storage::FeatureSetRecord set, int threads) {
  auto index = open_index(spec.db, /*read_only=*/false);
  storage::FeatureIndex fi(*index);
  // One directory holds one feature set: the files are named by study only.
  auto sets = fi.ListSets();
  throw_if_error(sets.status());
  for (const auto& other : sets.value()) {
    if (other.set_id == set.set_id || other.out_dir != set.out_dir) continue;
    auto theirs = fi.ShardsOfSet(other.set_id);
    throw_if_error(theirs.status());
    if (theirs.value().empty()) continue;
    throw InvalidArgument(fmt::format(
        "{} already holds feature set {} ({} studies of {} features, windows {}, {}); these settings make a "
        "different set ({}, windows {}, {}): choose another --out",
        set.out_dir, other.set_id, theirs.value().size(), other.arch, fmt::join(other.windows, ","), other.dtype,
        set.arch, fmt::join(set.windows, ","), set.dtype));
  }
  remove_stale_temps(spec.out);
  const int64_t recovered = ingest_journals(fi, spec.out, set.set_id);
  if (recovered > 0) spdlog::info("recovered {} finished studies from the journal of an interrupted run", recovered);
  if (spec.force) throw_if_error(fi.DeleteShardsOfSet(set.set_id));

  auto previous = fi.GetSet(set.set_id);
  throw_if_error(previous.status());
  const bool moved = previous.value() && previous.value()->out_dir != set.out_dir;
  auto shards = fi.ShardsOfSet(set.set_id);
  throw_if_error(shards.status());
  std::vector<storage::FeatureShardRecord> records;
  for (auto& [study, r] : shards.value()) records.push_back(r);
  // A record counts only while its file is the one that was written.
  std::vector<std::string> problem(records.size());
  parallel_for(static_cast<int64_t>(records.size()), threads, [&](int64_t i) {
    const auto& r = records[i];
    const fs::path file = spec.out / r.file;
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) {
      problem[i] = "is missing";
    } else if (fs::file_size(file, ec) != r.file_size) {
      problem[i] = fmt::format("has {} bytes, {} were written", fs::file_size(file, ec), r.file_size);
    } else if (sha256_file(file) != r.file_sha256) {
      problem[i] = "has changed since it was written (SHA-256 differs)";
    }
  });
  std::set<std::string> wanted;
  for (const auto& s : studies_of(*index, spec.splits)) wanted.insert(s.study_id);
  int64_t redo = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    if (!problem[i].empty()) {
      // The first few by name; a moved or emptied directory is one line, not thousands.
      if (++redo <= 3 && !moved) {
        spdlog::warn("{} {}: study {} will be extracted again", (spec.out / records[i].file).string(), problem[i],
                     records[i].study_id);
      }
      throw_if_error(fi.DeleteShard(set.set_id, records[i].study_id));
    }
  }
  if (moved) {
    spdlog::info("feature set {} was extracted into {}; it now goes to {}: {} of {} recorded studies are there, "
                 "the rest are extracted again",
                 set.set_id, previous.value()->out_dir, set.out_dir, records.size() - redo, records.size());
  } else if (redo > 3) {
    spdlog::warn("... and {} more recorded studies of set {} will be extracted again", redo - 3, set.set_id);
  }
  set.studies_total = static_cast<int64_t>(wanted.size());
  set.updated_utc = utc_now();
  throw_if_error(fi.PutSet(set));
  throw_if_error(index->Flush());
}

}  // namespace

ExtractResult run_extract(const ExtractSpec& given, Communicator& comm, const ExtractOptions& options) {
  given.validate();
  const int rank = comm.rank();
  const int world = comm.world();
  // Inference GEMMs are called outside OpenMP regions: OpenBLAS may use the
  // rank's cores itself (with 1 thread a ViT forward ran at 0.75x Python's).
  set_openblas_threads(std::max(1, options.threads_per_rank));

  // The device first: a GPU that is not there fails before any work.
  const torch::Device device = resolve_device(given.device, options.local_rank, "extract");
  check_precision(device, given.precision, "extract", rank == 0);
  LoadedEncoder enc = load_encoder(given.checkpoint, given.arch, given.image_size);
  enc.model->to(device);
  // No --windows: the windows the encoder was pretrained in, else the reference's two.
  ExtractSpec spec = given;
  if (spec.windows.empty()) spec.windows = enc.windows.empty() ? kDefaultExtractWindows : enc.windows;
  ExtractResult result;
  result.arch = enc.arch;
  result.feature_dim = enc.feature_dim;
  result.image_size = enc.image_size;
  result.set_id = storage::feature_set_id(enc.checkpoint_sha256, enc.arch, spec.windows,
                                         stages::enum_name(spec.dtype), enc.image_size, precision_name(spec.precision));

  storage::FeatureSetRecord set;
  set.set_id = result.set_id;
  set.arch = enc.arch;
  set.checkpoint_path = fs::absolute(spec.checkpoint).lexically_normal().string();
  set.checkpoint_sha256 = enc.checkpoint_sha256;
  set.windows = spec.windows;
  set.dtype = stages::enum_name(spec.dtype);
  set.image_size = enc.image_size;
  set.dim = enc.feature_dim;
  set.out_dir = fs::absolute(spec.out).lexically_normal().string();
  set.splits = {"all"};
  if (!spec.splits.empty()) {
    set.splits.clear();
    for (const auto sp : spec.splits) set.splits.emplace_back(stages::enum_name(sp));
  }

  if (rank == 0) {
    std::error_code ec;
    fs::create_directories(spec.out, ec);
    if (ec) throw IoError(fmt::format("cannot create {}: {}", spec.out.string(), ec.message()));
    prepare_set(spec, set, options.threads_per_rank);
    spdlog::info("extract {} ({}, {} px, dim {}, windows {}{}, {} on {}) from {} -> feature set {} in {}", enc.arch,
                 enc.kind, enc.image_size, enc.feature_dim, fmt::join(spec.windows, ","),
                 given.windows.empty() ? (enc.windows.empty() ? ": the default" : ": the checkpoint's") : "",
                 precision_name(spec.precision), device.str(), spec.checkpoint.string(), result.set_id,
                 spec.out.string());
  }
  comm.barrier();  // every rank now sees the same finished set

  // Every rank computes the same to-do list and the same deal.
  std::vector<ExtractStudy> mine;
  int64_t my_slices = 0;
  int64_t set_studies_total = 0;  // the whole set's (a --studies run does a part of it)
  {
    auto index = open_index(spec.db, /*read_only=*/true);
    storage::FeatureIndex fi(*index);
    auto shards = fi.ShardsOfSet(result.set_id);
    throw_if_error(shards.status());
    const auto all_studies = studies_of(*index, spec.splits);
    set_studies_total = static_cast<int64_t>(all_studies.size());
    const auto studies = only_studies(all_studies, spec.studies);
    result.studies_total = static_cast<int64_t>(studies.size());
    std::vector<StudyLoad> todo;
    for (const auto& s : studies) {
      if (shards.value().count(s.study_id)) continue;
      if (s.slice_count == 0) {
        if (rank == 0) spdlog::warn("study {} has no slices in the index; skipped", s.study_id);
        continue;
      }
      todo.push_back({s.study_id, s.slice_count});
    }
    result.studies_skipped = result.studies_total - static_cast<int64_t>(todo.size());
    const auto deal = shard_studies(std::move(todo), world);
    for (const auto& load : deal[rank]) {
      auto slices = index->SlicesOfStudy(load.study);
      throw_if_error(slices.status());
      ExtractStudy study{load.study, {}};
      for (const auto& r : slices.value()) {
        study.slices.push_back({r.rel_path, r.id.name, static_cast<int32_t>(r.id.slice_number), r.source,
                                static_cast<int32_t>(r.frame)});
      }
      my_slices += static_cast<int64_t>(study.slices.size());
      mine.push_back(std::move(study));
    }
    if (rank == 0 && result.studies_skipped > 0) {
      spdlog::info("{} of {} studies are already extracted (--force redoes them)", result.studies_skipped,
                   result.studies_total);
    }
  }

  StudyReaderSpec rspec;
  rspec.data_root = spec.data.string();
  rspec.windows = spec.windows;
  rspec.image_size = enc.image_size;
  rspec.slices_per_chunk = std::max<int64_t>(1, spec.batch_size / static_cast<int64_t>(spec.windows.size()));
  rspec.threads = spec.workers > 0 ? spec.workers : std::max(1, options.threads_per_rank);
  rspec.prefetch_chunks = 2 * rspec.threads + 2;

  std::optional<ShardJournal> journal;
  journal.emplace(journal_path(spec.out, result.set_id, rank));
  const storage::FeatureDtype dtype = storage::parse_feature_dtype(stages::enum_name(spec.dtype));
  ProgressOptions popts;
  popts.label = "extract";
  popts.unit = "slices";
  popts.enabled = options.show_progress && rank == 0;
  ProgressBar bar(my_slices, popts);

  comm.barrier();
  const auto t0 = std::chrono::steady_clock::now();
  int64_t done = 0, failed = 0, slices = 0, rows = 0;
  {
    StudyChunkReader reader(std::move(mine), rspec);
    storage::StudyFeatures cur;
    bool cur_windowed = false;
    c10::InferenceMode inference;
    // bf16/fp16: the encoder's matmuls and convolutions under autocast; the
    // features come back as float32 on the CPU either way.
    models::AutocastScope autocast(device.type(), spec.precision);
    while (auto chunk = reader.next()) {
      const ExtractStudy& study = reader.studies()[chunk->study];
      if (!chunk->error.empty()) {
        if (spec.strict) {
          throw CorruptData(fmt::format("{} (study {}; rerun with --no-strict to skip unreadable studies)",
                                        chunk->error, study.study_id));
        }
        spdlog::error("{}: study {} skipped", chunk->error, study.study_id);
        reader.skip_study(chunk->study);
        result.failed_studies.push_back(study.study_id);
        ++failed;
        continue;
      }
      const int per_slice = chunk->rows_per_slice;
      if (chunk->first_slice == 0) {
        cur = storage::StudyFeatures();
        cur.attrs.study_id = study.study_id;
        cur.attrs.extractor_arch = enc.arch;
        cur.attrs.checkpoint_path = set.checkpoint_path;
        cur.attrs.checkpoint_sha256 = enc.checkpoint_sha256;
        // 8-bit slices are already windowed: one row each, window "identity".
        cur.attrs.windows = chunk->windowed ? spec.windows : std::vector<std::string>{"identity"};
        cur_windowed = chunk->windowed;
        cur.attrs.dtype = dtype;
        cur.dim = enc.feature_dim;
        cur.feats.reserve(static_cast<size_t>(study.slices.size() * per_slice * enc.feature_dim));
      } else if (cur_windowed != chunk->windowed) {
        throw CorruptData(fmt::format("study {} mixes 16-bit CT and 8-bit slices (at slice {})", study.study_id,
                                      study.slices[chunk->first_slice].name));
      }
      const int64_t n = chunk->images.size(0);
      for (int64_t r0 = 0; r0 < n; r0 += spec.batch_size) {
        const int64_t m = std::min<int64_t>(spec.batch_size, n - r0);
        torch::Tensor x = chunk->images.narrow(0, r0, m);
        if (!device.is_cpu()) x = x.pin_memory().to(device, /*non_blocking=*/true);
        const torch::Tensor f = enc.model->forward_features(x).to(torch::kCPU, torch::kFloat32).contiguous();
        const float* p = f.data_ptr<float>();
        cur.feats.insert(cur.feats.end(), p, p + m * enc.feature_dim);
      }
      for (int64_t k = 0; k < chunk->slices; ++k) {
        const ExtractSlice& s = study.slices[chunk->first_slice + k];
        for (int w = 0; w < per_slice; ++w) {
          cur.coords.push_back(s.number);
          cur.coords.push_back(w);
          cur.slice_names.push_back(fs::path(s.rel_path).filename().string());
        }
      }
      cur.rows += n;
      bar.advance(chunk->slices);
      if (!chunk->last) continue;

      const fs::path file = storage::feature_file_path(spec.out, study.study_id);
      storage::write_study_features(file, cur);
      storage::FeatureShardRecord rec;
      rec.set_id = result.set_id;
      rec.study_id = study.study_id;
      rec.file = file.filename().string();
      rec.rows = cur.rows;
      rec.dim = cur.dim;
      rec.slices = static_cast<int64_t>(study.slices.size());
      rec.file_size = fs::file_size(file);
      rec.file_sha256 = sha256_file(file);
      journal->append(rec);
      ++done;
      slices += rec.slices;
      rows += rec.rows;
      if (options.on_study) options.on_study(done, static_cast<int64_t>(reader.studies().size()));
      if (options.cancel.requested()) {
        result.cancelled = true;  // finished studies are journaled; a rerun skips them
        break;
      }
    }
  }
  bar.finish();
  journal.reset();  // closed (unlocked) before rank 0 ingests it
  comm.barrier();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  int64_t counts[5] = {done, failed, slices, rows, result.cancelled ? 1 : 0};
  comm.allreduce(counts, 5, DType::kInt64, ReduceOp::kSum);
  result.cancelled = counts[4] > 0;
  result.studies_done = counts[0];
  result.studies_failed = counts[1];
  result.slices = counts[2];
  result.rows = counts[3];
  result.slices_per_second = result.seconds > 0 ? static_cast<double>(result.slices) / result.seconds : 0;

  if (rank == 0) {
    auto index = open_index(spec.db, /*read_only=*/false);
    storage::FeatureIndex fi(*index);
    ingest_journals(fi, spec.out, result.set_id);
    std::error_code ec;
    fs::remove(spec.out / ".journal", ec);  // only when empty (other sets may be running)
    set.studies_total = set_studies_total;
    set.updated_utc = utc_now();
    throw_if_error(fi.PutSet(set));
    YAML::Node resolved = stages::to_yaml(spec);
    resolved["arch"] = enc.arch;
    resolved["image_size"] = enc.image_size;
    resolved["feature_set"] = result.set_id;
    resolved["checkpoint_sha256"] = enc.checkpoint_sha256;
    resolved["radclear_version"] = version_string();
    // The set's settings: every shard of a set (--studies) writes the same file.
    resolved.remove("studies");
    // extract.yaml marks a finished run; a cancelled one is resumed by a rerun.
    if (!result.cancelled) write_file_atomic(spec.out / "extract.yaml", YAML::Dump(resolved) + "\n");
  }
  comm.barrier();
  return result;
}

}  // namespace radclear::worker
