// `radclear pretrain`: LeCL pretraining, in one process or under mpirun/srun.
#include <CLI/CLI.hpp>
#include <memory>

#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "cli/given_flags.h"
#include "cli/slice_samples.h"
#include "common/check.h"
#include "common/parallel.h"
#include "common/yaml_fields.h"
#include "data/sample.h"
#include "storage/index.h"
#include "worker/comm/mpi_communicator.h"
#include "worker/mpi_scope.h"
#include "worker/pretrain/trainer.h"

namespace radclear::cli {

Runner setup_pretrain(CLI::App& app) {
  struct Flags {
    worker::PretrainSpec spec;
    std::string config, sampling = "Lesion", optimizer = "adamw", precision = "fp32", views = "clear";
    bool quiet = false;
  };
  auto f = std::make_shared<Flags>();
  auto& s = f->spec;
  app.add_option("--config", f->config, "YAML file with these settings (keys as the flags, '-' -> '_'); flags override it");
  app.add_option("--db", s.db, "RocksDB slice index (radclear index)");
  app.add_option("--data", s.data, "Data root the index's paths are relative to");
  app.add_option("--out", s.out, "Directory for checkpoints, metrics.csv and pretrain.yaml");
  app.add_option("--name", s.name, "Run name used in checkpoint file names")->capture_default_str();
  app.add_option("--resume", s.resume, "auto (newest valid checkpoint in --out), none, or a checkpoint path")
      ->capture_default_str();
  app.add_option("--arch", s.arch, "Backbone: vit_small, vit_conv_small, mambaout_femto, resnet50, ...")
      ->capture_default_str();
  app.add_option("--image-size", s.image_size, "Input size")->capture_default_str();
  app.add_option("--batch-size", s.batch_size, "Global batch over all ranks (lr scales by batch/256)")
      ->capture_default_str();
  app.add_option("--epochs", s.epochs, "Epochs")->capture_default_str();
  app.add_option("--sampling", f->sampling, "Lesion (LeCL views and negatives) or None (plain MoCo v3)")
      ->capture_default_str();
  app.add_option("--sample-weight", s.sample_weight, "Weight w of the lesion negatives")->capture_default_str();
  app.add_option("--optimizer", f->optimizer, "adamw or lars")->capture_default_str();
  app.add_option("--lr", s.lr, "Base learning rate (per 256 images)")->capture_default_str();
  app.add_option("--wd", s.weight_decay, "Weight decay")->capture_default_str();
  app.add_option("--warmup-epochs", s.warmup_epochs, "Linear warmup epochs")->capture_default_str();
  app.add_option("--moco-dim", s.moco_dim, "Projector/predictor output width")->capture_default_str();
  app.add_option("--moco-mlp-dim", s.moco_mlp_dim, "Hidden width of the MLP heads")->capture_default_str();
  app.add_option("--moco-m", s.moco_m, "Momentum of the key encoder")->capture_default_str();
  app.add_flag("--moco-m-cos", s.moco_m_cos, "Cosine schedule of the momentum towards 1");
  app.add_option("--moco-t", s.moco_t, "Softmax temperature")->capture_default_str();
  app.add_flag("--stop-grad-conv1", s.stop_grad_conv1, "Freeze the ViT patch projection");
  app.add_option("--views", f->views, "View recipe: clear (CLEAR's MoCo v3 augmentations) or ct (CT-native: window jitter, crops from half the area, square lesion crops)")->capture_default_str();
  app.add_option("--crop-min", s.crop_min, "Minimum crop area fraction (0: the views' own, clear 0.08, ct 0.5)")->capture_default_str();
  app.add_option("--lesion-repeat", s.lesion_repeat, "Times each lesion slice appears per epoch (oversampling)")
      ->capture_default_str();
  app.add_option("--windows", s.windows, "CT windows for 16-bit slices, one drawn per sample (abdomen, lung, bone, mediastinum or W/L); extraction defaults to them")
      ->delimiter(',')->default_str("abdomen,lung");
  app.add_option("--grad-clip", s.grad_clip, "Max gradient norm, 0 = off")->capture_default_str();
  app.add_option("--precision", f->precision, "fp32, or bf16: backbones under CPU bf16 autocast (faster where the CPU has AVX512-BF16/AMX)")->capture_default_str();
  app.add_option("--bucket-cap-mb", s.bucket_cap_mb, "Gradient allreduce bucket size")->capture_default_str();
  app.add_option("--seed", s.seed, "Seed")->capture_default_str();
  app.add_option("--print-freq", s.print_freq, "Steps between metrics.csv lines")->capture_default_str();
  app.add_option("--save-every", s.save_every, "Extra checkpoint every N steps (0 = per epoch only)")
      ->capture_default_str();
  app.add_option("--workers", s.workers, "Loader threads per rank (0 = the rank's share of cores)")
      ->capture_default_str();
  app.add_flag("--quiet", f->quiet, "No progress bar");
  app.footer(
      "Examples:\n  radclear pretrain --db idx --data data --arch vit_small --batch-size 256 --epochs 100 --out runs/a\n"
      "  mpirun -np 4 radclear pretrain --config pretrain.yaml   # batch is split over the ranks");
  return [f, &app] {
    worker::PretrainSpec spec;
    if (!f->config.empty()) spec.merge_yaml(load_yaml_file(f->config), f->config);
    worker::PretrainSpec from_flags = f->spec;
    from_flags.sampling = worker::parse_sampling(f->sampling);
    from_flags.optimizer = worker::parse_optimizer(f->optimizer);
    from_flags.precision = worker::parse_precision(f->precision);
    from_flags.views = worker::parse_view_recipe(f->views);
    spec.merge_yaml(given_flags(app, from_flags.to_yaml(), {{"wd", "weight_decay"}}), "command line");

    MpiScope mpi;
    std::unique_ptr<worker::Communicator> comm =
        mpi.active() ? std::unique_ptr<worker::Communicator>(std::make_unique<worker::MpiCommunicator>())
                     : worker::make_local_communicator();
    const auto plan =
        worker::resolve_pretrain(spec, comm->rank(), comm->world(), hardware_threads(), MpiScope::local_world());

    storage::IndexOptions opts;
    opts.read_only = true;
    auto index = storage::SliceIndex::Open(spec.db, opts);
    throw_if_error(index.status());
    auto samples = slice_samples_from_index(*index.value());
    throw_if_error(samples.status());
    if (comm->rank() == 0) {
      spdlog::info("pretrain {} on {} slices: {} rank(s) x batch {}, lr {:.3g}, {} threads/rank", spec.arch,
                   samples.value().size(), plan.world, plan.batch_per_rank, plan.lr, plan.threads_per_rank);
    }
    worker::PretrainOptions run_options;
    run_options.show_progress = !f->quiet;
    const auto result = worker::run_pretrain(plan, std::move(samples.value()), *comm, run_options);
    if (comm->rank() == 0) {
      spdlog::info("done: {} epochs, {:.1f} images/s, gradient wait {:.1f}% of step time, last checkpoint {}",
                   result.epochs_completed, result.images_per_second, 100 * result.comm_wait_fraction,
                   result.last_checkpoint.empty() ? "none" : result.last_checkpoint.string());
    }
    return 0;
  };
}

}  // namespace radclear::cli
