#include "storage/checkpoint/torch_file.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>
#include <c10/util/Exception.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <zlib.h>

#include "common/atomic_file.h"
#include "common/check.h"
#include "common/sha256.h"
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

// The digest record: a header line, then "<sha256> <bytes> <record>" for
// data.pkl and every storage record. Python's torch.load ignores records it
// does not reference, so the file stays a plain torch.save archive.
constexpr const char* kDigestHeader = "radclear record digest v1 sha256";

struct RecordDigest {
  std::string sha256;
  size_t bytes = 0;
};
using DigestTable = std::map<std::string, RecordDigest>;

std::string format_digest(const std::vector<std::pair<std::string, std::string_view>>& records) {
  std::string out = std::string(kDigestHeader) + "\n";
  for (const auto& [name, bytes] : records) out += fmt::format("{} {} {}\n", sha256_hex(bytes), bytes.size(), name);
  return out;
}

// Throws CorruptData when the digest record itself is damaged.
DigestTable parse_digest(std::string_view text, const std::string& file) {
  std::istringstream in{std::string(text)};
  std::string line;
  auto damaged = [&](const std::string& why) {
    return CorruptData(fmt::format("{}: record {} is damaged ({}); the checkpoint cannot be trusted", file,
                                   kTorchFileDigestRecord, why));
  };
  if (!std::getline(in, line) || line != kDigestHeader) throw damaged("bad header");
  DigestTable table;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    RecordDigest d;
    std::string name;
    if (!(fields >> d.sha256 >> d.bytes >> name) || d.sha256.size() != 64) throw damaged("bad line '" + line + "'");
    table[name] = d;
  }
  if (table.count("data.pkl") == 0) throw damaged("no entry for data.pkl");
  return table;
}

// Checks one record against the digest; a no-op without one.
void check_record(const std::optional<DigestTable>& digest, const std::string& file, const std::string& record,
                  std::string_view bytes) {
  if (!digest) return;
  const auto it = digest->find(record);
  if (it == digest->end()) {
    throw CorruptData(fmt::format("{}: record {} is not in the archive's digest ({})", file, record,
                                  kTorchFileDigestRecord));
  }
  if (it->second.bytes != bytes.size()) {
    throw CorruptData(fmt::format("{}: record {} has {} bytes, its digest says {}: the file is damaged", file, record,
                                  bytes.size(), it->second.bytes));
  }
  const std::string got = sha256_hex(bytes);
  if (got != it->second.sha256) {
    throw CorruptData(fmt::format("{}: record {} fails its SHA-256 check (stored {}, read {}): the file is damaged",
                                  file, record, it->second.sha256.substr(0, 16), got.substr(0, 16)));
  }
}

// The CRC32 that the zip stores for a record, for files without a digest
// (PyTorch's zip reader does not check it). The local header sits before the
// record's data: "PK\3\4", 26 bytes, the name, then an extra field that
// PyTorch pads for alignment. PyTorch's writer sets flag bit 3: the CRC is in
// the data descriptor right after the data ("PK\7\8" optional, then CRC32).
class ZipCrc {
 public:
  explicit ZipCrc(const std::filesystem::path& path) : in_(path, std::ios::binary) {}

  // nullopt when the local header cannot be found.
  std::optional<uint32_t> of(size_t data_offset, size_t data_size) {
    constexpr size_t kFixed = 30, kWindow = kFixed + 1024;  // names and padding are short
    const size_t start = data_offset > kWindow ? data_offset - kWindow : 0;
    const std::string head = read(start, data_offset - start);
    for (size_t p = head.size() >= kFixed ? head.size() - kFixed + 1 : 0; p-- > 0;) {
      if (head.compare(p, 4, "PK\x03\x04") != 0) continue;
      if (p + kFixed + le(head, p + 26, 2) + le(head, p + 28, 2) != head.size()) continue;
      if ((le(head, p + 6, 2) & 0x8) == 0) return le(head, p + 14, 4);
      const std::string desc = read(data_offset + data_size, 8);
      if (desc.size() != 8) return std::nullopt;
      return le(desc, desc.compare(0, 4, "PK\x07\x08") == 0 ? 4 : 0, 4);
    }
    return std::nullopt;
  }

 private:
  static uint32_t le(const std::string& b, size_t at, int bytes) {
    uint32_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<size_t>(i)]);
    return v;
  }
  std::string read(size_t offset, size_t n) {
    std::string buf(n, '\0');
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(offset));
    in_.read(buf.data(), static_cast<std::streamsize>(n));
    buf.resize(static_cast<size_t>(std::max<std::streamsize>(in_.gcount(), 0)));
    return buf;
  }
  std::ifstream in_;
};

// Checks a record of a digest-less file against its zip CRC32; counts the
// records that could not be checked.
void check_record_crc(caffe2::serialize::PyTorchStreamReader& reader, ZipCrc& crcs, const std::string& file,
                      const std::string& record, std::string_view bytes, int* unchecked) {
  const std::optional<uint32_t> stored = crcs.of(reader.getRecordOffset(record), bytes.size());
  if (!stored) {
    ++*unchecked;
    return;
  }
  const auto got = static_cast<uint32_t>(
      ::crc32_z(::crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
  if (got != *stored) {
    throw CorruptData(fmt::format("{}: record {} fails the zip's CRC32 check (stored {:08x}, read {:08x}): the file is "
                                  "damaged",
                                  file, record, *stored, got));
  }
}

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
    std::optional<DigestTable> digest;
    if (reader.hasRecord(kTorchFileDigestRecord)) {
      auto [ptr, size] = reader.getRecord(kTorchFileDigestRecord);
      digest = parse_digest(std::string_view(static_cast<const char*>(ptr.get()), size), name);
      for (const auto& entry : *digest) {
        if (!reader.hasRecord(entry.first)) {
          throw CorruptData(fmt::format("{}: record {} is listed in the digest but missing", name, entry.first));
        }
      }
    }
    // Python's torch.save writes no digest: such a file is checked against
    // the CRC32 of its zip headers, which PyTorch's reader skips.
    ZipCrc crcs(path);
    int unchecked = 0;
    auto check = [&](const std::string& record, std::string_view bytes) {
      if (digest) {
        check_record(digest, name, record, bytes);
      } else {
        check_record_crc(reader, crcs, name, record, bytes, &unchecked);
      }
    };
    auto [pkl_ptr, pkl_size] = reader.getRecord("data.pkl");
    const std::string_view pkl(static_cast<const char*>(pkl_ptr.get()), pkl_size);
    check("data.pkl", pkl);
    auto load_storage = [&](const std::string& key, at::ScalarType dtype, int64_t numel) {
      const std::string record = "data/" + key;
      if (!reader.hasRecord(record)) {
        throw CorruptData(fmt::format("{}: storage record {} is missing", name, record));
      }
      auto [ptr, size] = reader.getRecord(record);
      check(record, std::string_view(static_cast<const char*>(ptr.get()), size));
      const size_t want = static_cast<size_t>(numel) * c10::elementSize(dtype);
      if (size < want) {
        throw CorruptData(fmt::format("{}: storage record {} has {} bytes, needs {} ({} x {})", name, record,
                                      size, want, numel, c10::toString(dtype)));
      }
      at::Tensor t = at::empty({numel}, at::TensorOptions().dtype(dtype));
      if (want > 0) std::memcpy(t.data_ptr(), ptr.get(), want);
      return t;
    };
    PyValue value = unpickle(pkl, load_storage, name + ":data.pkl");
    if (!digest) {
      spdlog::info("{}: no radclear record digest (written by Python?); records checked against the zip's CRC32{}",
                   name, unchecked == 0 ? "" : fmt::format(", {} without a CRC32 read unverified", unchecked));
    }
    return value;
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
  int write_errno = 0;  // the first failed write's cause (EFBIG, ENOSPC, EIO)
  // The temporary file is removed by `out` when this throws; `path` is untouched.
  auto failed = [&](const std::string& what) {
    return IoError(fmt::format("{}: writing the checkpoint failed: {}{}; the previous file, if any, is untouched",
                               path.string(), write_errno != 0 ? std::strerror(write_errno) : "unknown cause",
                               what.empty() ? "" : " (" + what + ")"));
  };
  try {
    // After a failed write the rest is discarded and reported below: a short
    // count would make the writer throw, and its destructor then writes the
    // end of the archive again and throws once more (std::terminate).
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* buf, size_t n) -> size_t {
      if (!stream) return n;
      errno = 0;
      stream.write(static_cast<const char*>(buf), static_cast<std::streamsize>(n));
      if (!stream) write_errno = errno;
      return n;
    });
    std::vector<std::pair<std::string, std::string_view>> records{{"data.pkl", pkl}};
    for (const auto& s : storages) {
      records.emplace_back("data/" + s.key, std::string_view(static_cast<const char*>(s.data), s.nbytes));
    }
    for (const auto& [record, bytes] : records) writer.writeRecord(record, bytes.data(), bytes.size());
    const std::string digest = format_digest(records);
    writer.writeRecord(kTorchFileDigestRecord, digest.data(), digest.size());
    writer.writeEndOfFile();
  } catch (const c10::Error& e) {
    throw failed(first_line(e.what()));
  }
  if (!stream) throw failed("");
  out.commit();
}

}  // namespace radclear::storage
