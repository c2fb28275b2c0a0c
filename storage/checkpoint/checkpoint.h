#pragma once
// radclear's MoCo checkpoints in the layout Python CLEAR / MoCo v3 write, so
// either side reads the other's:
//
//   torch.load(f) == {'epoch': int, 'arch': str,
//                     'state_dict': OrderedDict('module.base_encoder...',
//                                  'module.momentum_encoder...', 'module.predictor...'),
//                     'optimizer': optimizer.state_dict(), 'scaler': ... or None,
//                     'radclear': {...}}
//
// File name: {arch}-moco-lecl-1-{name}-checkpoint_{epoch:04d}.pth.tar.
#include <torch/ordered_dict.h>

#include <filesystem>
#include <string>

#include "storage/checkpoint/py_value.h"

namespace radclear::storage {

// Ordered name -> tensor map (what state_dict() holds).
using TensorDict = torch::OrderedDict<std::string, at::Tensor>;

// "{arch}-moco-lecl-1-{name}-checkpoint_{epoch:04d}.pth.tar"; throws
// InvalidArgument for an empty arch/name, a '/' in them or a negative epoch.
// Defined once, torch-free, in stages/checkpoint_name.h (the coordinator
// names checkpoints too); this forwards to it.
std::string moco_checkpoint_file_name(const std::string& arch, const std::string& name, int64_t epoch);

struct MocoCheckpoint {
  // Epochs completed (Python stores epoch + 1 after epoch `epoch`).
  int64_t epoch = 0;
  std::string arch;
  // Model keys WITHOUT the DDP prefix ("base_encoder.head.0.weight");
  // "module." is added on save and removed on load.
  TensorDict state_dict;
  // optimizer.state_dict() in Python's layout ({'state': {...}, 'param_groups': [...]}).
  PyValue optimizer;
  // GradScaler state (None when not using AMP).
  PyValue scaler;
  // radclear's own resumable state (a dict; None when absent).
  PyValue radclear;
};

// Atomic write (temp + fsync + rename). Throws IoError / InvalidArgument.
void save_moco_checkpoint(const std::filesystem::path& path, const MocoCheckpoint& checkpoint);

// Reads a MoCo checkpoint written by Python or by save_moco_checkpoint.
// Throws NotFound / CorruptData naming the file and the missing field.
MocoCheckpoint load_moco_checkpoint(const std::filesystem::path& path);

// Weights from either a MoCo checkpoint (its 'state_dict') or a bare
// state dict file (torch.save(model.state_dict())), with a leading
// "module." removed from every key when all keys carry it. Throws
// CorruptData naming the file when it holds neither.
TensorDict load_state_dict_file(const std::filesystem::path& path);

// Entries of `state` under `prefix` with the prefix removed, skipping keys
// that start with prefix + any of `exclude` (e.g. select_prefix(sd,
// "base_encoder.", {"head."}) gives a bare encoder as CLEAR's extraction does).
TensorDict select_prefix(const TensorDict& state, const std::string& prefix,
                         const std::vector<std::string>& exclude = {});

// TensorDict <-> Python OrderedDict of tensors.
PyValue tensor_dict_to_py(const TensorDict& state, const std::string& key_prefix = "");
// Throws CorruptData naming `what` when a value is not a tensor or a key not a str.
TensorDict tensor_dict_from_py(const PyValue& value, const std::string& what);

}  // namespace radclear::storage
