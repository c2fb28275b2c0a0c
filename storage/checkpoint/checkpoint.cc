#include "storage/checkpoint/checkpoint.h"

#include <fmt/format.h>

#include "common/check.h"
#include "stages/checkpoint_name.h"
#include "storage/checkpoint/torch_file.h"

namespace radclear::storage {
namespace {

constexpr const char* kDdpPrefix = "module.";

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// Drops "module." from every key when every key has it (DDP-wrapped model).
TensorDict strip_ddp_prefix(const TensorDict& state) {
  for (const auto& item : state) {
    if (!starts_with(item.key(), kDdpPrefix)) return state;
  }
  return select_prefix(state, kDdpPrefix);
}

}  // namespace

std::string moco_checkpoint_file_name(const std::string& arch, const std::string& name, int64_t epoch) {
  return stages::moco_checkpoint_file_name(arch, name, epoch);  // one definition, torch-free
}

PyValue tensor_dict_to_py(const TensorDict& state, const std::string& key_prefix) {
  PyValue d = PyValue::dict(/*ordered=*/true);
  for (const auto& item : state) {
    d.set(PyValue::string(key_prefix + item.key()), PyValue::tensor(item.value()));
  }
  return d;
}

TensorDict tensor_dict_from_py(const PyValue& value, const std::string& what) {
  if (!value.is_dict()) {
    throw CorruptData(fmt::format("{}: expected a dict of tensors, found {}", what, value.repr()));
  }
  TensorDict out;
  for (size_t i = 0; i < value.size(); ++i) {
    const PyValue& k = value.keys()[i];
    const PyValue& v = value.values()[i];
    if (k.kind() != PyValue::Kind::kString) {
      throw CorruptData(fmt::format("{}: state dict key {} is not a str", what, k.repr()));
    }
    if (v.kind() != PyValue::Kind::kTensor) {
      throw CorruptData(fmt::format("{}: '{}' is a {}, not a tensor", what, k.as_string(), v.kind_name()));
    }
    out.insert(k.as_string(), v.as_tensor());
  }
  return out;
}

TensorDict select_prefix(const TensorDict& state, const std::string& prefix,
                         const std::vector<std::string>& exclude) {
  TensorDict out;
  for (const auto& item : state) {
    if (!starts_with(item.key(), prefix)) continue;
    const std::string rest = item.key().substr(prefix.size());
    bool skip = false;
    for (const auto& e : exclude) skip = skip || starts_with(rest, e);
    if (!skip) out.insert(rest, item.value());
  }
  return out;
}

void save_moco_checkpoint(const std::filesystem::path& path, const MocoCheckpoint& c) {
  if (c.arch.empty()) throw InvalidArgument(fmt::format("{}: checkpoint without arch", path.string()));
  PyValue root = PyValue::dict();
  root.set("epoch", PyValue::integer(c.epoch));
  root.set("arch", PyValue::string(c.arch));
  root.set("state_dict", tensor_dict_to_py(c.state_dict, kDdpPrefix));
  root.set("optimizer", c.optimizer);
  root.set("scaler", c.scaler);
  root.set("radclear", c.radclear);
  save_torch_file(path, root);
}

MocoCheckpoint load_moco_checkpoint(const std::filesystem::path& path) {
  const std::string name = path.string();
  const PyValue root = load_torch_file(path);
  if (!root.is_dict()) {
    throw CorruptData(fmt::format("{}: checkpoint is a {}, expected a dict", name, root.kind_name()));
  }
  auto field = [&](const char* key) -> const PyValue& {
    const PyValue* v = root.find(std::string(key));
    if (v == nullptr) throw CorruptData(fmt::format("{}: checkpoint has no '{}' entry", name, key));
    return *v;
  };
  MocoCheckpoint c;
  const PyValue& epoch = field("epoch");
  const PyValue& arch = field("arch");
  if (epoch.kind() != PyValue::Kind::kInt || arch.kind() != PyValue::Kind::kString) {
    throw CorruptData(fmt::format("{}: 'epoch' ({}) must be an int and 'arch' ({}) a str", name, epoch.repr(),
                                  arch.repr()));
  }
  c.epoch = epoch.as_int();
  c.arch = arch.as_string();
  c.state_dict = strip_ddp_prefix(tensor_dict_from_py(field("state_dict"), name + ": 'state_dict'"));
  if (const PyValue* v = root.find(std::string("optimizer"))) c.optimizer = *v;
  if (const PyValue* v = root.find(std::string("scaler"))) c.scaler = *v;
  if (const PyValue* v = root.find(std::string("radclear"))) c.radclear = *v;
  return c;
}

TensorDict load_state_dict_file(const std::filesystem::path& path) {
  const std::string name = path.string();
  const PyValue root = load_torch_file(path);
  if (!root.is_dict()) {
    throw CorruptData(fmt::format("{}: holds a {}, expected a state dict or a checkpoint dict", name,
                                  root.kind_name()));
  }
  const PyValue* inner = root.find(std::string("state_dict"));
  if (inner != nullptr && inner->is_dict()) {
    return strip_ddp_prefix(tensor_dict_from_py(*inner, name + ": 'state_dict'"));
  }
  return strip_ddp_prefix(tensor_dict_from_py(root, name));
}

}  // namespace radclear::storage
