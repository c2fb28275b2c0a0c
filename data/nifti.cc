#include "data/nifti.h"

#include <cmath>
#include <cstdlib>
#include <memory>

#include <fmt/format.h>
#include <nifti2_io.h>

namespace radclear::data {

namespace {

struct ImageFree {
  void operator()(nifti_image* p) const { nifti_image_free(p); }
};
using ImagePtr = std::unique_ptr<nifti_image, ImageFree>;

ImagePtr open_header(const std::string& path) {
  ImagePtr nim(nifti_image_read(path.c_str(), 0));
  if (!nim) throw ScannerInputError("unreadable", fmt::format("{}: not a NIfTI file niftilib can read", path));
  return nim;
}

bool supported_datatype(int dt) {
  switch (dt) {
    case DT_UINT8: case DT_INT8: case DT_INT16: case DT_UINT16: case DT_INT32: case DT_UINT32:
    case DT_FLOAT32: case DT_FLOAT64:
      return true;
    default:
      return false;
  }
}

NiftiAxial axial_of(const nifti_image& nim, const std::string& path) {
  if (nim.nt > 1 || nim.nu > 1 || nim.nv > 1 || nim.nw > 1) {
    throw ScannerInputError("not 3-D", fmt::format("{}: a {}-D volume ({} time points); index one 3-D volume per file",
                                                   path, nim.ndim, nim.nt));
  }
  if (!supported_datatype(nim.datatype)) {
    throw ScannerInputError("unsupported datatype",
                            fmt::format("{}: datatype {} is not a scalar CT type", path,
                                        nifti_datatype_string(nim.datatype)));
  }
  NiftiAxial a;
  const nifti_dmat44* m = &nim.qto_xyz;
  a.transform = nim.qform_code > 0 ? "qform" : "pixdim";
  if (nim.sform_code > 0) {
    m = &nim.sto_xyz;
    a.transform = "sform";
  }
  const int64_t dims[3] = {nim.nx, nim.ny, std::max<int64_t>(1, nim.nz)};
  // World axis (RAS: 0 = x, 1 = y, 2 = z) each storage axis runs along most.
  int world_of[3];
  double sign_of[3], length_of[3];
  bool taken[3] = {false, false, false};
  for (int s = 0; s < 3; ++s) {
    double col[3], norm = 0;
    for (int w = 0; w < 3; ++w) {
      col[w] = m->m[w][s];
      norm += col[w] * col[w];
    }
    norm = std::sqrt(norm);
    if (!(norm > 0)) {
      throw ScannerInputError("oblique", fmt::format("{}: the {} has a zero column {}", path, a.transform, s));
    }
    int best = 0;
    for (int w = 1; w < 3; ++w) {
      if (std::abs(col[w]) > std::abs(col[best])) best = w;
    }
    // More than ~35 degrees off every patient axis: no axial reading of it.
    if (std::abs(col[best]) / norm < 0.8 || taken[best]) {
      throw ScannerInputError("oblique", fmt::format("{}: storage axis {} of the {} lies between patient axes; "
                                                     "resample the volume to an axial grid",
                                                     path, s, a.transform));
    }
    taken[best] = true;
    world_of[s] = best;
    sign_of[s] = col[best] > 0 ? 1.0 : -1.0;
    length_of[s] = norm;
  }
  for (int s = 0; s < 3; ++s) {
    // Shown axis: RAS x -> columns (towards left = -x), y -> rows
    // (towards posterior = -y), z -> planes (towards superior = +z).
    const int shown = world_of[s];
    a.axis[shown] = s;
    a.flip[shown] = shown == 2 ? sign_of[s] < 0 : sign_of[s] > 0;
    a.spacing_mm[shown] = static_cast<float>(length_of[s]);
  }
  a.width = static_cast<int>(dims[a.axis[0]]);
  a.height = static_cast<int>(dims[a.axis[1]]);
  a.depth = static_cast<int>(dims[a.axis[2]]);
  a.slope = nim.scl_slope == 0 || !std::isfinite(nim.scl_slope) ? 1.0 : nim.scl_slope;
  a.intercept = nim.scl_slope == 0 || !std::isfinite(nim.scl_inter) ? 0.0 : nim.scl_inter;
  // Patient frame: the storage index of shown pixel (0, 0, 0) and the
  // storage steps of +column, +row, +plane, mapped through the transform
  // and mirrored from RAS to LPS.
  double first[3];
  double step[3][3];
  for (int shown = 0; shown < 3; ++shown) {
    const int s = a.axis[shown];
    first[s] = a.flip[shown] ? static_cast<double>(dims[s] - 1) : 0.0;
  }
  auto lps = [&](const double ijk[3], bool point, std::array<double, 3>* out) {
    for (int w = 0; w < 3; ++w) {
      double v = point ? m->m[w][3] : 0.0;
      for (int s = 0; s < 3; ++s) v += m->m[w][s] * ijk[s];
      (*out)[w] = w < 2 ? -v : v;
    }
  };
  lps(first, true, &a.plane0.origin);
  for (int shown = 0; shown < 3; ++shown) {
    for (int s = 0; s < 3; ++s) step[shown][s] = 0;
    step[shown][a.axis[shown]] = a.flip[shown] ? -1.0 : 1.0;
  }
  std::array<double, 3> col_step, row_step;
  lps(step[0], false, &col_step);
  lps(step[1], false, &row_step);
  lps(step[2], false, &a.plane_step);
  for (int w = 0; w < 3; ++w) {
    a.plane0.column_dir[w] = col_step[w] / a.spacing_mm[0];
    a.plane0.row_dir[w] = row_step[w] / a.spacing_mm[1];
  }
  return a;
}

template <typename T>
void to_hu(const void* data, size_t count, double slope, double intercept, std::vector<double>* out) {
  const T* in = static_cast<const T*>(data);
  for (size_t i = 0; i < count; ++i) (*out)[i] = slope * static_cast<double>(in[i]) + intercept;
}

}  // namespace

NiftiAxial read_nifti_axial(const std::string& path) {
  ImagePtr nim = open_header(path);
  return axial_of(*nim, path);
}

HuSlice read_nifti_plane(const std::string& path, int z) {
  ImagePtr nim = open_header(path);
  const NiftiAxial a = axial_of(*nim, path);
  if (z < 0 || z >= a.depth) {
    throw ScannerInputError("bad plane", fmt::format("{}: plane {} of a volume with {} axial planes", path, z, a.depth));
  }
  // The one storage plane that holds axial plane z: every index of the two
  // in-plane axes, one index of the plane axis.
  int64_t start[7] = {0, 0, 0, 0, 0, 0, 0};
  int64_t size[7] = {1, 1, 1, 1, 1, 1, 1};
  const int64_t dims[3] = {nim->nx, nim->ny, std::max<int64_t>(1, nim->nz)};
  for (int s = 0; s < 3; ++s) size[s] = dims[s];
  const int ps = a.axis[2];
  start[ps] = a.flip[2] ? dims[ps] - 1 - z : z;
  size[ps] = 1;
  void* raw = nullptr;
  const int64_t got = nifti_read_subregion_image(nim.get(), start, size, &raw);
  std::unique_ptr<void, void (*)(void*)> hold(raw, &std::free);
  const size_t count = static_cast<size_t>(a.width) * static_cast<size_t>(a.height);
  if (got < 0 || raw == nullptr || static_cast<size_t>(got) < count * static_cast<size_t>(nim->nbyper)) {
    throw ScannerInputError("truncated volume",
                            fmt::format("{}: plane {} could not be read (truncated or damaged file)", path, z));
  }
  std::vector<double> values(count);
  switch (nim->datatype) {
    case DT_UINT8: to_hu<uint8_t>(raw, count, a.slope, a.intercept, &values); break;
    case DT_INT8: to_hu<int8_t>(raw, count, a.slope, a.intercept, &values); break;
    case DT_INT16: to_hu<int16_t>(raw, count, a.slope, a.intercept, &values); break;
    case DT_UINT16: to_hu<uint16_t>(raw, count, a.slope, a.intercept, &values); break;
    case DT_INT32: to_hu<int32_t>(raw, count, a.slope, a.intercept, &values); break;
    case DT_UINT32: to_hu<uint32_t>(raw, count, a.slope, a.intercept, &values); break;
    case DT_FLOAT32: to_hu<float>(raw, count, a.slope, a.intercept, &values); break;
    case DT_FLOAT64: to_hu<double>(raw, count, a.slope, a.intercept, &values); break;
    default: break;  // axial_of() refused the others
  }
  // The region comes in storage order of the two in-plane axes (the lower
  // storage axis varies fastest).
  const int cs = a.axis[0], rs = a.axis[1];
  const int64_t stride_c = cs < rs ? 1 : dims[rs];
  const int64_t stride_r = cs < rs ? dims[cs] : 1;
  HuSlice out;
  out.width = a.width;
  out.height = a.height;
  out.hu.resize(count);
  for (int r = 0; r < a.height; ++r) {
    const int64_t sr = a.flip[1] ? a.height - 1 - r : r;
    for (int c = 0; c < a.width; ++c) {
      const int64_t sc = a.flip[0] ? a.width - 1 - c : c;
      out.hu[static_cast<size_t>(r) * a.width + c] = to_hu16(values[static_cast<size_t>(sc * stride_c + sr * stride_r)]);
    }
  }
  return out;
}

}  // namespace radclear::data
