// `radclear bench <what>`: throughput measurements on real data.
//   bench loader   raw decode rate of the indexed slices (16-bit PNG, DICOM
//                  frames or NIfTI planes) vs the full LeCL two-view
//                  loader on the same slices, both with N threads; for a
//                  DICOM/NIfTI index also the same slices as 16-bit PNGs
//                  (the DeepLesion path) decoded the same way; with
//                  --torchvision SCRIPT also the torchvision/PIL DataLoader
//                  (scripts/bench/torchvision_pipeline.py) on those files.
// More benchmarks are further rows of kBenchmarks.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "worker/slice_samples.h"
#include "common/check.h"
#include "common/logging.h"
#include "common/parallel.h"
#include "data/decode.h"
#include "data/loader.h"
#include "data/scanner_decode.h"
#include <opencv2/imgcodecs.hpp>
#include "storage/index.h"

namespace radclear::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct LoaderBenchFlags {
  std::string data, db;
  int threads = 0;
  int batch = 32;
  int batches = 20;
  int size = 224;
  int repeat = 2;
  std::string window = "abdomen";
  uint64_t seed = 0;
  std::string torchvision;  // comparison script; empty: skip
  std::string python = "/usr/bin/python3";
  bool strict = false;
  bool json = false;
};

// Runs the torchvision/PIL comparison on the same files; returns its JSON.
nlohmann::json run_torchvision(const LoaderBenchFlags& f, int threads, const std::vector<data::SliceSample>& chosen,
                               const data::SlicePipeline& pipe) {
  const fs::path list = fs::temp_directory_path() / fmt::format("radclear_bench_list_{}.csv", ::getpid());
  {
    std::ofstream out(list);
    out << "path,lesion,x1,y1,x2,y2\n";
    for (const auto& s : chosen) {
      out << pipe.resolve(s.path) << ',' << (s.lesion ? 1 : 0);
      if (s.boxes.empty()) {
        out << ",,,,\n";
      } else {
        const auto& b = s.boxes.front();
        out << fmt::format(",{},{},{},{}\n", b.x1, b.y1, b.x2, b.y2);
      }
    }
    if (!out) throw IoError(fmt::format("{}: cannot write the sample list", list.string()));
  }
  const std::string cmd = fmt::format("'{}' '{}' --list '{}' --workers {} --batch-size {} --batches {} --size {} "
                                      "--window {} --json",
                                      f.python, f.torchvision, list.string(), threads, f.batch, f.batches, f.size,
                                      f.window);
  spdlog::info("running the torchvision comparison: {}", cmd);
  std::unique_ptr<FILE, int (*)(FILE*)> pipe_out(::popen(cmd.c_str(), "r"), &::pclose);
  if (!pipe_out) throw IoError(fmt::format("cannot run {}", cmd));
  std::string text;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof(buf), pipe_out.get())) text.append(buf, n);
  const int rc = ::pclose(pipe_out.release());
  fs::remove(list);
  if (rc != 0) throw Error(StatusCode::kInternal, fmt::format("torchvision comparison failed (status {}): {}", rc, cmd));
  // The script prints one JSON object on its last line.
  const auto end = text.find_last_not_of("\n ");
  if (end == std::string::npos) throw Error(StatusCode::kInternal, "torchvision comparison printed nothing");
  const auto nl = text.rfind('\n', end);
  const std::string line = text.substr(nl == std::string::npos ? 0 : nl + 1, end + 1 - (nl == std::string::npos ? 0 : nl + 1));
  auto parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) throw Error(StatusCode::kInternal, fmt::format("torchvision comparison: not JSON: {}", line));
  return parsed;
}

int run_bench_loader(const LoaderBenchFlags& f) {
  const int threads = f.threads > 0 ? f.threads : hardware_threads();
  storage::IndexOptions opts;
  opts.read_only = true;
  auto index = storage::SliceIndex::Open(f.db, opts);
  if (!index.ok()) {
    spdlog::error("{}", index.status().to_string());
    return 2;
  }
  auto listed = worker::slice_samples_from_index(*index.value());
  if (!listed.ok()) {
    spdlog::error("{}", listed.status().to_string());
    return 2;
  }
  std::vector<data::SliceSample> samples = std::move(listed.value());
  const int64_t need = static_cast<int64_t>(f.batch) * (f.batches + 1);  // +1 warm-up batch
  if (static_cast<int64_t>(samples.size()) < need) {
    spdlog::error("{}: {} slices indexed, the benchmark needs {} (--batch {} x (--batches {} + 1))", f.db,
                  samples.size(), need, f.batch, f.batches);
    return 2;
  }

  data::LoaderSpec spec;
  spec.data_root = f.data;
  spec.threads = threads;
  spec.prefetch_batches = std::max(4, 2 * threads);
  spec.seed = f.seed;
  spec.windows = {f.window};
  spec.views = data::lecl_view_spec(f.size);  // as the trainer makes them
  spec.strict = f.strict;
  data::ShardSpec shard;
  shard.global_batch = f.batch;
  shard.seed = f.seed;
  data::SliceLoader loader(samples, spec, shard);

  // The files the loader will read in the measured steps.
  const auto perm = loader.sampler().permutation(0);
  std::vector<data::SliceSample> chosen;
  for (int64_t i = f.batch; i < need; ++i) chosen.push_back(samples[perm[i]]);
  const data::SlicePipeline pipe(f.data, {f.window}, spec.views);
  int64_t lesion_slices = 0, bytes = 0;
  // Warm the page cache so both measurements read from memory.
  for (const auto& s : chosen) {
    bytes += static_cast<int64_t>(data::read_file_bytes(pipe.resolve(s.path)).size());
    lesion_slices += s.boxes.empty() ? 0 : 1;
  }
  const SliceSource source = chosen.front().source;
  for (const auto& s : chosen) {
    if (s.source != source) throw InvalidArgument("bench loader: the index mixes slice sources; bench one kind at a time");
  }
  if (source != SliceSource::kImageFile && !f.torchvision.empty()) {
    throw InvalidArgument("bench loader: --torchvision reads PNG files; it does not apply to a DICOM/NIfTI index");
  }
  // A DICOM/NIfTI index: the same slices as DeepLesion PNGs, decoded the
  // same way, are the PNG path beside it.
  const fs::path png_dir = fs::temp_directory_path() / fmt::format("radclear_bench_png_{}", ::getpid());
  std::vector<std::string> pngs;
  int64_t png_bytes = 0;
  if (source != SliceSource::kImageFile) {
    fs::create_directories(png_dir);
    for (size_t i = 0; i < chosen.size(); ++i) {
      pngs.push_back((png_dir / fmt::format("{}.png", i)).string());
      const data::DecodedImage img = data::decode_slice_source(pipe.resolve(chosen[i].path), source, chosen[i].frame);
      RADCLEAR_CHECK(cv::imwrite(pngs.back(), data::hounsfield_to_png16(img.pixels)), "cannot write {}", pngs.back());
      png_bytes += static_cast<int64_t>(fs::file_size(pngs.back()));
    }
  }

  // Both measurements run `repeat` times, alternating, and the best of each
  // counts: on a shared machine that is the least disturbed run.
  double decode_s = 1e300, loader_s = 1e300, png_s = 1e300;
  int64_t loaded = 0;
  for (int rep = 0; rep < f.repeat; ++rep) {
    // 1. Raw decode (read + decode to HU), the floor.
    auto t0 = Clock::now();
    parallel_for(static_cast<int64_t>(chosen.size()), threads, [&](int64_t i) {
      data::decode_slice_source(pipe.resolve(chosen[i].path), chosen[i].source, chosen[i].frame);
    });
    decode_s = std::min(decode_s, seconds_since(t0));
    if (!pngs.empty()) {
      t0 = Clock::now();
      parallel_for(static_cast<int64_t>(pngs.size()), threads, [&](int64_t i) { data::decode_file(pngs[i]); });
      png_s = std::min(png_s, seconds_since(t0));
    }

    // 2. The loader: one warm-up batch (threads start, first prefetch),
    // then the measured ones.
    loader.start_epoch(0);
    if (!loader.next()) throw Error(StatusCode::kInternal, "loader produced no batch");
    t0 = Clock::now();
    loaded = 0;
    for (int b = 0; b < f.batches; ++b) {
      auto batch = loader.next();
      RADCLEAR_CHECK(batch.has_value(), "loader ended after {} batches", b);
      loaded += batch->view1.size(0);
    }
    loader_s = std::min(loader_s, seconds_since(t0));
  }

  std::error_code rm_ec;
  fs::remove_all(png_dir, rm_ec);
  const double n = static_cast<double>(chosen.size());
  const char* decode_label = source == SliceSource::kDicomFrame   ? "read + DICOM decode"
                             : source == SliceSource::kNiftiPlane ? "read + NIfTI plane"
                                                                  : "read + 16-bit PNG";
  nlohmann::json out;
  out["source"] = slice_source_name(source);
  out["threads"] = threads;
  out["samples"] = chosen.size();
  out["lesion_slices"] = lesion_slices;
  out["mean_file_bytes"] = bytes / n;
  out["batch"] = f.batch;
  out["repeat"] = f.repeat;
  out["view_size"] = f.size;
  out["decode"] = {{"seconds", decode_s}, {"images_per_s", n / decode_s}, {"per_core", n / decode_s / threads}};
  out["loader"] = {{"seconds", loader_s},
                   {"samples_per_s", loaded / loader_s},
                   {"per_core", loaded / loader_s / threads},
                   {"replaced", loader.replaced_count()}};
  out["loader_vs_decode"] = (loaded / loader_s) / (n / decode_s);
  if (!pngs.empty()) {
    out["png_same_slices"] = {{"seconds", png_s},
                              {"images_per_s", n / png_s},
                              {"per_core", n / png_s / threads},
                              {"mean_file_bytes", png_bytes / n}};
    out["decode_vs_png"] = png_s / decode_s;
  }
  if (!f.torchvision.empty()) {
    nlohmann::json tv = run_torchvision(f, threads, chosen, pipe);
    out["torchvision"] = tv;
    out["loader_vs_torchvision"] = (loaded / loader_s) / tv["samples_per_s"].get<double>();
  }
  if (f.json) {
    std::cout << out.dump(1) << "\n";
  } else {
    std::cout << fmt::format(
        "{} slices ({} with a lesion box), {:.0f} KB each, {} thread(s), batch {}, views {}x{}\n"
        "  raw decode ({:<19}): {:8.1f} images/s  ({:.1f} per core)\n"
        "  LeCL loader (two views)         : {:8.1f} samples/s ({:.1f} per core) = {:.0f}% of raw decode\n",
        chosen.size(), lesion_slices, bytes / n / 1024, threads, f.batch, f.size, f.size, decode_label, n / decode_s,
        n / decode_s / threads, loaded / loader_s, loaded / loader_s / threads,
        100 * out["loader_vs_decode"].get<double>());
    if (!pngs.empty()) {
      std::cout << fmt::format("  same slices as 16-bit PNG       : {:8.1f} images/s  ({:.1f} per core, {:.0f} KB each); "
                               "{} decode is {:.2f}x the PNG path\n",
                               n / png_s, n / png_s / threads, png_bytes / n / 1024, slice_source_name(source),
                               out["decode_vs_png"].get<double>());
    }
    if (out.contains("torchvision")) {
      std::cout << fmt::format("  torchvision/PIL DataLoader    : {:8.1f} samples/s ({:.1f} per core); loader is {:.1f}x\n",
                               out["torchvision"]["samples_per_s"].get<double>(),
                               out["torchvision"]["samples_per_s"].get<double>() / threads,
                               out["loader_vs_torchvision"].get<double>());
    }
  }
  return 0;
}

Runner setup_bench_loader(CLI::App& app) {
  auto f = std::make_shared<LoaderBenchFlags>();
  app.add_option("--data", f->data, "Data root the index's paths are relative to")->required();
  app.add_option("--db", f->db, "Slice index (radclear index)")->required();
  app.add_option("--threads", f->threads, "Decode/augment threads (0 = all cores)")->capture_default_str();
  app.add_option("--batch", f->batch, "Samples per batch")->capture_default_str()->check(CLI::Range(1, 1 << 16));
  app.add_option("--batches", f->batches, "Measured batches (after one warm-up batch)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--repeat", f->repeat, "Alternate the decode and loader runs this often; report the best")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  app.add_option("--size", f->size, "View side in pixels")->capture_default_str()->check(CLI::Range(8, 4096));
  app.add_option("--window", f->window, "CT window: abdomen, lung, bone, mediastinum or W/L")->capture_default_str();
  app.add_option("--seed", f->seed, "Sampler and augmentation seed")->capture_default_str();
  app.add_option("--torchvision", f->torchvision,
                 "Also run this torchvision comparison script (scripts/bench/torchvision_pipeline.py) on the same files");
  app.add_option("--python", f->python, "Python with torch and torchvision for --torchvision")->capture_default_str();
  app.add_flag("--strict", f->strict, "An unreadable image is fatal (default: replace it, count it, log it once)");
  app.add_flag("--json", f->json, "Print the figures as JSON");
  app.footer(
      "Example:\n"
      "  radclear bench loader --data data/synth --db data/synth.index --threads 2 \\\n"
      "      --torchvision scripts/bench/torchvision_pipeline.py");
  return [f] { return run_bench_loader(*f); };
}

struct Benchmark {
  const char* name;
  const char* summary;
  Runner (*setup)(CLI::App& app);
};

const std::vector<Benchmark> kBenchmarks = {
    {"loader", "Raw PNG decode vs the LeCL two-view loader (and torchvision) on indexed slices", &setup_bench_loader},
    {"step", "One MoCo/LeCL training step on random tensors: images/s, FLOPs/image, fraction of SGEMM",
     &setup_bench_step},
    {"extract", "Feature extraction end to end vs the encoder alone (and the Python reference loop)",
     &setup_bench_extract},
    {"pretrain", "Pretraining step model-only vs end to end with the loader (and the Python reference recipe)",
     &setup_bench_pretrain},
    {"coordinator", "Coordinator: durable job transitions/s, status latency with 100k jobs, heartbeat CPU",
     &setup_bench_coordinator},
};

}  // namespace

Runner setup_bench(CLI::App& app) {
  app.require_subcommand(1);
  auto runners = std::make_shared<std::vector<std::pair<CLI::App*, Runner>>>();
  for (const Benchmark& b : kBenchmarks) {
    CLI::App* sub = app.add_subcommand(b.name, b.summary);
    runners->emplace_back(sub, b.setup(*sub));
  }
  return [runners]() -> int {
    for (auto& [sub, run] : *runners) {
      if (sub->parsed()) return run();  // main() maps exceptions to exit codes
    }
    return 2;
  };
}

}  // namespace radclear::cli
