#include "storage/checkpoint/torch_file.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>
#include <c10/util/Exception.h>

#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "common/atomic_file.h"
#include "common/check.h"
#include "storage/checkpoint/pickle.h"

namespace radclear::storage {
namespace {

// The magic number that starts the legacy (non-zip) torch.save format.
constexpr unsigned char kLegacyMagic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20};

void check_container(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("{}: cannot open for reading", path.string()));
  unsigned char head[10] = {};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  const auto got = static_cast<size_t>(in.gcount());
  if (got >= 4 && std::memcmp(head, "PK\x03\x04", 4) == 0) return;
  if (got == sizeof head && std::memcmp(head, kLegacyMagic, sizeof head) == 0) {
    throw CorruptData(fmt::format(
        "{}: legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it in Python with "
        "torch.save(torch.load(f), f)",
        path.string()));
  }
  throw CorruptData(fmt::format("{}: not a PyTorch checkpoint (no zip header; {} bytes)", path.string(),
                                std::filesystem::file_size(path)));
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace

PyValue load_torch_file(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) {
    throw NotFound(fmt::format("{}: checkpoint does not exist", path.string()));
  }
  check_container(path);
  const std::string name = path.string();
  try {
    caffe2::serialize::PyTorchStreamReader reader(name);
    if (!reader.hasRecord("data.pkl")) {
      throw CorruptData(fmt::format("{}: zip archive has no data.pkl record (is it a TorchScript file?)", name));
    }
    auto [pkl_ptr, pkl_size] = reader.getRecord("data.pkl");
    const std::string_view pkl(static_cast<const char*>(pkl_ptr.get()), pkl_size);
    auto load_storage = [&](const std::string& key, at::ScalarType dtype, int64_t numel) {
      const std::string record = "data/" + key;
      if (!reader.hasRecord(record)) {
        throw CorruptData(fmt::format("{}: storage record {} is missing", name, record));
      }
      auto [ptr, size] = reader.getRecord(record);
      const size_t want = static_cast<size_t>(numel) * c10::elementSize(dtype);
      if (size < want) {
        throw CorruptData(fmt::format("{}: storage record {} has {} bytes, needs {} ({} x {})", name, record,
                                      size, want, numel, c10::toString(dtype)));
      }
      at::Tensor t = at::empty({numel}, at::TensorOptions().dtype(dtype));
      if (want > 0) std::memcpy(t.data_ptr(), ptr.get(), want);
      return t;
    };
    return unpickle(pkl, load_storage, name + ":data.pkl");
  } catch (const c10::Error& e) {
    // Reader errors (bad central directory, CRC mismatch, truncation).
    throw CorruptData(fmt::format("{}: unreadable PyTorch zip archive: {}", name, first_line(e.what())));
  }
}

void save_torch_file(const std::filesystem::path& path, const PyValue& value) {
  std::vector<StorageRecord> storages;
  const std::string pkl = pickle(value, &storages);
  AtomicOutputFile out(path, /*binary=*/true);
  std::ostream& stream = out.stream();
  try {
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* buf, size_t n) -> size_t {
      stream.write(static_cast<const char*>(buf), static_cast<std::streamsize>(n));
      return stream ? n : 0;
    });
    writer.writeRecord("data.pkl", pkl.data(), pkl.size());
    for (const auto& s : storages) writer.writeRecord("data/" + s.key, s.data, s.nbytes);
    writer.writeEndOfFile();
  } catch (const c10::Error& e) {
    throw IoError(fmt::format("{}: writing the zip archive failed: {}", out.temp_path().string(),
                              first_line(e.what())));
  }
  if (!stream) throw IoError(fmt::format("{}: write failed", out.temp_path().string()));
  out.commit();
}

}  // namespace radclear::storage
