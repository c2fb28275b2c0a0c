#pragma once
// torch.save / torch.load file format (PyTorch's zip container):
// `archive/data.pkl` (pickle, see pickle.h), one `archive/data/<key>` record
// per storage (raw little-endian bytes, 64-byte aligned) and
// `archive/version`. radclear adds `archive/radclear_record_sha256`: the
// SHA-256 and size of data.pkl and of every storage record, checked when the
// file is read (PyTorch's own zip reader skips the zip's CRC32 checks, so a
// damaged checkpoint would otherwise load). Python ignores that record;
// files without it are checked against the zip's CRC32 instead. Only
// the zip format (PyTorch >= 1.6 default) is read; the legacy pre-1.6 format
// is named in the error.
#include <filesystem>

#include "storage/checkpoint/py_value.h"

namespace radclear::storage {

// The record (inside the archive directory) holding the record digests.
inline constexpr const char* kTorchFileDigestRecord = "radclear_record_sha256";

// Reads a file written by Python torch.save (or save_torch_file). Tensors
// land on the CPU whatever device they were saved from. Each record read is
// checked against the digest record when the file has one (radclear wrote
// it), else against the CRC32 in its zip header (Python wrote it; logged,
// with the count of records that had none). Throws NotFound when the file does not exist and CorruptData naming
// the file for anything malformed (not a zip, truncated, missing record, bad
// pickle) and naming the file and the record for a digest mismatch.
PyValue load_torch_file(const std::filesystem::path& path);

// Writes `value` so that Python's torch.load reads it back, with the digest
// record. Atomic: temp file beside `path`, fsync, rename. Throws IoError
// naming the path.
void save_torch_file(const std::filesystem::path& path, const PyValue& value);

}  // namespace radclear::storage
