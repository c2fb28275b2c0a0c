#include "storage/feature_store.h"

#include <hdf5.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <utility>

#include "common/atomic_file.h"
#include "common/check.h"
#include "common/version.h"

namespace radclear::storage {
namespace fs = std::filesystem;

namespace {

constexpr int kFormatVersion = 1;

std::mutex& hdf5_mutex() {
  static std::mutex mu;
  return mu;
}

// Holds the HDF5 lock and silences HDF5's own error printing for the scope;
// failures surface as our exceptions with the file and dataset named.
class Hdf5Session {
 public:
  Hdf5Session() : lock_(hdf5_mutex()) {
    H5Eget_auto2(H5E_DEFAULT, &old_func_, &old_data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~Hdf5Session() { H5Eset_auto2(H5E_DEFAULT, old_func_, old_data_); }
  Hdf5Session(const Hdf5Session&) = delete;
  Hdf5Session& operator=(const Hdf5Session&) = delete;

 private:
  std::lock_guard<std::mutex> lock_;
  H5E_auto2_t old_func_ = nullptr;
  void* old_data_ = nullptr;
};

// Owns one HDF5 identifier.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer close) : id_(id), close_(close) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, -1)), close_(o.close_) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, -1);
      close_ = o.close_;
    }
    return *this;
  }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset() {
    if (id_ >= 0 && close_ != nullptr) close_(id_);
    id_ = -1;
  }

 private:
  hid_t id_ = -1;
  Closer close_ = nullptr;
};

hid_t checked(hid_t id, const fs::path& path, const std::string& what) {
  if (id < 0) throw IoError(fmt::format("{}: HDF5 failed to {}", path.string(), what));
  return id;
}
void checked_status(herr_t rc, const fs::path& path, const std::string& what) {
  if (rc < 0) throw IoError(fmt::format("{}: HDF5 failed to {}", path.string(), what));
}

// IEEE half as h5py / numpy create it.
Handle half_type() {
  hid_t t = H5Tcopy(H5T_IEEE_F32LE);
  H5Tset_fields(t, 15, 10, 5, 0, 10);
  H5Tset_size(t, 2);
  H5Tset_ebias(t, 15);
  return Handle(t, H5Tclose);
}

Handle vlen_string_type() {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return Handle(t, H5Tclose);
}

// ---- writing ----

void write_string_attr(hid_t loc, const char* name, const std::string& value, const fs::path& path) {
  Handle type = vlen_string_type();
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(checked(H5Acreate2(loc, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), path,
                      fmt::format("create attribute '{}'", name)),
              H5Aclose);
  const char* p = value.c_str();
  checked_status(H5Awrite(attr.get(), type.get(), &p), path, fmt::format("write attribute '{}'", name));
}

void write_string_array_attr(hid_t loc, const char* name, const std::vector<std::string>& values,
                             const fs::path& path) {
  Handle type = vlen_string_type();
  const hsize_t n = values.size();
  Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  Handle attr(checked(H5Acreate2(loc, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), path,
                      fmt::format("create attribute '{}'", name)),
              H5Aclose);
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  if (n > 0) {
    checked_status(H5Awrite(attr.get(), type.get(), ptrs.data()), path, fmt::format("write attribute '{}'", name));
  }
}

void write_int_attr(hid_t loc, const char* name, int64_t value, const fs::path& path) {
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(checked(H5Acreate2(loc, name, H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), path,
                      fmt::format("create attribute '{}'", name)),
              H5Aclose);
  checked_status(H5Awrite(attr.get(), H5T_NATIVE_INT64, &value), path, fmt::format("write attribute '{}'", name));
}

void write_dataset(hid_t file, const char* name, hid_t file_type, hid_t mem_type, const std::vector<hsize_t>& dims,
                   const void* data, const fs::path& path) {
  Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  // No modification times in the object headers: the same features give
  // the same bytes whenever they are written (a requeued shard job's files
  // equal an uninterrupted run's).
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  checked_status(H5Pset_obj_track_times(dcpl.get(), false), path, "disable time tracking");
  Handle ds(checked(H5Dcreate2(file, name, file_type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT), path,
                    fmt::format("create dataset '{}'", name)),
            H5Dclose);
  bool empty = false;
  for (auto d : dims) empty |= d == 0;
  if (!empty) {
    checked_status(H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), path,
                   fmt::format("write dataset '{}'", name));
  }
}

// The file's bytes, built in memory (HDF5's core driver, no backing file).
// HDF5 never writes to disk here: the caller writes the image atomically, so
// a failed write (ENOSPC, EFBIG, EIO) is one error naming the file and the
// cause. (Written through HDF5's own file driver, a failed write left the
// file open inside the library, whose exit handler then crashed on it.)
std::string build_file_image(const fs::path& target, const StudyFeatures& f) {
  Handle fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
  checked_status(H5Pset_obj_track_times(fcpl.get(), false), target, "disable time tracking");  // the root group
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  const size_t bytes = f.feats.size() * sizeof(float) + f.coords.size() * sizeof(int32_t);
  checked_status(H5Pset_fapl_core(fapl.get(), std::max<size_t>(bytes + (64 << 10), 1 << 20), /*backing_store=*/false),
                 target, "use the in-memory file driver");
  Handle file(checked(H5Fcreate(target.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get()), target, "create the file"),
              H5Fclose);
  const hid_t fid = file.get();
  const hsize_t rows = static_cast<hsize_t>(f.rows), dim = static_cast<hsize_t>(f.dim);
  if (f.attrs.dtype == FeatureDtype::kFloat16) {
    std::vector<uint16_t> half(f.feats.size());
    for (size_t i = 0; i < half.size(); ++i) half[i] = float_to_half(f.feats[i]);
    Handle ht = half_type();
    write_dataset(fid, "feats", ht.get(), ht.get(), {rows, dim}, half.data(), target);
  } else {
    write_dataset(fid, "feats", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {rows, dim}, f.feats.data(), target);
  }
  write_dataset(fid, "coords", H5T_STD_I32LE, H5T_NATIVE_INT32, {rows, 2}, f.coords.data(), target);
  {
    Handle st = vlen_string_type();
    std::vector<const char*> ptrs;
    for (const auto& s : f.slice_names) ptrs.push_back(s.c_str());
    write_dataset(fid, "slice_names", st.get(), st.get(), {rows}, ptrs.data(), target);
  }
  write_string_attr(fid, "study_id", f.attrs.study_id, target);
  write_string_attr(fid, "extractor", f.attrs.extractor_arch, target);
  write_string_attr(fid, "checkpoint_path", f.attrs.checkpoint_path, target);
  write_string_attr(fid, "checkpoint_sha256", f.attrs.checkpoint_sha256, target);
  write_string_array_attr(fid, "windows", f.attrs.windows, target);
  write_string_attr(fid, "dtype", feature_dtype_name(f.attrs.dtype), target);
  write_string_attr(fid, "radclear_version",
                    f.attrs.radclear_version.empty() ? std::string(version_string()) : f.attrs.radclear_version,
                    target);
  write_int_attr(fid, "feat_dim", f.dim, target);
  write_int_attr(fid, "format_version", kFormatVersion, target);
  checked_status(H5Fflush(fid, H5F_SCOPE_GLOBAL), target, "flush");
  const ssize_t size = H5Fget_file_image(fid, nullptr, 0);
  if (size < 0) throw IoError(fmt::format("{}: HDF5 failed to size the file image", target.string()));
  std::string image(static_cast<size_t>(size), '\0');
  if (H5Fget_file_image(fid, image.data(), image.size()) != size) {
    throw IoError(fmt::format("{}: HDF5 failed to copy the file image", target.string()));
  }
  return image;
}

// ---- reading ----

bool has_attr(hid_t loc, const char* name) { return H5Aexists(loc, name) > 0; }

std::string read_string_attr(hid_t loc, const char* name, const fs::path& path, bool required = true) {
  if (!has_attr(loc, name)) {
    if (required) throw CorruptData(fmt::format("{}: attribute '{}' is missing", path.string(), name));
    return {};
  }
  Handle attr(checked(H5Aopen(loc, name, H5P_DEFAULT), path, fmt::format("open attribute '{}'", name)), H5Aclose);
  Handle ftype(H5Aget_type(attr.get()), H5Tclose);
  if (H5Tget_class(ftype.get()) != H5T_STRING) {
    throw CorruptData(fmt::format("{}: attribute '{}' is not a string", path.string(), name));
  }
  if (H5Tis_variable_str(ftype.get()) > 0) {
    Handle mtype = vlen_string_type();
    char* p = nullptr;
    checked_status(H5Aread(attr.get(), mtype.get(), &p), path, fmt::format("read attribute '{}'", name));
    std::string out = p ? p : "";
    Handle space(H5Aget_space(attr.get()), H5Sclose);
    H5Dvlen_reclaim(mtype.get(), space.get(), H5P_DEFAULT, &p);
    return out;
  }
  const size_t size = H5Tget_size(ftype.get());
  std::string buf(size, '\0');
  Handle mtype(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(mtype.get(), size);
  checked_status(H5Aread(attr.get(), mtype.get(), buf.data()), path, fmt::format("read attribute '{}'", name));
  buf.resize(std::strlen(buf.c_str()));
  return buf;
}

std::vector<std::string> read_string_array_attr(hid_t loc, const char* name, const fs::path& path) {
  if (!has_attr(loc, name)) return {};
  Handle attr(checked(H5Aopen(loc, name, H5P_DEFAULT), path, fmt::format("open attribute '{}'", name)), H5Aclose);
  Handle ftype(H5Aget_type(attr.get()), H5Tclose);
  Handle space(H5Aget_space(attr.get()), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (H5Tget_class(ftype.get()) != H5T_STRING || H5Tis_variable_str(ftype.get()) <= 0) {
    throw CorruptData(fmt::format("{}: attribute '{}' must be an array of variable-length strings", path.string(),
                                  name));
  }
  std::vector<char*> ptrs(static_cast<size_t>(n), nullptr);
  std::vector<std::string> out;
  if (n == 0) return out;
  Handle mtype = vlen_string_type();
  checked_status(H5Aread(attr.get(), mtype.get(), ptrs.data()), path, fmt::format("read attribute '{}'", name));
  for (char* p : ptrs) out.emplace_back(p ? p : "");
  H5Dvlen_reclaim(mtype.get(), space.get(), H5P_DEFAULT, ptrs.data());
  return out;
}

Handle open_dataset(hid_t file, const char* name, const fs::path& path) {
  if (H5Lexists(file, name, H5P_DEFAULT) <= 0) {
    throw CorruptData(fmt::format("{}: dataset '{}' is missing (not a radclear feature file?)", path.string(), name));
  }
  return Handle(checked(H5Dopen2(file, name, H5P_DEFAULT), path, fmt::format("open dataset '{}'", name)), H5Dclose);
}

std::vector<hsize_t> dataset_dims(hid_t ds) {
  Handle space(H5Dget_space(ds), H5Sclose);
  const int nd = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(nd > 0 ? static_cast<size_t>(nd) : 0);
  if (nd > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

Handle open_for_read(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw NotFound(fmt::format("feature file {} does not exist", path.string()));
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) {
    throw CorruptData(fmt::format("{}: not a readable HDF5 file (truncated or still being written?)", path.string()));
  }
  return Handle(id, H5Fclose);
}

struct Shape {
  int64_t rows = 0, dim = 0;
  FeatureDtype dtype = FeatureDtype::kFloat32;
  size_t elem_size = 4;
};

Shape read_shape(hid_t file, const fs::path& path) {
  Handle ds = open_dataset(file, "feats", path);
  const auto dims = dataset_dims(ds.get());
  if (dims.size() != 2) {
    throw CorruptData(fmt::format("{}: dataset 'feats' must be 2-D (rows x D), has {} dimensions", path.string(),
                                  dims.size()));
  }
  Handle type(H5Dget_type(ds.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_FLOAT) {
    throw CorruptData(fmt::format("{}: dataset 'feats' must hold floats", path.string()));
  }
  Shape s;
  s.rows = static_cast<int64_t>(dims[0]);
  s.dim = static_cast<int64_t>(dims[1]);
  s.elem_size = H5Tget_size(type.get());
  s.dtype = s.elem_size == 2 ? FeatureDtype::kFloat16 : FeatureDtype::kFloat32;
  return s;
}

FeatureFileAttrs read_attrs(hid_t file, const fs::path& path, FeatureDtype dtype) {
  FeatureFileAttrs a;
  a.study_id = read_string_attr(file, "study_id", path, false);
  a.extractor_arch = read_string_attr(file, "extractor", path, false);
  a.checkpoint_path = read_string_attr(file, "checkpoint_path", path, false);
  a.checkpoint_sha256 = read_string_attr(file, "checkpoint_sha256", path, false);
  a.windows = read_string_array_attr(file, "windows", path);
  a.radclear_version = read_string_attr(file, "radclear_version", path, false);
  a.dtype = dtype;
  if (a.study_id.empty()) a.study_id = path.stem().string();
  return a;
}

void check_dim(const Shape& s, int64_t expected_dim, const fs::path& path) {
  if (expected_dim > 0 && s.dim != expected_dim) {
    throw InvalidArgument(fmt::format("{}: features are {} wide, expected {} (features from another extractor?)",
                                      path.string(), s.dim, expected_dim));
  }
}

}  // namespace

const char* feature_dtype_name(FeatureDtype dtype) {
  return dtype == FeatureDtype::kFloat16 ? "float16" : "float32";
}

FeatureDtype parse_feature_dtype(const std::string& name) {
  if (name == "float32" || name == "f4" || name == "fp32") return FeatureDtype::kFloat32;
  if (name == "float16" || name == "f2" || name == "fp16" || name == "half") return FeatureDtype::kFloat16;
  throw InvalidArgument(fmt::format("unknown feature dtype '{}'; use float32 or float16", name));
}

fs::path feature_file_path(const fs::path& dir, const std::string& study_id) {
  if (study_id.empty() || study_id.find('/') != std::string::npos || study_id == "." || study_id == "..") {
    throw InvalidArgument(fmt::format("study id '{}' cannot name a feature file", study_id));
  }
  return dir / (study_id + ".h5");
}

void write_study_features(const fs::path& path, const StudyFeatures& f) {
  const auto n = static_cast<size_t>(f.rows);
  if (f.rows < 0 || f.dim <= 0 || f.feats.size() != n * static_cast<size_t>(f.dim) || f.coords.size() != 2 * n ||
      f.slice_names.size() != n) {
    throw InvalidArgument(fmt::format(
        "{}: inconsistent features for study '{}': rows {} dim {}, feats {} values, coords {}, slice_names {}",
        path.string(), f.attrs.study_id, f.rows, f.dim, f.feats.size(), f.coords.size(), f.slice_names.size()));
  }
  for (size_t r = 0; r < n; ++r) {
    const int32_t w = f.coords[2 * r + 1];
    if (!f.attrs.windows.empty() && (w < 0 || static_cast<size_t>(w) >= f.attrs.windows.size())) {
      throw InvalidArgument(fmt::format("{}: row {} has window index {} but only {} windows are named",
                                        path.string(), r, w, f.attrs.windows.size()));
    }
  }
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  std::string image;
  {
    Hdf5Session session;
    image = build_file_image(path, f);
  }
  write_file_atomic(path, image);
}

FeatureFileInfo read_feature_info(const fs::path& path) {
  Hdf5Session session;
  Handle file = open_for_read(path);
  const Shape s = read_shape(file.get(), path);
  return {read_attrs(file.get(), path, s.dtype), s.rows, s.dim};
}

StudyFeatures read_study_features(const fs::path& path, int64_t expected_dim) {
  Hdf5Session session;
  Handle file = open_for_read(path);
  const Shape s = read_shape(file.get(), path);
  check_dim(s, expected_dim, path);
  StudyFeatures f;
  f.attrs = read_attrs(file.get(), path, s.dtype);
  f.rows = s.rows;
  f.dim = s.dim;
  const size_t n = static_cast<size_t>(s.rows * s.dim);
  f.feats.resize(n);
  if (n > 0) {
    Handle ds = open_dataset(file.get(), "feats", path);
    if (s.dtype == FeatureDtype::kFloat16) {
      std::vector<uint16_t> half(n);
      Handle ht = half_type();
      checked_status(H5Dread(ds.get(), ht.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, half.data()), path,
                     "read dataset 'feats'");
      for (size_t i = 0; i < n; ++i) f.feats[i] = half_to_float(half[i]);
    } else {
      checked_status(H5Dread(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, f.feats.data()), path,
                     "read dataset 'feats'");
    }
  }
  // coords: optional for files from other tools; default (row, 0).
  f.coords.assign(static_cast<size_t>(2 * s.rows), 0);
  if (H5Lexists(file.get(), "coords", H5P_DEFAULT) > 0) {
    Handle ds = open_dataset(file.get(), "coords", path);
    const auto dims = dataset_dims(ds.get());
    if (dims.size() != 2 || static_cast<int64_t>(dims[0]) != s.rows || dims[1] != 2) {
      throw CorruptData(fmt::format("{}: dataset 'coords' must be {} x 2, is {}", path.string(), s.rows,
                                    fmt::join(dims, "x")));
    }
    if (s.rows > 0) {
      checked_status(H5Dread(ds.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, f.coords.data()), path,
                     "read dataset 'coords'");
    }
  } else {
    for (int64_t r = 0; r < s.rows; ++r) f.coords[2 * r] = static_cast<int32_t>(r);
  }
  f.slice_names.assign(static_cast<size_t>(s.rows), std::string());
  if (H5Lexists(file.get(), "slice_names", H5P_DEFAULT) > 0 && s.rows > 0) {
    Handle ds = open_dataset(file.get(), "slice_names", path);
    const auto dims = dataset_dims(ds.get());
    Handle type(H5Dget_type(ds.get()), H5Tclose);
    if (dims.size() != 1 || static_cast<int64_t>(dims[0]) != s.rows || H5Tget_class(type.get()) != H5T_STRING ||
        H5Tis_variable_str(type.get()) <= 0) {
      throw CorruptData(fmt::format("{}: dataset 'slice_names' must hold {} variable-length strings", path.string(),
                                    s.rows));
    }
    std::vector<char*> ptrs(static_cast<size_t>(s.rows), nullptr);
    Handle mtype = vlen_string_type();
    checked_status(H5Dread(ds.get(), mtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), path,
                   "read dataset 'slice_names'");
    for (size_t i = 0; i < ptrs.size(); ++i) f.slice_names[i] = ptrs[i] ? ptrs[i] : "";
    Handle space(H5Dget_space(ds.get()), H5Sclose);
    H5Dvlen_reclaim(mtype.get(), space.get(), H5P_DEFAULT, ptrs.data());
  }
  return f;
}

uint16_t float_to_half(float value) {
  uint32_t x;
  std::memcpy(&x, &value, sizeof x);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  uint32_t mant = x & 0x7fffffu;
  const int32_t exp = static_cast<int32_t>((x >> 23) & 0xffu);
  if (exp == 0xff) {  // Inf or NaN (keep NaN quiet and non-zero)
    return static_cast<uint16_t>(sign | 0x7c00u | (mant != 0 ? (0x200u | (mant >> 13)) : 0u));
  }
  const int32_t e = exp - 127 + 15;
  if (e >= 0x1f) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow: Inf
  if (e <= 0) {                                                   // half subnormal or zero
    if (e < -10) return sign;
    mant |= 0x800000u;
    const uint32_t shift = static_cast<uint32_t>(14 - e);
    uint32_t h = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1u);
    const uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (h & 1u))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  uint32_t h = (static_cast<uint32_t>(e) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // may carry into Inf: correct
  return static_cast<uint16_t>(sign | h);
}

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  uint32_t x;
  if (exp == 0) {
    const float v = static_cast<float>(mant) * 5.9604644775390625e-8f;  // mant * 2^-24, exact
    return sign ? -v : v;
  }
  if (exp == 0x1f) {
    x = sign | 0x7f800000u | (mant << 13);
  } else {
    x = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }
  float out;
  std::memcpy(&out, &x, sizeof out);
  return out;
}

}  // namespace radclear::storage
