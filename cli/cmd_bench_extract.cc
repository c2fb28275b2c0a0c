// `radclear bench extract`: feature extraction end to end (decode, windows,
// eval transform, forward, HDF5, records) against the encoder's forward
// alone on random tensors of the same shape, and optionally against the
// Python reference loop (scripts/bench/extract_ref.py) on the same data.
// With --precision bf16 the fp32 extraction runs too, on the same studies,
// and the two are compared row by row (cosine). Runs on a copy of the index
// in a scratch directory, so the user's index and feature sets are untouched.
#include <CLI/CLI.hpp>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "common/check.h"
#include "common/parallel.h"
#include "models/backbones/backbone.h"
#include "models/layers/autocast.h"
#include "worker/comm/communicator.h"
#include "worker/device.h"
#include "worker/extract/encoder.h"
#include "worker/extract/extractor.h"
#include "worker/extract/feature_agreement.h"

namespace radclear::cli {

namespace fs = std::filesystem;

namespace {

// Slices/s of forward_features alone: batches of `rows` random images on
// `device`, at least `seconds` after one warm-up batch (a GPU is synchronised
// before the clock is read: its kernels run asynchronously).
double model_only_slices_per_s(const worker::LoadedEncoder& enc, int64_t rows, int64_t windows, double seconds,
                               const torch::Device& device, Precision precision) {
  c10::InferenceMode guard;
  models::AutocastScope autocast(device.type(), precision);
  auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize(device.index());
  };
  enc.model->to(device);
  const torch::Tensor x = torch::randn({rows, 3, enc.image_size, enc.image_size}, torch::Device(device));
  enc.model->forward_features(x);
  sync();
  int64_t done = 0;
  const auto t0 = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    enc.model->forward_features(x);
    sync();
    done += rows;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return static_cast<double>(done) / static_cast<double>(windows) / elapsed;
}

std::string run_capture(const std::string& cmd) {
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    if (pclose(p) != 0) throw Error(StatusCode::kInternal, fmt::format("`{}` failed:\n{}", cmd, out));
  }
  return out;
}

}  // namespace

Runner setup_bench_extract(CLI::App& app) {
  struct Flags {
    worker::ExtractSpec spec;
    double seconds = 5;
    std::string python;
    std::string script = "scripts/bench/extract_ref.py";
    int64_t python_studies = 0;
    std::string precision = "fp32";
    std::string device = "auto";
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  auto& s = f->spec;
  s.out = "";
  app.add_option("--db", s.db, "Slice index (copied; the original is not written)")->required();
  app.add_option("--data", s.data, "Data root")->required();
  app.add_option("--checkpoint", s.checkpoint, "Weights (as radclear extract)")->required();
  app.add_option("--arch", s.arch, "Backbone (for a bare state dict)");
  app.add_option("--windows", s.windows, "CT windows (default: the checkpoint's, else abdomen,lung)")->delimiter(',');
  app.add_option("--batch-size", s.batch_size, "Rows per forward pass")->capture_default_str();
  app.add_option("--image-size", s.image_size, "Encoder input size (0: the checkpoint's)")->capture_default_str();
  app.add_option("--precision", f->precision,
                 "Encoder arithmetic: fp32, bf16 or fp16 (CUDA); not fp32: the fp32 run follows, for the speed-up and the row cosine")
      ->capture_default_str();
  app.add_option("--device", f->device, "auto, cpu, cuda or cuda:N (as radclear extract; the Python loop stays on the CPU)")
      ->capture_default_str();
  app.add_option("--seconds", f->seconds, "Minimum time of the model-only measurement")->capture_default_str();
  app.add_option("--python", f->python,
                 "Also time scripts/bench/extract_ref.py with this interpreter (e.g. /usr/bin/python3)");
  app.add_option("--python-script", f->script, "The Python loop (run from the repository root)")
      ->capture_default_str();
  app.add_option("--python-studies", f->python_studies, "Studies for the Python loop (0: all)")
      ->capture_default_str();
  app.add_flag("--json", f->json, "Print the figures as JSON");
  app.footer(
      "Example:\n"
      "  radclear bench extract --db demo.index --data demo --checkpoint run/ckpt.pth.tar --python /usr/bin/python3");
  return [f] {
    worker::ExtractSpec spec = f->spec;
    // The device first: a GPU that is not there fails before any work.
    spec.device = stages::DeviceChoice::parse(f->device);
    spec.precision = stages::parse_enum<Precision>(f->precision);
    const torch::Device device = worker::resolve_device(spec.device, 0, "bench extract");
    worker::check_precision(device, spec.precision, "bench extract", true);
    std::random_device rd;
    const fs::path scratch = fs::temp_directory_path() / fmt::format("radclear_bench_extract_{}", rd());
    fs::create_directories(scratch);
    struct Cleanup {
      fs::path p;
      ~Cleanup() {
        std::error_code ec;
        fs::remove_all(p, ec);
      }
    } cleanup{scratch};
    fs::copy(spec.db, scratch / "index", fs::copy_options::recursive);
    spec.db = scratch / "index";
    spec.out = scratch / "features";
    spec.force = true;

    const int threads = hardware_threads();
    at::set_num_threads(threads);
    set_openblas_threads(threads);  // as run_extract does
    const auto enc = worker::load_encoder(spec.checkpoint, spec.arch, spec.image_size);
    // No --windows: the checkpoint's, else the reference's two (as run_extract
    // chooses), so the Python loop and the rows per slice match.
    if (spec.windows.empty()) spec.windows = enc.windows.empty() ? stages::kDefaultExtractWindows : enc.windows;
    const auto windows = static_cast<int64_t>(spec.windows.size());
    const double model_only = model_only_slices_per_s(enc, spec.batch_size, windows, f->seconds, device, spec.precision);

    auto comm = worker::make_local_communicator();
    worker::ExtractOptions options;
    options.show_progress = false;
    options.threads_per_rank = threads;
    const auto r = worker::run_extract(spec, *comm, options);
    // The fp32 run of the same studies, for the speed-up and the agreement.
    std::optional<worker::ExtractResult> fp32;
    std::optional<worker::FeatureAgreement> agreement;
    if (spec.precision != Precision::kFloat32) {
      worker::ExtractSpec ref = spec;
      ref.precision = Precision::kFloat32;
      ref.out = scratch / "features-fp32";
      fp32 = worker::run_extract(ref, *comm, options);
      agreement = worker::compare_feature_dirs(spec.out, ref.out);
    }

    nlohmann::json out = {{"arch", enc.arch},
                          {"device", device.str()},
                          {"precision", precision_name(spec.precision)},
                          {"image_size", enc.image_size},
                          {"windows", windows},
                          {"threads", threads},
                          {"batch_size", spec.batch_size},
                          {"model_only_slices_per_s", model_only},
                          {"end_to_end_slices_per_s", r.slices_per_second},
                          {"end_to_end_fraction", r.slices_per_second / model_only},
                          {"studies", r.studies_done},
                          {"slices", r.slices}};
    if (fp32) {
      out["fp32_end_to_end_slices_per_s"] = fp32->slices_per_second;
      out["speedup_vs_fp32"] = r.slices_per_second / fp32->slices_per_second;
      out["min_row_cosine_vs_fp32"] = agreement->min_cosine;
      out["mean_row_cosine_vs_fp32"] = agreement->mean_cosine;
      out["rows_compared"] = agreement->rows;
    }
    if (!f->python.empty()) {
      const fs::path script = f->script;
      if (!fs::is_regular_file(script)) {
        throw NotFound(fmt::format("{} not found: run from the repository root or pass --python-script",
                                   script.string()));
      }
      std::string windows_arg;
      for (const auto& w : spec.windows) windows_arg += (windows_arg.empty() ? "" : ",") + w;
      const std::string cmd = fmt::format(
          "{} {} --data {} --arch {} --image-size {} --windows {} --studies {} --threads {} --json", f->python,
          script.string(), spec.data.string(), enc.arch, enc.image_size, windows_arg,
          f->python_studies > 0 ? f->python_studies : r.studies_done, threads);
      const auto py = nlohmann::json::parse(run_capture(cmd));
      out["python_slices_per_s"] = py.at("slices_per_s");
      out["python_studies"] = py.at("studies");
      out["speedup_vs_python"] = r.slices_per_second / py.at("slices_per_s").get<double>();
    }
    if (f->json) {
      std::printf("%s\n", out.dump().c_str());
    } else {
      std::printf("extract %s, %lld px, %lld windows, %d threads, batch %lld rows, %s on %s\n", enc.arch.c_str(),
                  static_cast<long long>(enc.image_size), static_cast<long long>(windows), threads,
                  static_cast<long long>(spec.batch_size), precision_name(spec.precision), device.str().c_str());
      std::printf("  model only (random tensors) %8.2f slices/s\n", model_only);
      std::printf("  end to end (%lld studies)    %8.2f slices/s = %.1f%% of model only\n",
                  static_cast<long long>(r.studies_done), r.slices_per_second, 100 * r.slices_per_second / model_only);
      if (fp32) {
        std::printf("  fp32 end to end               %8.2f slices/s -> %s is %.2fx; row cosine vs fp32 min %.5f, "
                    "mean %.6f over %lld rows\n",
                    fp32->slices_per_second, precision_name(spec.precision), out["speedup_vs_fp32"].get<double>(),
                    agreement->min_cosine, agreement->mean_cosine, static_cast<long long>(agreement->rows));
      }
      if (out.contains("python_slices_per_s")) {
        std::printf("  python reference loop        %8.2f slices/s -> radclear %.2fx\n",
                    out["python_slices_per_s"].get<double>(), out["speedup_vs_python"].get<double>());
      }
    }
    return 0;
  };
}

}  // namespace radclear::cli
