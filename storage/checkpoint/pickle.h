#pragma once
// The pickle subset that torch.save writes into `data.pkl` (protocol 2, with
// the protocol 3/4 opcodes Python may also emit), read and written without
// Python. LibTorch 1.13's torch::pickle_load cannot read an OrderedDict
// state_dict() nor one-element dicts/lists, hence this.
//
// Reading accepts only these globals and rejects any other with an error
// naming it (nothing is ever imported or executed):
//   collections.OrderedDict, torch._utils._rebuild_tensor_v2,
//   torch._utils._rebuild_parameter, torch.<Float|Double|Half|BFloat16|
//   Long|Int|Short|Char|Byte|Bool>Storage (inside persistent ids).
// BUILD on an OrderedDict (state_dict()'s `_metadata` attribute) is accepted
// and its state dropped.
#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/checkpoint/py_value.h"

namespace radclear::storage {

// Returns storage `key` as a 1-D CPU tensor of `numel` elements of `dtype`
// (torch.save's persistent id ('storage', type, key, location, numel)).
using StorageLoader =
    std::function<at::Tensor(const std::string& key, at::ScalarType dtype, int64_t numel)>;

// Unpickles `data`. Tensors are views (size, stride, offset) into the loaded
// storages, so tensors that shared a storage in Python share it here.
// Throws CorruptData naming `what` and the byte offset on malformed input,
// an unsupported opcode or a forbidden global.
PyValue unpickle(std::string_view data, const StorageLoader& load_storage, const std::string& what);

// One storage the pickle refers to: write `nbytes` bytes at `data` to
// `archive/data/<key>`. `owner` keeps the memory alive.
struct StorageRecord {
  std::string key;
  at::Tensor owner;
  const void* data = nullptr;
  size_t nbytes = 0;
};

// Pickles `value` (protocol 2) the way torch.save does: tensors become
// torch._utils._rebuild_tensor_v2 calls on storages referenced by persistent
// id; each distinct storage is appended to `storages` once (keys "0", "1",
// ...), whole, so views keep their offset and strides. Tensors are written
// detached (requires_grad False) and moved to CPU first. Throws
// InvalidArgument for values that cannot be written (a global, an undefined
// tensor, a dtype without a storage type).
std::string pickle(const PyValue& value, std::vector<StorageRecord>* storages);

// "torch.FloatStorage" <-> kFloat etc.; throws InvalidArgument otherwise.
at::ScalarType storage_dtype(const std::string& storage_type);
std::string storage_type_name(at::ScalarType dtype);

}  // namespace radclear::storage
