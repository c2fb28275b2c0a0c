// `radclear quickstart`: the whole pipeline on a generated data set, the
// first thing a new user runs. Every step is the library call behind the
// matching command (synth, index, pretrain, extract, crossval) with the
// embedded defaults; with --ranks N the distributed steps run as
// `mpirun -np N radclear <step> --config <resolved yaml>`. Every step
// resumes, so a rerun after an interruption continues where it stopped.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>

#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "cli/slice_samples.h"
#include "common/atomic_file.h"
#include "common/check.h"
#include "common/csv.h"
#include "common/parallel.h"
#include "common/progress.h"
#include "data/synth.h"
#include "models/layers/autocast.h"
#include "storage/checkpoint/checkpoint.h"
#include "storage/index.h"
#include "storage/ingest.h"
#include "worker/comm/communicator.h"
#include "worker/crossval/crossval.h"
#include "worker/extract/extractor.h"
#include "worker/pretrain/trainer.h"

namespace radclear::cli {

namespace fs = std::filesystem;

namespace {

// The CT windows of pretraining and so of the two feature rows of a slice
// (as the reference extracts): an encoder pretrained in the abdomen window
// alone made half of the rows out of distribution.
const std::vector<std::string> kWindows = {"abdomen", "lung"};
// The 8 lesion-location labels of synth's clinical.csv (DeepLesion's types).
const std::vector<std::string> kLabels = {"bone", "abdomen", "mediastinum", "liver",
                                          "lung", "kidney", "soft tissue", "pelvis"};

struct QuickstartSpec {
  fs::path out = "quickstart";
  int ranks = 1;
  // Many short studies: ABMIL needs bags more than slices per bag (with 120
  // studies even oracle features reached only 0.70 mean AUROC; with 320,
  // 0.92), and pretraining and extraction cost scales with the slices.
  int patients = 160;
  int studies_per_patient = 2;
  int slices = 12;
  int size = 128;
  // A gated CNN keeps the spatial detail of a 96 px input, where a ViT/16
  // sees 6 x 6 tokens.
  std::string arch = "mambaout_femto";
  int64_t image_size = 96;
  int64_t epochs = 2;
  int64_t batch_size = 64;
  // 120 steps in all: a short warmup and a high peak (1.5e-3 at batch 64)
  // learn more than a 2e-3 base with warmup over half the run (lesion-slice
  // AUROC of a linear probe 0.753 against 0.738; random weights 0.722); a
  // 1.2e-2 base diverged (0.699).
  double lr = 6e-3;
  double warmup_epochs = 0.3;
  double moco_t = 0.2;  // MoCo v3's ViT temperature; 1.0 barely moved the loss in a short run
  // Width of the MoCo heads. CLEAR's 4096 made the heads cost more than the
  // MambaOut-femto encoder at 96 px (9.5 against 17.8 images/s with 1024).
  int64_t moco_mlp_dim = 1024;
  std::string sampling = "Lesion";
  std::string views = "ct";
  // auto: bf16 where the CPU has native bf16 (AVX512-BF16/AMX), else fp32.
  std::string precision = "auto";
  uint64_t seed = 0;
  bool quiet = false;
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// `mpirun -np N <this binary> <command> --config <yaml>`; throws when it fails.
void run_under_mpirun(int ranks, const std::string& command, const fs::path& config, bool quiet) {
  const fs::path self = fs::read_symlink("/proc/self/exe");
  std::string cmd = "mpirun";
  if (::geteuid() == 0) cmd += " --allow-run-as-root";
  if (ranks > hardware_threads()) cmd += " --oversubscribe";
  cmd += fmt::format(" -np {} {} {} --config {}", ranks, quote(self.string()), command, quote(config.string()));
  if (quiet) cmd += command == "crossval" ? " --no-progress" : " --quiet";
  spdlog::info("running: {}", cmd);
  const int rc = std::system(cmd.c_str());
  if (rc != 0) {
    throw Error(StatusCode::kInternal,
                fmt::format("`{}` failed (status {}); rerun `radclear quickstart` to resume", cmd, rc));
  }
}

class Steps {
 public:
  explicit Steps(int total) : total_(total), t0_(std::chrono::steady_clock::now()) {}
  void begin(const std::string& what) {
    spdlog::info("== step {}/{}: {}", ++n_, total_, what);
    step_t0_ = std::chrono::steady_clock::now();
  }
  void end(const std::string& note) {
    spdlog::info("   {} ({:.0f} s; {:.0f} s in all)", note, seconds_since(step_t0_), seconds_since(t0_));
  }
  double total_seconds() const { return seconds_since(t0_); }

 private:
  static double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  }
  int total_, n_ = 0;
  std::chrono::steady_clock::time_point t0_, step_t0_;
};

// The AUROC rows of stats.csv as a table for people.
std::string auroc_table(const fs::path& stats_csv) {
  CsvReader csv(stats_csv);
  const size_t c_label = csv.require_column("label"), c_metric = csv.require_column("metric"),
               c_mean = csv.require_column("mean"), c_std = csv.require_column("std"),
               c_pooled = csv.require_column("pooled"), c_low = csv.require_column("ci95_low"),
               c_high = csv.require_column("ci95_high");
  std::ostringstream out;
  out << fmt::format("  {:<12} {:>17}   {:>8}  {:<15}\n", "label", "AUROC over folds", "pooled", "95% CI");
  double sum = 0;
  int n = 0;
  CsvRow row;
  while (csv.next(row)) {
    const auto& f = row.fields;
    if (f.at(c_metric) != "auroc") continue;
    auto cut = [](const std::string& v) { return v.substr(0, 5); };
    out << fmt::format("  {:<12} {:>8} ± {:<6}   {:>8}  [{}, {}]\n", f.at(c_label), cut(f.at(c_mean)),
                       cut(f.at(c_std)), cut(f.at(c_pooled)), cut(f.at(c_low)), cut(f.at(c_high)));
    if (f.at(c_mean) != "NA") {
      sum += std::stod(f.at(c_mean));
      ++n;
    }
  }
  if (n > 0) out << fmt::format("  {:<12} {:>8.3f}\n", "mean", sum / n);
  return out.str();
}

int run_quickstart(const QuickstartSpec& q) {
  if (q.ranks < 1) throw InvalidArgument(fmt::format("--ranks must be >= 1, got {}", q.ranks));
  fs::create_directories(q.out);
  Steps steps(5);
  const fs::path data_dir = q.out / "data", db = q.out / "index";

  // 1. Data: generated once (synth.yaml is written last, so its presence
  //    means the set is complete), then indexed (idempotent).
  steps.begin("synthetic DeepLesion-style data and the slice index");
  data::SynthSpec synth;
  synth.out = data_dir;
  synth.patients = q.patients;
  synth.studies_per_patient = q.studies_per_patient;
  synth.slices = q.slices;
  synth.size = q.size;
  synth.seed = q.seed;
  synth.force = true;  // a half-written set from an interrupted run is replaced
  if (fs::exists(data_dir / "synth.yaml")) {
    spdlog::info("   {} exists (delete it to generate again)", data_dir.string());
  } else {
    synth.validate();
    ProgressBar bar(static_cast<int64_t>(synth.patients) * synth.studies_per_patient * synth.slices,
                    {"synth", "slices", !q.quiet});
    int64_t last = 0;
    data::generate_synth(synth, [&](int, int64_t done) {
      bar.advance(done - last);
      last = done;
    });
  }
  storage::IndexSpec ispec;
  ispec.data_root = data_dir;
  ispec.db = db;
  ispec.dl_info = data_dir / "DL_info.csv";
  ispec.progress = false;
  storage::IndexRunReport ireport;
  throw_if_error(storage::run_index(ispec, &ireport));
  steps.end(fmt::format("{} studies of {} slices from {} patients, indexed in {}",
                        q.patients * q.studies_per_patient, q.slices, q.patients, db.string()));

  // 2. LeCL pretraining, resumed from its newest checkpoint.
  steps.begin(fmt::format("{} pretraining of {} at {} px ({} epochs, sampling {}, {} views)",
                          q.sampling == "None" ? "MoCo v3" : "LeCL", q.arch, q.image_size, q.epochs, q.sampling,
                          q.views));
  worker::PretrainSpec pre;
  pre.db = db;
  pre.data = data_dir;
  pre.out = q.out / "pretrain";
  pre.name = "quickstart";
  pre.arch = q.arch;
  pre.image_size = q.image_size;
  pre.batch_size = q.batch_size;
  pre.epochs = q.epochs;
  pre.warmup_epochs = std::min<double>(q.warmup_epochs, static_cast<double>(q.epochs));
  pre.lr = q.lr;
  pre.moco_t = q.moco_t;
  pre.moco_mlp_dim = q.moco_mlp_dim;
  pre.sampling = worker::parse_sampling(q.sampling);
  pre.views = worker::parse_view_recipe(q.views);
  pre.windows = kWindows;
  pre.precision = q.precision == "auto"
                      ? (models::cpu_has_native_bf16() ? worker::Precision::kBFloat16 : worker::Precision::kFloat32)
                      : worker::parse_precision(q.precision);
  pre.seed = q.seed;
  pre.print_freq = 5;
  pre.validate();
  const fs::path checkpoint = pre.out / storage::moco_checkpoint_file_name(pre.arch, pre.name, pre.epochs);
  if (fs::exists(checkpoint)) {
    spdlog::info("   {} exists: pretraining is done", checkpoint.string());
  } else if (q.ranks > 1) {
    fs::create_directories(pre.out);
    write_file_atomic(q.out / "pretrain.yaml", YAML::Dump(pre.to_yaml()) + "\n");
    run_under_mpirun(q.ranks, "pretrain", q.out / "pretrain.yaml", q.quiet);
  } else {
    auto comm = worker::make_local_communicator();
    const auto plan = worker::resolve_pretrain(pre, 0, 1, hardware_threads(), 1);
    storage::IndexOptions ro;
    ro.read_only = true;
    auto index = storage::SliceIndex::Open(db, ro);
    throw_if_error(index.status());
    auto samples = slice_samples_from_index(*index.value());
    throw_if_error(samples.status());
    index.value().reset();
    worker::PretrainOptions options;
    options.show_progress = !q.quiet;
    worker::run_pretrain(plan, std::move(samples.value()), *comm, options);
  }
  steps.end(fmt::format("encoder: {}", checkpoint.string()));

  // 3. Features of every study under two CT windows.
  steps.begin("feature extraction (abdomen and lung windows)");
  worker::ExtractSpec ext;
  ext.db = db;
  ext.data = data_dir;
  ext.checkpoint = checkpoint;
  ext.out = q.out / "features";
  // ext.windows stays empty: the checkpoint's (kWindows).
  ext.validate();
  if (q.ranks > 1) {
    write_file_atomic(q.out / "extract.yaml", YAML::Dump(ext.to_yaml()) + "\n");
    run_under_mpirun(q.ranks, "extract", q.out / "extract.yaml", q.quiet);
  } else {
    auto comm = worker::make_local_communicator();
    worker::ExtractOptions options;
    options.show_progress = !q.quiet;
    options.threads_per_rank = hardware_threads();
    const auto r = worker::run_extract(ext, *comm, options);
    if (r.studies_failed > 0) throw Error(StatusCode::kInternal, fmt::format("{} studies failed", r.studies_failed));
  }
  steps.end(fmt::format("one HDF5 file per study in {}", ext.out.string()));

  // 4. ABMIL cross-validation on the lesion-location labels.
  steps.begin("5-fold ABMIL cross-validation on the 8 lesion-location labels");
  crossval::CrossvalSpec cv;
  cv.features_dir = ext.out;
  cv.clini_csv = data_dir / "clinical.csv";
  cv.out_dir = q.out / "crossval";
  cv.labels = kLabels;
  cv.folds = 5;
  cv.hidden = 128;
  cv.epochs = 32;
  // CLEAR's batch 64 at lr 1e-4 is made for ~10k studies; 256 training bags
  // would get 4 steps per epoch and stay near initialisation.
  cv.batch_size = 8;
  cv.lr = 5e-4;
  cv.attention_plots = 2;
  cv.seed = 1337 + q.seed;
  cv.progress = !q.quiet;
  crossval::validate(cv);
  if (q.ranks > 1) {
    write_file_atomic(q.out / "crossval.yaml", crossval::to_yaml(cv));
    run_under_mpirun(q.ranks, "crossval", q.out / "crossval.yaml", q.quiet);
  } else {
    crossval::run_crossval(cv);
  }
  steps.end(fmt::format("results in {}", cv.out_dir.string()));

  // 5. The table.
  steps.begin("results");
  std::printf("\nOut-of-fold AUROC per lesion location (%s, %s features, ABMIL, 5 folds):\n%s\n", q.arch.c_str(),
              pre.sampling == worker::Sampling::kLesion ? "LeCL" : "MoCo v3",
              auroc_table(cv.out_dir / "stats.csv").c_str());
  std::printf("ROC and PR curves: %s\nattention plots:   %s/fold-*/\nper-study predictions: %s\n\n",
              (cv.out_dir / "plots").c_str(), cv.out_dir.c_str(), (cv.out_dir / "oof-preds.csv").c_str());
  std::fflush(stdout);
  steps.end(fmt::format("quickstart finished in {:.1f} min", steps.total_seconds() / 60));
  return 0;
}

}  // namespace

Runner setup_quickstart(CLI::App& app) {
  auto q = std::make_shared<QuickstartSpec>();
  app.add_option("--out", q->out, "Directory for everything the run makes")->capture_default_str();
  app.add_option("--ranks", q->ranks, "Run pretraining, extraction and cross-validation on N MPI ranks (mpirun)")
      ->capture_default_str();
  app.add_option("--patients", q->patients, "Synthetic patients (2 studies each)")->capture_default_str();
  app.add_option("--slices", q->slices, "Slices per study")->capture_default_str();
  app.add_option("--size", q->size, "Slice size in pixels")->capture_default_str();
  app.add_option("--arch", q->arch, "Backbone to pretrain")->capture_default_str();
  app.add_option("--image-size", q->image_size, "Encoder input size")->capture_default_str();
  app.add_option("--epochs", q->epochs, "Pretraining epochs")->capture_default_str();
  app.add_option("--batch-size", q->batch_size, "Pretraining batch")->capture_default_str();
  app.add_option("--lr", q->lr, "Pretraining base learning rate (per 256 images)")->capture_default_str();
  app.add_option("--moco-t", q->moco_t, "Pretraining softmax temperature")->capture_default_str();
  app.add_option("--moco-mlp-dim", q->moco_mlp_dim, "Hidden width of the MoCo heads")->capture_default_str();
  app.add_option("--sampling", q->sampling, "Lesion (LeCL) or None (plain MoCo v3)")->capture_default_str();
  app.add_option("--views", q->views, "Pretraining views: ct (CT-native) or clear (CLEAR's)")->capture_default_str();
  app.add_option("--precision", q->precision, "Pretraining precision: auto, fp32 or bf16")->capture_default_str();
  app.add_option("--seed", q->seed, "Seed of the data and every step")->capture_default_str();
  app.add_flag("--quiet", q->quiet, "No progress bars");
  app.footer(
      "Generates a data set, pretrains a small encoder with LeCL, extracts features with two CT windows and\n"
      "cross-validates ABMIL on the lesion-location labels; about 12 minutes on 2 cores. A rerun resumes.\n"
      "Example:\n  radclear quickstart --out quickstart\n  radclear quickstart --out qs2 --ranks 2");
  return [q] { return run_quickstart(*q); };
}

}  // namespace radclear::cli
