#include "worker/pretrain/spec.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/check.h"
#include "common/yaml_fields.h"
#include "data/window.h"

namespace radclear::worker {

std::string to_string(Sampling s) { return s == Sampling::kLesion ? "Lesion" : "None"; }
std::string to_string(OptimizerKind o) { return o == OptimizerKind::kAdamW ? "adamw" : "lars"; }
std::string to_string(Precision p) { return p == Precision::kFloat32 ? "fp32" : "bf16"; }
std::string to_string(ViewRecipe v) { return v == ViewRecipe::kClear ? "clear" : "ct"; }

ViewRecipe parse_view_recipe(const std::string& s) {
  if (s == "clear") return ViewRecipe::kClear;
  if (s == "ct") return ViewRecipe::kCt;
  throw InvalidArgument(fmt::format("views: '{}' is not one of clear, ct", s));
}

Sampling parse_sampling(const std::string& s) {
  if (s == "Lesion" || s == "lesion") return Sampling::kLesion;
  if (s == "None" || s == "none") return Sampling::kNone;
  throw InvalidArgument(fmt::format("sampling: '{}' is not one of Lesion, None", s));
}

OptimizerKind parse_optimizer(const std::string& s) {
  if (s == "adamw") return OptimizerKind::kAdamW;
  if (s == "lars") return OptimizerKind::kLars;
  throw InvalidArgument(fmt::format("optimizer: '{}' is not one of adamw, lars", s));
}

Precision parse_precision(const std::string& s) {
  if (s == "fp32" || s == "float32") return Precision::kFloat32;
  if (s == "bf16" || s == "bfloat16") return Precision::kBFloat16;
  throw InvalidArgument(fmt::format("precision: '{}' is not one of fp32, bf16", s));
}

void PretrainSpec::validate() const {
  auto need = [](bool ok, const std::string& msg) {
    if (!ok) throw InvalidArgument("pretrain: " + msg);
  };
  need(!db.empty(), "--db is required (build it with `radclear index`)");
  need(!data.empty(), "--data is required");
  need(!out.empty(), "--out is required");
  need(!name.empty() && name.find('/') == std::string::npos, fmt::format("name '{}' must be a plain word", name));
  need(!arch.empty(), "--arch is required");
  need(image_size >= 16 && image_size % 16 == 0, fmt::format("image_size must be a multiple of 16, got {}", image_size));
  need(moco_dim > 0 && moco_mlp_dim > 0, "moco_dim and moco_mlp_dim must be positive");
  need(crop_min >= 0 && crop_min <= 1, fmt::format("crop_min must be in (0, 1] or 0 (the views' own), got {}", crop_min));
  need(!windows.empty(), "windows needs at least one CT window");
  for (size_t i = 0; i < windows.size(); ++i) {
    data::parse_ct_window(windows[i]);  // throws with the known names
    for (size_t j = 0; j < i; ++j) need(windows[i] != windows[j], fmt::format("window '{}' is listed twice", windows[i]));
  }
  need(lesion_repeat >= 1, fmt::format("lesion_repeat must be >= 1, got {}", lesion_repeat));
  need(batch_size > 0, fmt::format("batch_size must be positive, got {}", batch_size));
  need(epochs > 0, fmt::format("epochs must be positive, got {}", epochs));
  need(lr > 0, fmt::format("lr must be positive, got {}", lr));
  need(weight_decay >= 0, fmt::format("weight_decay must be >= 0, got {}", weight_decay));
  need(warmup_epochs >= 0, fmt::format("warmup_epochs must be >= 0, got {}", warmup_epochs));
  need(moco_m >= 0 && moco_m <= 1, fmt::format("moco_m must be in [0, 1], got {}", moco_m));
  need(moco_t > 0, fmt::format("moco_t must be positive, got {}", moco_t));
  need(grad_clip >= 0, fmt::format("grad_clip must be >= 0, got {}", grad_clip));
  need(bucket_cap_mb > 0, fmt::format("bucket_cap_mb must be positive, got {}", bucket_cap_mb));
  need(print_freq > 0, fmt::format("print_freq must be positive, got {}", print_freq));
  need(save_every >= 0, fmt::format("save_every must be >= 0, got {}", save_every));
  need(workers >= 0, fmt::format("workers must be >= 0, got {}", workers));
}

YAML::Node PretrainSpec::to_yaml() const {
  YAML::Node n;
  n["db"] = db.string();
  n["data"] = data.string();
  n["out"] = out.string();
  n["name"] = name;
  n["resume"] = resume;
  n["arch"] = arch;
  n["image_size"] = image_size;
  n["moco_dim"] = moco_dim;
  n["moco_mlp_dim"] = moco_mlp_dim;
  n["stop_grad_conv1"] = stop_grad_conv1;
  n["sampling"] = to_string(sampling);
  n["sample_weight"] = sample_weight;
  n["views"] = to_string(views);
  n["crop_min"] = crop_min;
  n["lesion_repeat"] = lesion_repeat;
  n["windows"] = windows;
  n["batch_size"] = batch_size;
  n["epochs"] = epochs;
  n["optimizer"] = to_string(optimizer);
  n["lr"] = lr;
  n["weight_decay"] = weight_decay;
  n["warmup_epochs"] = warmup_epochs;
  n["moco_m"] = moco_m;
  n["moco_m_cos"] = moco_m_cos;
  n["moco_t"] = moco_t;
  n["grad_clip"] = grad_clip;
  n["precision"] = to_string(precision);
  n["bucket_cap_mb"] = bucket_cap_mb;
  n["seed"] = seed;
  n["print_freq"] = print_freq;
  n["save_every"] = save_every;
  n["workers"] = workers;
  return n;
}

void PretrainSpec::merge_yaml(const YAML::Node& node, const std::string& ctx) {
  check_known_keys(node,
                   {"db", "data", "out", "name", "resume", "arch", "image_size", "moco_dim", "moco_mlp_dim",
                    "stop_grad_conv1", "sampling", "sample_weight", "views", "crop_min", "lesion_repeat", "windows", "window",
                    "batch_size", "epochs", "optimizer", "lr", "weight_decay", "warmup_epochs", "moco_m",
                    "moco_m_cos", "moco_t", "grad_clip", "precision", "bucket_cap_mb", "seed", "print_freq",
                    "save_every", "workers"},
                   ctx);
  read_path(node, "db", db, ctx);
  read_path(node, "data", data, ctx);
  read_path(node, "out", out, ctx);
  read_field(node, "name", name, ctx);
  read_field(node, "resume", resume, ctx);
  read_field(node, "arch", arch, ctx);
  read_field(node, "image_size", image_size, ctx);
  read_field(node, "moco_dim", moco_dim, ctx);
  read_field(node, "moco_mlp_dim", moco_mlp_dim, ctx);
  read_field(node, "stop_grad_conv1", stop_grad_conv1, ctx);
  std::string s;
  read_field(node, "sampling", s, ctx);
  if (!s.empty()) sampling = parse_sampling(s);
  read_field(node, "sample_weight", sample_weight, ctx);
  s.clear();
  read_field(node, "views", s, ctx);
  if (!s.empty()) views = parse_view_recipe(s);
  read_field(node, "crop_min", crop_min, ctx);
  read_field(node, "lesion_repeat", lesion_repeat, ctx);
  read_field(node, "windows", windows, ctx);
  s.clear();
  read_field(node, "window", s, ctx);  // a pretrain.yaml from before `windows`
  if (!s.empty()) windows = {s};
  read_field(node, "batch_size", batch_size, ctx);
  read_field(node, "epochs", epochs, ctx);
  s.clear();
  read_field(node, "optimizer", s, ctx);
  if (!s.empty()) optimizer = parse_optimizer(s);
  read_field(node, "lr", lr, ctx);
  read_field(node, "weight_decay", weight_decay, ctx);
  read_field(node, "warmup_epochs", warmup_epochs, ctx);
  read_field(node, "moco_m", moco_m, ctx);
  read_field(node, "moco_m_cos", moco_m_cos, ctx);
  read_field(node, "moco_t", moco_t, ctx);
  read_field(node, "grad_clip", grad_clip, ctx);
  s.clear();
  read_field(node, "precision", s, ctx);
  if (!s.empty()) precision = parse_precision(s);
  read_field(node, "bucket_cap_mb", bucket_cap_mb, ctx);
  read_field(node, "seed", seed, ctx);
  read_field(node, "print_freq", print_freq, ctx);
  read_field(node, "save_every", save_every, ctx);
  read_field(node, "workers", workers, ctx);
}

PretrainPlan resolve_pretrain(const PretrainSpec& spec, int rank, int world, int node_cores, int local_world) {
  spec.validate();
  RADCLEAR_CHECK(world >= 1 && rank >= 0 && rank < world, "rank {} of world {}", rank, world);
  if (spec.batch_size % world != 0) {
    throw InvalidArgument(fmt::format("pretrain: the global batch_size {} does not divide by {} ranks; use a multiple of {}",
                                      spec.batch_size, world, world));
  }
  PretrainPlan plan;
  plan.spec = spec;
  // A run shorter than the warmup would never reach its peak nor decay:
  // warm up over the first half instead, so `--epochs 1` works as a trial.
  if (spec.warmup_epochs > static_cast<double>(spec.epochs)) {
    plan.spec.warmup_epochs = static_cast<double>(spec.epochs) / 2;
    if (rank == 0) {
      spdlog::warn("pretrain: warmup_epochs {} exceeds the run's {} epoch(s); warming up over {} instead",
                   spec.warmup_epochs, spec.epochs, plan.spec.warmup_epochs);
    }
  }
  plan.rank = rank;
  plan.world = world;
  plan.batch_per_rank = spec.batch_size / world;
  plan.lr = spec.lr * static_cast<double>(spec.batch_size) / 256.0;
  plan.threads_per_rank = std::max(1, node_cores / std::max(1, local_world));
  plan.loader_threads = spec.workers > 0 ? spec.workers : plan.threads_per_rank;
  return plan;
}

}  // namespace radclear::worker
