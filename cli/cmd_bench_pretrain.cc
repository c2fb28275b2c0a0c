// `radclear bench pretrain`: the pretraining step as `radclear pretrain` runs
// it (same trainer, arch, batch, optimizer, threads), timed on indexed
// slices: model-only (every step re-trains on the first batch, so the loader
// idles; timed before and after the end-to-end run, averaged) and end to end
// (the real loader, as in training). Optionally the
// Python reference recipe (scripts/bench/pretrain_ref.py: MoCo v3 + LeCL
// loss + torchvision DataLoader) on the same slices, threads and batch.
// Checkpoints and metrics go to a scratch directory that is removed.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "common/check.h"
#include "common/parallel.h"
#include "data/sample.h"
#include "storage/index.h"
#include "worker/comm/communicator.h"
#include "worker/device.h"
#include "worker/pretrain/trainer.h"
#include "worker/runner/process.h"
#include "worker/slice_samples.h"

namespace radclear::cli {

namespace fs = std::filesystem;

namespace {

// Mean and median of the timed steps (after `warmup`).
struct StepTimes {
  double mean = 0;
  double median = 0;
  double data_wait_mean = 0;
};

StepTimes timed(const worker::PretrainResult& r, int warmup) {
  std::vector<double> t(r.step_seconds.begin() + warmup, r.step_seconds.end());
  std::vector<double> w(r.data_wait_seconds.begin() + warmup, r.data_wait_seconds.end());
  RADCLEAR_CHECK(!t.empty(), "bench pretrain: no timed steps");
  StepTimes s;
  s.mean = std::accumulate(t.begin(), t.end(), 0.0) / static_cast<double>(t.size());
  s.data_wait_mean = std::accumulate(w.begin(), w.end(), 0.0) / static_cast<double>(w.size());
  std::sort(t.begin(), t.end());
  s.median = t[t.size() / 2];
  return s;
}

// The samples as path,lesion,x1,y1,x2,y2 (scripts/bench/torchvision_pipeline.py's list format).
void write_sample_list(const fs::path& list, const fs::path& data_root, const std::vector<data::SliceSample>& samples,
                       bool lesion_views) {
  std::ofstream out(list);
  out << "path,lesion,x1,y1,x2,y2\n";
  for (const auto& s : samples) {
    const fs::path p = fs::path(s.path).is_absolute() ? fs::path(s.path) : data_root / s.path;
    if (!lesion_views || s.boxes.empty()) {
      out << p.string() << ",0,,,,\n";
    } else {
      const auto& b = s.boxes.front();
      out << fmt::format("{},1,{},{},{},{}\n", p.string(), b.x1, b.y1, b.x2, b.y2);
    }
  }
  if (!out) throw IoError(fmt::format("{}: cannot write the sample list", list.string()));
}

nlohmann::json run_json_command(const std::string& cmd) {
  spdlog::info("running {}", cmd);
  std::string text;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) throw IoError(fmt::format("cannot run {}", cmd));
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) text.append(buf, n);
  if (const int rc = ::pclose(p); rc != 0) {
    throw Error(StatusCode::kInternal, fmt::format("`{}` failed (status {}):\n{}", cmd, rc, text));
  }
  const size_t end = text.find_last_not_of("\n ");
  const size_t start = end == std::string::npos ? 0 : text.rfind('\n', end);
  const std::string line = end == std::string::npos ? "" : text.substr(start == std::string::npos ? 0 : start + 1);
  auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw Error(StatusCode::kInternal, fmt::format("`{}`: last line is not JSON: {}", cmd, line));
  return j;
}

}  // namespace

Runner setup_bench_pretrain(CLI::App& app) {
  struct Flags {
    worker::PretrainSpec spec;
    std::string sampling = "Lesion", optimizer = "adamw", precision = "fp32", device = "auto";
    std::string window = "abdomen";  // one window, as the Python reference loads slices
    int steps = 6;
    int warmup = 2;
    int threads = 0;
    std::string python;
    std::string script = "scripts/bench/pretrain_ref.py";
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  auto& s = f->spec;
  s.batch_size = 32;
  app.add_option("--db", s.db, "Slice index (read only)")->required();
  app.add_option("--data", s.data, "Data root")->required();
  app.add_option("--arch", s.arch, "Backbone")->capture_default_str();
  app.add_option("--image-size", s.image_size, "Input size")->capture_default_str();
  app.add_option("--batch-size", s.batch_size, "Batch per step")->capture_default_str();
  app.add_option("--moco-dim", s.moco_dim, "Projector/predictor output width")->capture_default_str();
  app.add_option("--moco-mlp-dim", s.moco_mlp_dim, "Hidden width of the MLP heads")->capture_default_str();
  app.add_option("--sampling", f->sampling, "Lesion or None")->capture_default_str();
  app.add_option("--optimizer", f->optimizer, "adamw or lars")->capture_default_str();
  app.add_option("--window", f->window, "CT window")->capture_default_str();
  app.add_option("--precision", f->precision,
                 "fp32, bf16, or fp16 (CUDA) as radclear pretrain (the Python reference runs fp32 on the CPU)")
      ->capture_default_str();
  app.add_option("--device", f->device,
                 "auto, cpu, cuda or cuda:N (as radclear pretrain; the Python reference stays on the CPU)")
      ->capture_default_str();
  app.add_option("--steps", f->steps, "Timed steps per measurement")->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("--warmup", f->warmup, "Untimed steps first")->capture_default_str()->check(CLI::Range(0, 1000));
  app.add_option("--threads", f->threads, "Cores to use (torch threads; 0 = all)")->capture_default_str();
  app.add_option("--workers", s.workers, "Loader threads (0 = --threads), also the Python DataLoader's workers")
      ->capture_default_str();
  app.add_option("--python", f->python, "Also time scripts/bench/pretrain_ref.py with this interpreter");
  app.add_option("--python-script", f->script, "The Python reference (run from the repository root)")
      ->capture_default_str();
  app.add_flag("--json", f->json, "Print the figures as JSON");
  app.footer(
      "Example:\n"
      "  radclear bench pretrain --db synth.index --data synth --arch vit_tiny --batch-size 32 --threads 2 \\\n"
      "      --python /usr/bin/python3");
  return [f] {
    worker::PretrainSpec spec = f->spec;
    spec.sampling = stages::parse_enum<stages::Sampling>(f->sampling);
    spec.windows = {f->window};
    spec.optimizer = stages::parse_enum<stages::OptimizerKind>(f->optimizer);
    spec.precision = stages::parse_enum<stages::Precision>(f->precision);
    spec.device = stages::DeviceChoice::parse(f->device);
    spec.resume = "none";
    spec.print_freq = 1;
    std::random_device rd;
    const fs::path scratch = fs::temp_directory_path() / fmt::format("radclear_bench_pretrain_{}", rd());
    struct Cleanup {
      fs::path p;
      ~Cleanup() {
        std::error_code ec;
        fs::remove_all(p, ec);
      }
    } cleanup{scratch};
    spec.out = scratch / "run";
    spec.validate();
    // A GPU that is not there, or fp16 on the CPU, fails before any work.
    const torch::Device device = worker::resolve_device(spec.device, 0, "bench pretrain");
    worker::check_precision(device, spec.precision, "bench pretrain", true);
    stages::RankContext ctx;
    ctx.threads = f->threads > 0 ? f->threads : hardware_threads();
    runner::set_process_threads(ctx.threads);
    const auto plan = worker::resolve_pretrain(spec, ctx);

    storage::IndexOptions opts;
    opts.read_only = true;
    auto index = storage::SliceIndex::Open(spec.db, opts);
    throw_if_error(index.status());
    auto listed = worker::slice_samples_from_index(*index.value());
    throw_if_error(listed.status());
    const std::vector<data::SliceSample> samples = std::move(listed.value());
    const int64_t total = f->warmup + f->steps;
    const int64_t per_epoch = static_cast<int64_t>(samples.size()) / spec.batch_size;
    if (total > per_epoch) {
      throw InvalidArgument(fmt::format(
          "bench pretrain: {} warm-up + timed steps need {} slices at batch {}, the index has {}; index more "
          "slices (radclear synth --patients ...) or lower --steps / --batch-size, so no epoch ends (and no "
          "checkpoint is written) inside the measurement",
          total, total * spec.batch_size, spec.batch_size, samples.size()));
    }

    auto comm = worker::make_local_communicator();
    worker::PretrainOptions options;
    options.show_progress = false;
    options.max_steps = total;
    auto measure = [&](bool model_only) {
      options.repeat_first_batch = model_only;
      fs::remove_all(spec.out);
      spdlog::info("bench pretrain: {} steps {}", total, model_only ? "model-only (first batch repeated)" : "end to end");
      return timed(worker::run_pretrain(plan, samples, *comm, options), f->warmup);
    };
    // Model-only is timed before and after the end-to-end run and averaged:
    // the second of two identical runs was up to 10% faster (caches, clocks),
    // which alone would read as a negative data overhead.
    const StepTimes before = measure(true);
    const StepTimes e2e = measure(false);
    const StepTimes after = measure(true);
    StepTimes model;
    model.mean = (before.mean + after.mean) / 2;
    model.median = (before.median + after.median) / 2;

    const double b = static_cast<double>(spec.batch_size);
    nlohmann::json out = {{"arch", spec.arch},
                          {"image_size", spec.image_size},
                          {"batch_size", spec.batch_size},
                          {"optimizer", stages::enum_name(spec.optimizer)},
                          {"sampling", stages::enum_name(spec.sampling)},
                          {"device", device.str()},
                          {"precision", stages::enum_name(spec.precision)},
                          {"threads", plan.threads_per_rank},
                          {"loader_threads", plan.loader_threads},
                          {"warmup", f->warmup},
                          {"steps", f->steps},
                          {"model_only_s_per_step", model.mean},
                          {"model_only_median_s", model.median},
                          {"end_to_end_s_per_step", e2e.mean},
                          {"end_to_end_median_s", e2e.median},
                          {"end_to_end_data_wait_s", e2e.data_wait_mean},
                          {"model_only_images_per_s", b / model.mean},
                          {"end_to_end_images_per_s", b / e2e.mean},
                          {"data_overhead", 1.0 - model.mean / e2e.mean}};
    if (!f->python.empty()) {
      if (!fs::is_regular_file(f->script)) {
        throw NotFound(fmt::format("{} not found: run from the repository root or pass --python-script", f->script));
      }
      const fs::path list = scratch / "samples.csv";
      write_sample_list(list, spec.data, samples, spec.sampling == worker::Sampling::kLesion);
      const auto py = run_json_command(fmt::format(
          "'{}' '{}' --list '{}' --arch {} --image-size {} --batch-size {} --moco-dim {} --moco-mlp-dim {} "
          "--window {} --steps {} --warmup {} --threads {} --workers {} --json",
          f->python, f->script, list.string(), spec.arch, spec.image_size, spec.batch_size, spec.moco_dim,
          spec.moco_mlp_dim, f->window, f->steps, f->warmup, plan.threads_per_rank, plan.loader_threads));
      out["python"] = py;
      out["speedup_vs_python"] = (b / e2e.mean) / py.at("images_per_s").get<double>();
    }
    if (f->json) {
      std::cout << out.dump(1) << "\n";
      return 0;
    }
    std::cout << fmt::format(
        "LeCL pretraining step: {} at {}px, batch {}, {}, {} on {}, {} thread(s) + {} loader thread(s), "
        "{} timed steps\n"
        "  model-only : {:.3f} s/step (median {:.3f}) = {:.2f} images/s\n"
        "  end to end : {:.3f} s/step (median {:.3f}) = {:.2f} images/s; waiting for batches {:.3f} s/step\n"
        "  data overhead: {:.1f}% of the end-to-end step\n",
        spec.arch, spec.image_size, spec.batch_size, stages::enum_name(spec.optimizer),
        stages::enum_name(spec.precision), device.str(), plan.threads_per_rank,
        plan.loader_threads, f->steps, model.mean, model.median, b / model.mean, e2e.mean, e2e.median, b / e2e.mean,
        e2e.data_wait_mean, 100.0 * out["data_overhead"].get<double>());
    if (out.contains("python")) {
      std::cout << fmt::format("  Python reference (torch {}, DataLoader {} workers): {:.3f} s/step = {:.2f} images/s; "
                               "radclear is {:.2f}x\n",
                               out["python"].value("torch", "?"), plan.loader_threads,
                               out["python"]["s_per_step"].get<double>(),
                               out["python"]["images_per_s"].get<double>(), out["speedup_vs_python"].get<double>());
    }
    return 0;
  };
}

}  // namespace radclear::cli
