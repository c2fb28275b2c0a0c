#include "storage/records.h"

#include <cmath>
#include <cstring>

#include <fmt/format.h>

namespace radclear::storage {

const char* split_name(Split s) { return stages::enum_name(s); }

const char* layout_name(Layout l) {
  switch (l) {
    case Layout::kDeepLesion: return "deeplesion";
    case Layout::kClear: return "clear";
    case Layout::kDicom: return "dicom";
    case Layout::kNifti: return "nifti";
  }
  return "?";
}

const char* coarse_type_name(int type) {
  static const char* const kNames[] = {"bone", "abdomen", "mediastinum", "liver",
                                       "lung", "kidney",  "soft_tissue", "pelvis"};
  if (type >= 1 && type <= 8) return kNames[type - 1];
  return "unlabelled";
}

bool LesionRecord::operator==(const LesionRecord& o) const {
  return slice == o.slice && ordinal == o.ordinal && source_line == o.source_line &&
         file_name == o.file_name && patient_index == o.patient_index &&
         study_index == o.study_index && series_id == o.series_id &&
         key_slice_index == o.key_slice_index &&
         measurement_coordinates == o.measurement_coordinates &&
         bounding_box == o.bounding_box && lesion_diameters_pixel == o.lesion_diameters_pixel &&
         normalized_lesion_location == o.normalized_lesion_location &&
         coarse_lesion_type == o.coarse_lesion_type && possibly_noisy == o.possibly_noisy &&
         slice_range == o.slice_range && spacing_mm_px == o.spacing_mm_px &&
         image_size == o.image_size && dicom_windows == o.dicom_windows &&
         patient_gender == o.patient_gender && patient_age == o.patient_age && split == o.split;
}

bool ClinicalLabel::operator==(const ClinicalLabel& o) const {
  if (name != o.name) return false;
  if (std::isnan(value) && std::isnan(o.value)) return true;
  return value == o.value;
}

bool StudyRecord::operator==(const StudyRecord& o) const {
  return study_id == o.study_id && patient_id == o.patient_id && layout == o.layout &&
         split == o.split && patient_age == o.patient_age && slice_count == o.slice_count &&
         lesion_slice_count == o.lesion_slice_count && lesion_count == o.lesion_count &&
         series == o.series && clinical == o.clinical && stratum == o.stratum;
}

// ---- primitive encoding ------------------------------------------------------

void put_be32(std::string* dst, uint32_t v) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
  dst->append(b, 4);
}

void put_be16(std::string* dst, uint16_t v) {
  const char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
  dst->append(b, 2);
}

static uint32_t get_be32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
}

static uint16_t get_be16(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>((u[0] << 8) | u[1]);
}

namespace {

class Writer {
 public:
  explicit Writer(uint8_t version = kRecordFormatVersion) { out_.push_back(static_cast<char>(version)); }
  void u64(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void i64(int64_t v) { u64((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void f32(float v) {
    char b[4];
    std::memcpy(b, &v, 4);  // little-endian hosts only (x86-64, aarch64)
    out_.append(b, 4);
  }
  void f64(double v) {
    char b[8];
    std::memcpy(b, &v, 8);
    out_.append(b, 8);
  }
  void str(std::string_view s) {
    u64(s.size());
    out_.append(s.data(), s.size());
  }
  void box(const Box& b) {
    f32(b.x1);
    f32(b.y1);
    f32(b.x2);
    f32(b.y2);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// Reads a value; the first failure sticks and later reads return zeros, so
// decoders read every field and check ok() once.
class Reader {
 public:
  // Accepts format versions kRecordFormatVersion..max_version.
  Reader(std::string_view in, const char* kind, uint8_t max_version = kRecordFormatVersion)
      : in_(in), kind_(kind) {
    version_ = u8();
    if (ok_ && (version_ < kRecordFormatVersion || version_ > max_version)) {
      fail(max_version == kRecordFormatVersion
               ? fmt::format("format version {} (this build reads {})", version_, kRecordFormatVersion)
               : fmt::format("format version {} (this build reads {} to {})", version_,
                             kRecordFormatVersion, max_version));
    }
  }
  uint8_t version() const { return version_; }
  uint64_t u64() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!need(1)) return 0;
      const auto b = static_cast<unsigned char>(in_[0]);
      in_.remove_prefix(1);
      v |= uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80) == 0) return v;
    }
    fail("varint longer than 10 bytes");
    return 0;
  }
  int64_t i64() {
    const uint64_t u = u64();
    return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  uint8_t u8() {
    if (!need(1)) return 0;
    const auto b = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return b;
  }
  float f32() {
    float v = 0;
    if (!need(4)) return 0;
    std::memcpy(&v, in_.data(), 4);
    in_.remove_prefix(4);
    return v;
  }
  double f64() {
    double v = 0;
    if (!need(8)) return 0;
    std::memcpy(&v, in_.data(), 8);
    in_.remove_prefix(8);
    return v;
  }
  std::string str() {
    const uint64_t n = u64();
    if (!need(n)) return {};
    std::string s(in_.substr(0, n));
    in_.remove_prefix(n);
    return s;
  }
  Box box() {
    Box b;
    b.x1 = f32();
    b.y1 = f32();
    b.x2 = f32();
    b.y2 = f32();
    return b;
  }
  // A count of items that each take at least `min_bytes`: bounds the
  // allocation a corrupt count could ask for.
  uint64_t count(size_t min_bytes) {
    const uint64_t n = u64();
    if (ok_ && n * min_bytes > in_.size()) {
      fail(fmt::format("count {} exceeds the {} bytes left", n, in_.size()));
      return 0;
    }
    return n;
  }
  template <typename T>
  T in_range(int64_t v, int64_t lo, int64_t hi, const char* field) {
    if (ok_ && (v < lo || v > hi)) fail(fmt::format("{} = {} outside [{}, {}]", field, v, lo, hi));
    return static_cast<T>(v);
  }
  Status finish() {
    if (ok_ && !in_.empty()) fail(fmt::format("{} trailing bytes", in_.size()));
    if (ok_) return Status::Ok();
    return Status::Corruption(fmt::format("{} record: {}", kind_, error_));
  }

 private:
  bool need(uint64_t n) {
    if (!ok_) return false;
    if (in_.size() < n) {
      fail(fmt::format("truncated (needed {} bytes, {} left)", n, in_.size()));
      return false;
    }
    return true;
  }
  void fail(std::string msg) {
    if (!ok_) return;
    ok_ = false;
    error_ = std::move(msg);
  }
  std::string_view in_;
  const char* kind_;
  uint8_t version_ = 0;
  bool ok_ = true;
  std::string error_;
};

Split split_from(Reader& r, uint64_t v) {
  return static_cast<Split>(r.in_range<uint8_t>(static_cast<int64_t>(v), 0, 3, "split"));
}

}  // namespace

// ---- keys --------------------------------------------------------------------

std::string study_slice_prefix(std::string_view study_id) {
  std::string k;
  k.reserve(study_id.size() + 1);
  k.append(study_id);
  k.push_back('\0');
  return k;
}

std::string slice_key(const SliceId& id) {
  std::string k;
  k.reserve(id.study_id.size() + id.series.size() + id.name.size() + 6);
  k.append(id.study_id);
  k.push_back('\0');
  k.append(id.series);
  k.push_back('\0');
  put_be32(&k, id.slice_number);
  k.append(id.name);
  k.push_back('\0');
  return k;
}

Status parse_slice_key(std::string_view key, SliceId* id, std::string_view* rest) {
  const auto bad = [&](const char* why) {
    return Status::Corruption(fmt::format("slice key \"{}\": {}", key, why));
  };
  const size_t s1 = key.find('\0');
  if (s1 == std::string_view::npos) return bad("no study terminator");
  const size_t s2 = key.find('\0', s1 + 1);
  if (s2 == std::string_view::npos) return bad("no series terminator");
  if (key.size() < s2 + 1 + 4 + 1) return bad("too short for the slice number");
  const size_t s3 = key.find('\0', s2 + 5);
  if (s3 == std::string_view::npos) return bad("no name terminator");
  id->study_id.assign(key.substr(0, s1));
  id->series.assign(key.substr(s1 + 1, s2 - s1 - 1));
  id->slice_number = get_be32(key.data() + s2 + 1);
  id->name.assign(key.substr(s2 + 5, s3 - s2 - 5));
  if (rest) {
    *rest = key.substr(s3 + 1);
  } else if (s3 + 1 != key.size()) {
    return bad("trailing bytes");
  }
  return Status::Ok();
}

std::string lesion_key(const SliceId& slice, uint16_t ordinal) {
  std::string k = slice_key(slice);
  put_be16(&k, ordinal);
  return k;
}

Status parse_lesion_key(std::string_view key, SliceId* slice, uint16_t* ordinal) {
  std::string_view rest;
  Status s = parse_slice_key(key, slice, &rest);
  if (!s.ok()) return s;
  if (rest.size() != 2) {
    return Status::Corruption(fmt::format("lesion key \"{}\": expected a 2-byte ordinal", key));
  }
  *ordinal = get_be16(rest.data());
  return Status::Ok();
}

std::string split_study_key(Split split, std::string_view study_id) {
  std::string k;
  k.push_back(static_cast<char>(split));
  k.append(study_id);
  return k;
}

Status parse_split_study_key(std::string_view key, Split* split, std::string* study_id) {
  if (key.empty() || static_cast<uint8_t>(key[0]) > 3) {
    return Status::Corruption(fmt::format("studies_by_split key \"{}\": bad split byte", key));
  }
  *split = static_cast<Split>(key[0]);
  study_id->assign(key.substr(1));
  return Status::Ok();
}

// ---- slice -------------------------------------------------------------------
// flags: bit 0 lesion. Format 2 (DICOM/NIfTI slices) appends source, frame,
// spacing and thickness; an image-file slice stays format 1, byte for byte.

namespace {
bool scanner_fields_default(const SliceRecord& r) {
  return r.source == SliceSource::kImageFile && r.frame == 0 &&
         r.spacing_mm == std::array<float, 3>{} && r.slice_thickness_mm == 0;
}
}  // namespace

std::string encode_slice(const SliceRecord& r) {
  const bool scanner = !scanner_fields_default(r);
  Writer w(scanner ? kSliceFormatScanner : kRecordFormatVersion);
  w.str(r.rel_path);
  w.u64(r.file_size);
  w.u64(r.width);
  w.u64(r.height);
  w.u8(r.lesion ? 1 : 0);
  w.u64(r.lesion_boxes.size());
  for (const Box& b : r.lesion_boxes) w.box(b);
  if (scanner) {
    w.u8(static_cast<uint8_t>(r.source));
    w.u64(r.frame);
    for (float v : r.spacing_mm) w.f32(v);
    w.f32(r.slice_thickness_mm);
  }
  return w.take();
}

Status decode_slice(std::string_view value, SliceRecord* out) {
  Reader r(value, "slice", kSliceFormatScanner);
  out->rel_path = r.str();
  out->file_size = r.u64();
  out->width = r.in_range<uint16_t>(static_cast<int64_t>(r.u64()), 0, 65535, "width");
  out->height = r.in_range<uint16_t>(static_cast<int64_t>(r.u64()), 0, 65535, "height");
  const uint8_t flags = r.u8();
  out->lesion = (flags & 1) != 0;
  const uint64_t n = r.count(16);
  out->lesion_boxes.resize(n);
  for (auto& b : out->lesion_boxes) b = r.box();
  out->source = SliceSource::kImageFile;
  out->frame = 0;
  out->spacing_mm = {};
  out->slice_thickness_mm = 0;
  if (r.version() == kSliceFormatScanner) {
    out->source = static_cast<SliceSource>(r.in_range<uint8_t>(r.u8(), 0, 2, "source"));
    out->frame = r.in_range<uint32_t>(static_cast<int64_t>(r.u64()), 0, UINT32_MAX, "frame");
    for (float& v : out->spacing_mm) v = r.f32();
    out->slice_thickness_mm = r.f32();
  }
  return r.finish();
}

// ---- lesion ------------------------------------------------------------------

std::string encode_lesion(const LesionRecord& r) {
  Writer w;
  w.i64(r.source_line);
  w.str(r.file_name);
  w.i64(r.patient_index);
  w.i64(r.study_index);
  w.i64(r.series_id);
  w.i64(r.key_slice_index);
  for (double v : r.measurement_coordinates) w.f64(v);
  w.box(r.bounding_box);
  for (double v : r.lesion_diameters_pixel) w.f64(v);
  for (double v : r.normalized_lesion_location) w.f64(v);
  w.i64(r.coarse_lesion_type);
  w.u8(r.possibly_noisy ? 1 : 0);
  for (int32_t v : r.slice_range) w.i64(v);
  for (double v : r.spacing_mm_px) w.f64(v);
  for (int32_t v : r.image_size) w.i64(v);
  for (double v : r.dicom_windows) w.f64(v);
  w.u8(static_cast<uint8_t>(r.patient_gender));
  w.i64(r.patient_age);
  w.u8(static_cast<uint8_t>(r.split));
  return w.take();
}

Status decode_lesion(std::string_view value, LesionRecord* out) {
  Reader r(value, "lesion");
  constexpr int64_t kI32Min = INT32_MIN, kI32Max = INT32_MAX;
  out->source_line = r.i64();
  out->file_name = r.str();
  out->patient_index = r.in_range<int32_t>(r.i64(), kI32Min, kI32Max, "patient_index");
  out->study_index = r.in_range<int32_t>(r.i64(), kI32Min, kI32Max, "study_index");
  out->series_id = r.in_range<int32_t>(r.i64(), kI32Min, kI32Max, "series_id");
  out->key_slice_index = r.in_range<int32_t>(r.i64(), kI32Min, kI32Max, "key_slice_index");
  for (double& v : out->measurement_coordinates) v = r.f64();
  out->bounding_box = r.box();
  for (double& v : out->lesion_diameters_pixel) v = r.f64();
  for (double& v : out->normalized_lesion_location) v = r.f64();
  out->coarse_lesion_type = r.in_range<int8_t>(r.i64(), -128, 127, "coarse_lesion_type");
  out->possibly_noisy = r.u8() != 0;
  for (int32_t& v : out->slice_range) v = r.in_range<int32_t>(r.i64(), kI32Min, kI32Max, "slice_range");
  for (double& v : out->spacing_mm_px) v = r.f64();
  for (int32_t& v : out->image_size) v = r.in_range<int32_t>(r.i64(), kI32Min, kI32Max, "image_size");
  for (double& v : out->dicom_windows) v = r.f64();
  out->patient_gender = static_cast<char>(r.u8());
  out->patient_age = r.in_range<int32_t>(r.i64(), kI32Min, kI32Max, "patient_age");
  out->split = split_from(r, r.u8());
  return r.finish();
}

// ---- study -------------------------------------------------------------------

std::string encode_study(const StudyRecord& r) {
  Writer w;
  w.str(r.patient_id);
  w.u8(static_cast<uint8_t>(r.layout));
  w.u8(static_cast<uint8_t>(r.split));
  w.i64(r.patient_age);
  w.u64(r.slice_count);
  w.u64(r.lesion_slice_count);
  w.u64(r.lesion_count);
  w.u64(r.series.size());
  for (const auto& s : r.series) w.str(s);
  w.u64(r.clinical.size());
  for (const auto& c : r.clinical) {
    w.str(c.name);
    w.f32(c.value);
  }
  w.str(r.stratum);
  return w.take();
}

Status decode_study(std::string_view value, StudyRecord* out) {
  Reader r(value, "study");
  out->patient_id = r.str();
  out->layout = static_cast<Layout>(r.in_range<uint8_t>(r.u8(), 1, 4, "layout"));
  out->split = split_from(r, r.u8());
  out->patient_age = r.in_range<int32_t>(r.i64(), INT32_MIN, INT32_MAX, "patient_age");
  out->slice_count = r.in_range<uint32_t>(static_cast<int64_t>(r.u64()), 0, UINT32_MAX, "slice_count");
  out->lesion_slice_count =
      r.in_range<uint32_t>(static_cast<int64_t>(r.u64()), 0, UINT32_MAX, "lesion_slice_count");
  out->lesion_count = r.in_range<uint32_t>(static_cast<int64_t>(r.u64()), 0, UINT32_MAX, "lesion_count");
  out->series.resize(r.count(1));
  for (auto& s : out->series) s = r.str();
  out->clinical.resize(r.count(5));
  for (auto& c : out->clinical) {
    c.name = r.str();
    c.value = r.f32();
  }
  out->stratum = r.str();
  return r.finish();
}

// ---- patient -----------------------------------------------------------------

std::string encode_patient(const PatientRecord& r) {
  Writer w;
  w.u8(static_cast<uint8_t>(r.gender));
  w.u64(r.study_ids.size());
  for (const auto& s : r.study_ids) w.str(s);
  return w.take();
}

Status decode_patient(std::string_view value, PatientRecord* out) {
  Reader r(value, "patient");
  out->gender = static_cast<char>(r.u8());
  out->study_ids.resize(r.count(1));
  for (auto& s : out->study_ids) s = r.str();
  return r.finish();
}

}  // namespace radclear::storage
