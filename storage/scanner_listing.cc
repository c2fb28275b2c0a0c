#include "storage/scanner_listing.h"

#include <glob.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/check.h"
#include "common/parallel.h"
#include "data/nifti.h"

namespace radclear::storage {

namespace fs = std::filesystem;

namespace {

using Vec3 = std::array<double, 3>;

Vec3 cross(const Vec3& a, const Vec3& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
double dot(const Vec3& a, const Vec3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
double norm(const Vec3& a) { return std::sqrt(dot(a, a)); }

// Counts what is left out, logs the first few, and stops the run under strict.
class SkipLog {
 public:
  SkipLog(DataListing* listing, bool strict) : listing_(*listing), strict_(strict) {}
  // `what`: a relative path or "series <uid>"; never patient data.
  Status skip(const std::string& reason, const std::string& what, const std::string& detail) {
    ++listing_.skipped[reason];
    const std::string why = detail.empty() ? reason : fmt::format("{} ({})", reason, detail);
    if (strict_) {
      return Status::Corruption(fmt::format("{}: {}; --strict stops at the first file or series left out", what, why));
    }
    if (++logged_ <= 20) {
      spdlog::warn("{}: {}; left out", what, why);
    } else if (logged_ == 21) {
      spdlog::warn("more files or series left out; the counts are in the report");
    }
    return Status::Ok();
  }

 private:
  DataListing& listing_;
  bool strict_;
  int64_t logged_ = 0;
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string rel_string(const fs::path& p, const fs::path& root) {
  return p.lexically_relative(root).generic_string();
}

// The reason a single DICOM file cannot be a slice of an axial CT series, or "".
std::string file_reason(const data::DicomHeader& h) {
  if (h.study_uid.empty()) return "missing StudyInstanceUID";
  if (h.series_uid.empty()) return "missing SeriesInstanceUID";
  if (data::is_secondary_capture(h.sop_class_uid)) return "secondary capture";
  if (std::find(h.image_type.begin(), h.image_type.end(), "LOCALIZER") != h.image_type.end()) return "localizer";
  if (h.modality != "CT") return "not CT";
  if (h.frames > 1) return "multi-frame";
  if (h.samples_per_pixel != 1) return "not grayscale";
  if (!h.has_position) return "missing ImagePositionPatient";
  if (!h.has_orientation) return "missing ImageOrientationPatient";
  if (!h.has_pixel_spacing) return "missing PixelSpacing";
  if (h.rows <= 0 || h.columns <= 0 || h.rows > 65535 || h.columns > 65535) return "missing Rows/Columns";
  return {};
}

}  // namespace

SeriesOrder order_series(const std::vector<DicomFile>& files) {
  SeriesOrder out;
  RADCLEAR_CHECK(!files.empty(), "order_series: an empty series");
  const data::DicomHeader& first = files[0].header;
  for (const DicomFile& f : files) {
    for (int i = 0; i < 6; ++i) {
      if (std::abs(f.header.orientation[i] - first.orientation[i]) > 1e-3) {
        out.skip_reason = "mixed orientations";
        out.detail = fmt::format("{} and {} differ in ImageOrientationPatient", files[0].rel_path, f.rel_path);
        return out;
      }
    }
    if (f.header.rows != first.rows || f.header.columns != first.columns) {
      out.skip_reason = "mixed sizes";
      out.detail = fmt::format("{} is {}x{}, {} is {}x{}", files[0].rel_path, first.columns, first.rows, f.rel_path,
                               f.header.columns, f.header.rows);
      return out;
    }
  }
  const Vec3 row{first.orientation[0], first.orientation[1], first.orientation[2]};
  const Vec3 col{first.orientation[3], first.orientation[4], first.orientation[5]};
  Vec3 n = cross(row, col);
  const double nn = norm(n);
  if (!(nn > 0.5)) {
    out.skip_reason = "mixed orientations";
    out.detail = "ImageOrientationPatient's row and column directions are not perpendicular unit vectors";
    return out;
  }
  for (double& v : n) v /= nn;
  // Axial: the normal within ~37 degrees of the body axis; a tilted gantry's
  // slices pass here and fail the line test below.
  if (std::abs(n[2]) < 0.8) {
    out.skip_reason = "not axial";
    out.detail = fmt::format("slice normal ({:.2f}, {:.2f}, {:.2f}) is coronal, sagittal or oblique", n[0], n[1], n[2]);
    return out;
  }
  const double up = n[2] > 0 ? 1.0 : -1.0;  // project so that larger = more superior
  std::vector<double> d(files.size());
  for (size_t i = 0; i < files.size(); ++i) d[i] = up * dot(n, files[i].header.position);
  out.order.resize(files.size());
  for (size_t i = 0; i < files.size(); ++i) out.order[i] = i;
  std::sort(out.order.begin(), out.order.end(), [&](size_t a, size_t b) { return d[a] < d[b]; });
  if (files.size() < 2) return out;
  std::vector<double> steps;
  for (size_t k = 1; k < files.size(); ++k) {
    const double s = d[out.order[k]] - d[out.order[k - 1]];
    if (s < 1e-3) {
      out.skip_reason = "duplicate position";
      out.detail = fmt::format("{} and {} lie at the same position", files[out.order[k - 1]].rel_path,
                               files[out.order[k]].rel_path);
      out.order.clear();
      return out;
    }
    steps.push_back(s);
  }
  // Gantry tilt: the slice positions do not run along the normal.
  const auto& p0 = files[out.order.front()].header.position;
  const auto& p1 = files[out.order.back()].header.position;
  const Vec3 v{p1[0] - p0[0], p1[1] - p0[1], p1[2] - p0[2]};
  const double along = dot(v, n);
  const Vec3 off{v[0] - along * n[0], v[1] - along * n[1], v[2] - along * n[2]};
  if (norm(off) > 0.01 * norm(v)) {
    out.skip_reason = "gantry tilt";
    out.detail = fmt::format("positions run {:.1f} degrees off the slice normal",
                             std::atan2(norm(off), std::abs(along)) * 180.0 / M_PI);
    out.order.clear();
    return out;
  }
  std::vector<double> sorted = steps;
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  const double median = sorted[sorted.size() / 2];
  const auto [lo, hi] = std::minmax_element(steps.begin(), steps.end());
  if (*hi - *lo > 0.01 * median + 0.01) {
    out.skip_reason = "non-uniform spacing";
    out.detail = fmt::format("slice steps from {:.3f} to {:.3f} mm (a missing slice or a mixed reconstruction)", *lo, *hi);
    out.order.clear();
    return out;
  }
  out.step_mm = median;
  return out;
}

Result<DataListing> list_dicom_root(const fs::path& root, const ScannerListOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return Status::NotFound(fmt::format("DICOM root {} is not a directory", root.string()));
  DataListing listing;
  listing.layout = Layout::kDicom;
  std::vector<DicomFile> files;
  try {
    for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied);
         it != fs::recursive_directory_iterator(); ++it) {
      if (!it->is_regular_file()) continue;
      if (it->path().filename() == "DICOMDIR") {
        ++listing.ignored;
        continue;
      }
      files.push_back({rel_string(it->path(), root), static_cast<uint64_t>(it->file_size()), {}});
    }
  } catch (const fs::filesystem_error& e) {
    return Status::IoError(fmt::format("listing DICOM root {}: {}", root.string(), e.what()));
  }
  std::sort(files.begin(), files.end(), [](const DicomFile& a, const DicomFile& b) { return a.rel_path < b.rel_path; });

  // Headers, in parallel; a file's failure is its reason.
  std::vector<std::string> reason(files.size()), detail(files.size());
  parallel_for(static_cast<int64_t>(files.size()), options.threads > 0 ? options.threads : hardware_threads(),
               [&](int64_t i) {
                 const size_t k = static_cast<size_t>(i);
                 try {
                   files[k].header = data::read_dicom_header((root / files[k].rel_path).string());
                   reason[k] = file_reason(files[k].header);
                   if (reason[k] == "not CT") detail[k] = fmt::format("Modality {}", files[k].header.modality);
                 } catch (const data::ScannerInputError& e) {
                   reason[k] = e.reason;
                   detail[k] = "GDCM cannot parse it as DICOM";
                 }
               });
  SkipLog log(&listing, options.strict);
  std::map<std::pair<std::string, std::string>, std::vector<DicomFile>> series;
  for (size_t k = 0; k < files.size(); ++k) {
    if (!reason[k].empty()) {
      Status s = log.skip(reason[k], files[k].rel_path, detail[k]);
      if (!s.ok()) return s;
      continue;
    }
    const auto& h = files[k].header;
    series[{h.study_uid, h.series_uid}].push_back(std::move(files[k]));
  }
  for (auto& [uids, members] : series) {
    const SeriesOrder order = order_series(members);
    if (!order.skip_reason.empty()) {
      Status s = log.skip(order.skip_reason, fmt::format("series {} ({} files)", uids.second, members.size()),
                          order.detail);
      if (!s.ok()) return s;
      continue;
    }
    for (size_t z = 0; z < order.order.size(); ++z) {
      const DicomFile& f = members[order.order[z]];
      const data::DicomHeader& h = f.header;
      ScannerSlice sl;
      sl.id.study_id = h.study_uid;
      sl.id.series = h.series_uid;
      sl.id.slice_number = static_cast<uint32_t>(z);
      sl.id.name = fs::path(f.rel_path).filename().string();
      sl.patient_id = h.patient_id.empty() ? h.study_uid : h.patient_id;
      sl.source = SliceSource::kDicomFrame;
      sl.frame = 0;
      sl.width = static_cast<uint16_t>(h.columns);
      sl.height = static_cast<uint16_t>(h.rows);
      // PixelSpacing is (between rows, between columns).
      sl.spacing_mm = {static_cast<float>(h.pixel_spacing[1]), static_cast<float>(h.pixel_spacing[0]),
                       static_cast<float>(order.step_mm)};
      sl.slice_thickness_mm = static_cast<float>(h.slice_thickness);
      sl.origin = h.position;
      sl.column_dir = {h.orientation[0], h.orientation[1], h.orientation[2]};
      sl.row_dir = {h.orientation[3], h.orientation[4], h.orientation[5]};
      listing.files.push_back({f.rel_path, f.size, std::move(sl)});
    }
  }
  return listing;
}

namespace {

bool is_nifti_name(const std::string& name) {
  const std::string l = lower(name);
  auto ends = [&](const char* suffix) {
    const std::string s(suffix);
    return l.size() > s.size() && l.compare(l.size() - s.size(), s.size(), s) == 0;
  };
  return ends(".nii") || ends(".nii.gz");
}

std::string nifti_stem(const std::string& name) {
  const std::string l = lower(name);
  const size_t cut = l.size() >= 7 && l.compare(l.size() - 7, 7, ".nii.gz") == 0 ? 7 : 4;
  return name.substr(0, name.size() - cut);
}

}  // namespace

Result<DataListing> list_nifti(const std::string& dir_or_glob, const ScannerListOptions& options, fs::path* root) {
  std::vector<fs::path> paths;
  std::error_code ec;
  const bool wildcard = dir_or_glob.find_first_of("*?[") != std::string::npos;
  if (!wildcard) {
    if (!fs::is_directory(dir_or_glob, ec)) {
      return Status::NotFound(fmt::format("--nifti {}: not a folder (give a folder or a glob such as 'ct/*.nii.gz')",
                                          dir_or_glob));
    }
    *root = fs::path(dir_or_glob);
    try {
      for (const auto& e : fs::recursive_directory_iterator(*root, fs::directory_options::skip_permission_denied)) {
        if (e.is_regular_file() && is_nifti_name(e.path().filename().string())) paths.push_back(e.path());
      }
    } catch (const fs::filesystem_error& e) {
      return Status::IoError(fmt::format("listing {}: {}", dir_or_glob, e.what()));
    }
  } else {
    const fs::path pattern(dir_or_glob);
    *root = pattern.parent_path().empty() ? fs::path(".") : pattern.parent_path();
    if (root->string().find_first_of("*?[") != std::string::npos) {
      return Status::InvalidArgument(fmt::format(
          "--nifti {}: wildcards are allowed in the file name only (the folder is the data root)", dir_or_glob));
    }
    glob_t g{};
    const int rc = ::glob(dir_or_glob.c_str(), 0, nullptr, &g);
    for (size_t i = 0; rc == 0 && i < g.gl_pathc; ++i) {
      const fs::path p(g.gl_pathv[i]);
      if (fs::is_regular_file(p, ec)) paths.push_back(p);
    }
    globfree(&g);
    if (rc != 0 && rc != GLOB_NOMATCH) return Status::IoError(fmt::format("--nifti {}: glob failed ({})", dir_or_glob, rc));
  }
  std::sort(paths.begin(), paths.end());
  DataListing listing;
  listing.layout = Layout::kNifti;
  SkipLog log(&listing, options.strict);
  for (const fs::path& p : paths) {
    const std::string rel = rel_string(p, *root);
    data::NiftiAxial a;
    try {
      a = data::read_nifti_axial(p.string());
    } catch (const data::ScannerInputError& e) {
      Status s = log.skip(e.reason, rel, e.what());
      if (!s.ok()) return s;
      continue;
    }
    if (a.width > 65535 || a.height > 65535) {
      Status s = log.skip("too large", rel, fmt::format("{}x{} axial planes", a.width, a.height));
      if (!s.ok()) return s;
      continue;
    }
    const fs::path rel_path(rel);
    const std::string stem = nifti_stem(rel_path.filename().string());
    const std::string patient = rel_path.has_parent_path() ? rel_path.parent_path().filename().string() : stem;
    const uint64_t size = fs::file_size(p, ec);
    for (int z = 0; z < a.depth; ++z) {
      ScannerSlice sl;
      sl.id.study_id = stem;
      sl.id.slice_number = static_cast<uint32_t>(z);
      sl.id.name = std::to_string(z);
      sl.patient_id = patient;
      sl.source = SliceSource::kNiftiPlane;
      sl.frame = static_cast<uint32_t>(z);
      sl.width = static_cast<uint16_t>(a.width);
      sl.height = static_cast<uint16_t>(a.height);
      sl.spacing_mm = a.spacing_mm;
      sl.slice_thickness_mm = a.spacing_mm[2];
      for (int w = 0; w < 3; ++w) sl.origin[w] = a.plane0.origin[w] + z * a.plane_step[w];
      sl.column_dir = a.plane0.column_dir;
      sl.row_dir = a.plane0.row_dir;
      listing.files.push_back({rel, size, std::move(sl)});
    }
  }
  return listing;
}

}  // namespace radclear::storage
