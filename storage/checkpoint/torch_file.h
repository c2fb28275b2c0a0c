#pragma once
// torch.save / torch.load file format (PyTorch's zip container):
// `archive/data.pkl` (pickle, see pickle.h), one `archive/data/<key>` record
// per storage (raw little-endian bytes, 64-byte aligned) and
// `archive/version`. Only the zip format (PyTorch >= 1.6 default) is read;
// the legacy pre-1.6 format is named in the error.
#include <filesystem>

#include "storage/checkpoint/py_value.h"

namespace radclear::storage {

// Reads a file written by Python torch.save (or save_torch_file). Tensors
// land on the CPU whatever device they were saved from. Throws NotFound when
// the file does not exist and CorruptData naming the file for anything
// malformed (not a zip, truncated, missing record, bad pickle).
PyValue load_torch_file(const std::filesystem::path& path);

// Writes `value` so that Python's torch.load reads it
// back. Atomic: temp file beside `path`, fsync, rename. Throws IoError
// naming the path.
void save_torch_file(const std::filesystem::path& path, const PyValue& value);

}  // namespace radclear::storage
