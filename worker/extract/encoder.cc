#include "worker/extract/encoder.h"

#include <cmath>

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "common/check.h"
#include "common/sha256.h"
#include "models/backbones/registry.h"
#include "models/backbones/state_dict.h"
#include "storage/checkpoint/checkpoint.h"
#include "storage/checkpoint/torch_file.h"

namespace radclear::worker {

namespace fs = std::filesystem;

namespace {

// image_size / arch of the pretraining run that wrote the checkpoint, from
// its resolved config (written next to the checkpoints).
struct RunConfig {
  std::string arch;
  int64_t image_size = 0;
  std::vector<std::string> windows;
};
RunConfig run_config_beside(const fs::path& checkpoint) {
  RunConfig c;
  const fs::path yaml = checkpoint.parent_path() / "pretrain.yaml";
  std::error_code ec;
  if (!fs::is_regular_file(yaml, ec)) return c;
  try {
    const YAML::Node n = YAML::LoadFile(yaml.string());
    if (n["arch"]) c.arch = n["arch"].as<std::string>();
    if (n["image_size"]) c.image_size = n["image_size"].as<int64_t>();
    if (n["windows"]) c.windows = n["windows"].as<std::vector<std::string>>();
    if (n["window"]) c.windows = {n["window"].as<std::string>()};  // before `windows`
  } catch (const YAML::Exception& e) {
    spdlog::warn("{}: unreadable ({}); not using it for the image size", yaml.string(), e.what());
  }
  return c;
}

// A ViT's input size from its position table [1, 1 + (S/16)^2, D]; 0 when
// there is none or it is not square.
int64_t image_size_from_pos_embed(const models::StateDict& sd) {
  auto it = sd.find("pos_embed");
  if (it == sd.end() || it->second.dim() != 3) return 0;
  const int64_t tokens = it->second.size(1) - 1;
  const auto grid = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(tokens))));
  return grid * grid == tokens ? grid * 16 : 0;
}

}  // namespace

LoadedEncoder load_encoder(const fs::path& checkpoint, const std::string& arch, int64_t image_size) {
  const std::string file = checkpoint.string();
  std::error_code ec;
  if (!fs::is_regular_file(checkpoint, ec)) throw NotFound(fmt::format("checkpoint {} does not exist", file));
  LoadedEncoder enc;
  enc.checkpoint_sha256 = sha256_file(checkpoint);

  const storage::PyValue root = storage::load_torch_file(checkpoint);
  if (!root.is_dict()) {
    throw CorruptData(fmt::format("{}: holds a {}, expected a MoCo checkpoint or a state dict", file,
                                  root.kind_name()));
  }
  storage::TensorDict weights;
  const storage::PyValue* ckpt_arch = root.find(std::string("arch"));
  const storage::PyValue* inner = root.find(std::string("state_dict"));
  if (inner != nullptr && inner->is_dict()) {
    weights = storage::tensor_dict_from_py(*inner, file + ": 'state_dict'");
    const storage::PyValue* epoch = root.find(std::string("epoch"));
    enc.kind = epoch ? fmt::format("MoCo checkpoint (epoch {})", epoch->as_int()) : "checkpoint";
  } else {
    weights = storage::tensor_dict_from_py(root, file);
    enc.kind = "state dict";
  }
  // Keys as saved from DDP carry "module."; a MoCo model nests the encoder.
  models::StateDict all;
  for (const auto& item : weights) all[item.key()] = item.value();
  bool ddp = !all.empty();
  for (const auto& [k, v] : all) ddp = ddp && k.rfind("module.", 0) == 0;
  if (ddp) all = models::sub_state_dict(all, "module.");
  const bool moco = std::any_of(all.begin(), all.end(),
                                [](const auto& kv) { return kv.first.rfind("base_encoder.", 0) == 0; });

  enc.arch = arch;
  if (ckpt_arch != nullptr && ckpt_arch->kind() == storage::PyValue::Kind::kString) {
    const std::string& saved = ckpt_arch->as_string();
    if (!arch.empty() && arch != saved) {
      throw InvalidArgument(fmt::format("{} was trained as '{}', but --arch {} was given; drop --arch or pass {}",
                                        file, saved, arch, saved));
    }
    enc.arch = saved;
  }
  const RunConfig run = run_config_beside(checkpoint);
  enc.windows = run.windows;
  if (const storage::PyValue* rc = root.find(std::string("radclear")); rc != nullptr && rc->is_dict()) {
    if (const storage::PyValue* w = rc->find("windows"); w != nullptr) {
      enc.windows.clear();
      for (const auto& item : w->items()) enc.windows.push_back(item.as_string());
    }
  }
  if (enc.arch.empty()) enc.arch = run.arch;
  if (enc.arch.empty()) {
    throw InvalidArgument(fmt::format("{} is a bare state dict without an architecture name: pass --arch "
                                      "(e.g. vit_small, mambaout_femto)",
                                      file));
  }
  if (!models::builtin_backbones().contains(enc.arch)) {
    models::builtin_backbones().description(enc.arch);  // throws, listing the known names
  }

  models::StateDict encoder = moco ? models::sub_state_dict(all, "base_encoder.") : all;
  enc.image_size = image_size > 0 ? image_size : run.image_size > 0 ? run.image_size : image_size_from_pos_embed(encoder);
  if (enc.image_size <= 0) enc.image_size = 224;

  models::BackboneOptions options;
  options.image_size = enc.image_size;
  options.num_classes = 0;  // Identity head: the encoder ends at forward_features
  enc.model = models::make_backbone(enc.arch, options);
  const std::string head = enc.model->info().head_name + ".";
  for (auto it = encoder.begin(); it != encoder.end();) {
    it = it->first.rfind(head, 0) == 0 ? encoder.erase(it) : std::next(it);
  }
  models::load_state_dict_strict(*enc.model, encoder, fmt::format("{} ({} as {})", file, enc.kind, enc.arch));
  enc.model->eval();
  for (auto& p : enc.model->parameters()) p.set_requires_grad(false);
  enc.feature_dim = enc.model->info().feature_dim;
  return enc;
}

}  // namespace radclear::worker
