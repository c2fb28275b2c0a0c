#include "worker/pipeline/quickstart.h"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>

#include "common/csv.h"
#include "models/layers/autocast.h"

namespace radclear::pipeline {

namespace fs = std::filesystem;

namespace {

// The CT windows of pretraining and so of the two feature rows of a slice
// (as the reference extracts): an encoder pretrained in the abdomen window
// alone made half of the rows out of distribution.
const std::vector<std::string> kWindows = {"abdomen", "lung"};
// The 8 lesion-location labels of synth's clinical.csv (DeepLesion's types).
const std::vector<std::string> kLabels = {"bone", "abdomen", "mediastinum", "liver",
                                          "lung", "kidney", "soft tissue", "pelvis"};
constexpr int kStudiesPerPatient = 2;
constexpr double kWarmupEpochs = 0.3;

}  // namespace

void QuickstartSpec::validate() const {
  stages::check_fields(*this);
  if (precision != "auto") stages::parse_enum<stages::Precision>(precision);
}

std::vector<PipelineStep> quickstart_data_steps(const QuickstartSpec& q) {
  q.validate();
  const fs::path data_dir = q.out / "data", db = q.out / "index";
  std::vector<PipelineStep> steps;

  // 1. Data, generated once: synth.yaml is written last, so its presence
  //    means the set is complete.
  stages::SynthSpec synth;
  synth.out = data_dir;
  synth.patients = q.patients;
  synth.studies_per_patient = kStudiesPerPatient;
  synth.slices = q.slices;
  synth.size = q.size;
  synth.seed = q.seed;
  synth.force = true;  // a half-written set from an interrupted run is replaced
  steps.push_back({"synthetic DeepLesion-style data and the slice index", synth,
                   [data_dir] { return fs::exists(data_dir / "synth.yaml"); },
                   fmt::format("{} exists (delete it to generate again)", data_dir.string()),
                   fmt::format("{} studies of {} slices from {} patients in {}", q.patients * kStudiesPerPatient,
                               q.slices, q.patients, data_dir.string())});

  // 2. The slice index (idempotent: a rerun writes nothing).
  stages::IndexSpec index;
  index.data_root = data_dir;
  index.db = db;
  index.dl_info = data_dir / "DL_info.csv";
  steps.push_back({"", index, {}, "", fmt::format("indexed in {}", db.string())});

  for (const auto& s : steps) stages::validate(s.spec);
  return steps;
}

namespace {

// `spec` as a sweep stage: the keys that differ from a default spec, less
// those the sweep sets (its data paths and the chaining).
template <typename Spec>
YAML::Node sweep_stage(const Spec& spec, const std::vector<std::string>& set_by_sweep) {
  const YAML::Node mine = stages::to_yaml(spec), defaults = stages::to_yaml(Spec{});
  YAML::Node out(YAML::NodeType::Map);
  for (const auto& kv : mine) {
    const std::string key = kv.first.as<std::string>();
    if (std::find(set_by_sweep.begin(), set_by_sweep.end(), key) != set_by_sweep.end()) continue;
    if (defaults[key] && YAML::Dump(defaults[key]) == YAML::Dump(kv.second)) continue;
    out[key] = kv.second;
  }
  return out;
}

}  // namespace

YAML::Node quickstart_sweep(const QuickstartSpec& q) {
  q.validate();
  // 3. LeCL pretraining, resumed from its newest checkpoint.
  stages::PretrainSpec pre;
  pre.name = "quickstart";
  pre.arch = q.arch;
  pre.image_size = q.image_size;
  pre.batch_size = q.batch_size;
  pre.epochs = q.epochs;
  pre.warmup_epochs = std::min<double>(kWarmupEpochs, static_cast<double>(q.epochs));
  pre.lr = q.lr;
  pre.moco_t = q.moco_t;
  pre.moco_mlp_dim = q.moco_mlp_dim;
  pre.sampling = q.sampling;
  pre.views = q.views;
  pre.windows = kWindows;
  pre.precision = q.precision == "auto"
                      ? (models::cpu_has_native_bf16() ? stages::Precision::kBFloat16 : stages::Precision::kFloat32)
                      : stages::parse_enum<stages::Precision>(q.precision);
  pre.seed = q.seed;
  pre.print_freq = 5;

  // 4. Features of every study under the checkpoint's two CT windows, in
  //    shard jobs (finished studies are skipped by the stage itself).
  stages::ExtractSpec ext;

  // 5. ABMIL cross-validation on the lesion-location labels, one job per fold.
  stages::CrossvalSpec cv;
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

  const fs::path out = fs::absolute(q.out);
  YAML::Node sweep(YAML::NodeType::Map);
  sweep["name"] = "quickstart";
  sweep["data"]["index"] = (out / "index").string();
  sweep["data"]["root"] = (out / "data").string();
  sweep["data"]["clinical"] = (out / "data" / "clinical.csv").string();
  sweep["data"]["out"] = out.string();
  sweep["stages"]["pretrain"] = sweep_stage(pre, {"db", "data", "out"});
  sweep["stages"]["extract"] = sweep_stage(ext, {"db", "data", "out", "studies", "checkpoint"});
  sweep["stages"]["crossval"] = sweep_stage(cv, {"out", "fold", "features", "clini", "db"});
  sweep["pretrain_ranks"] = q.ranks;
  return sweep;
}

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

}  // namespace radclear::pipeline
