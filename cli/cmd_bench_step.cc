// `radclear bench step`: one full MoCo / LeCL training step on random
// tensors (models/moco/step_bench.h); scripts/bench/moco_step.py runs the
// same step in Python for comparison.
#include <CLI/CLI.hpp>
#include <ATen/Parallel.h>

#include <iostream>
#include <memory>
#include <string>

#include "cli/command.h"
#include "models/moco/step_bench.h"
#include "stages/enums.h"
#include "worker/device.h"

namespace radclear::cli {

Runner setup_bench_step(CLI::App& app) {
  struct Flags {
    models::StepBenchSpec spec;
    std::string device = "auto", precision = "fp32";
    int threads = 0;
    bool bf16 = false;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  app.add_option("--arch", f->spec.arch, "Backbone (registry name)")->capture_default_str();
  app.add_option("--batch", f->spec.batch, "Samples per step (two views each)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 16));
  app.add_option("--image-size", f->spec.image_size, "View side in pixels")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{16}, int64_t{4096}));
  app.add_option("--steps", f->spec.steps, "Timed steps (the median counts)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  app.add_option("--warmup", f->spec.warmup, "Untimed steps first")->capture_default_str()->check(CLI::Range(0, 1000));
  app.add_option("--device", f->device, "auto, cpu, cuda or cuda:N (as radclear pretrain)")->capture_default_str();
  app.add_option("--precision", f->precision, "Backbones under autocast: fp32, bf16, or fp16 (CUDA, with loss scaling)")
      ->capture_default_str();
  app.add_option("--threads", f->threads, "Torch intra-op threads (0 = LibTorch's default)")
      ->capture_default_str()
      ->check(CLI::Range(0, 4096));
  app.add_option("--moco-dim", f->spec.moco.dim, "Projector/predictor output width")->capture_default_str();
  app.add_option("--mlp-dim", f->spec.moco.mlp_dim, "Projector/predictor hidden width")->capture_default_str();
  app.add_option("--sgemm-seconds", f->spec.sgemm_seconds, "How long to measure SGEMM")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 60.0));
  app.add_option("--seed", f->spec.seed, "Seed for weights and inputs")->capture_default_str();
  app.add_flag("--bf16", f->bf16, "Same as --precision bf16");
  app.add_flag("--json", f->json, "Print the figures as JSON");
  app.footer(
      "Example:\n"
      "  radclear bench step --arch vit_small --batch 16 --image-size 224 --json\n"
      "  /usr/bin/python3 scripts/bench/moco_step.py --arch vit_small --batch 16 --image-size 224");
  return [f] {
    // The device as the stages resolve it: a GPU that is not there, or fp16
    // on the CPU, fails before any work with the fix.
    models::StepBenchSpec spec = f->spec;
    const Precision precision = f->bf16 ? Precision::kBFloat16 : stages::parse_enum<Precision>(f->precision);
    const torch::Device device = worker::resolve_device(stages::DeviceChoice::parse(f->device), 0, "bench step");
    worker::check_precision(device, precision, "bench step", true);
    spec.device = device.str();
    spec.precision = precision;
    if (f->threads > 0) at::set_num_threads(f->threads);
    const auto r = models::bench_moco_step(spec);
    std::cout << (f->json ? models::step_bench_json(r) + "\n" : models::step_bench_text(r));
    return 0;
  };
}

}  // namespace radclear::cli
