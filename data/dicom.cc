#include "data/dicom.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>

#include <fmt/format.h>
#include <gdcmDataSet.h>
#include <gdcmImageReader.h>
#include <gdcmReader.h>
#include <gdcmStringFilter.h>
#include <gdcmTag.h>
#include <gdcmTransferSyntax.h>

namespace radclear::data {

namespace {

const gdcm::Tag kStudyUid(0x0020, 0x000d), kSeriesUid(0x0020, 0x000e), kPatientId(0x0010, 0x0020),
    kModality(0x0008, 0x0060), kSopClass(0x0008, 0x0016), kImageType(0x0008, 0x0008),
    kPosition(0x0020, 0x0032), kOrientation(0x0020, 0x0037), kPixelSpacing(0x0028, 0x0030),
    kSliceThickness(0x0018, 0x0050), kGantryTilt(0x0018, 0x1120), kRows(0x0028, 0x0010),
    kColumns(0x0028, 0x0011), kFrames(0x0028, 0x0008), kSamples(0x0028, 0x0002),
    kSlope(0x0028, 0x1053), kIntercept(0x0028, 0x1052), kPixelData(0x7fe0, 0x0010);

// A tag's value as text, trailing padding removed; "" when absent or empty.
std::string text(const gdcm::StringFilter& sf, const gdcm::DataSet& ds, const gdcm::Tag& tag) {
  if (!ds.FindDataElement(tag) || ds.GetDataElement(tag).IsEmpty()) return {};
  std::string s = sf.ToString(tag);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(s.begin());
  return s;
}

// A backslash-separated list of decimal strings; false unless exactly `n`
// numbers parse.
template <size_t N>
bool numbers(const std::string& s, std::array<double, N>* out) {
  size_t start = 0;
  for (size_t i = 0; i < N; ++i) {
    const size_t end = std::min(s.find('\\', start), s.size());
    if (start >= s.size() && i < N) return false;
    const std::string part = s.substr(start, end - start);
    char* stop = nullptr;
    (*out)[i] = std::strtod(part.c_str(), &stop);
    if (stop == part.c_str()) return false;
    start = end + 1;
  }
  return start >= s.size();
}

double number_or(const std::string& s, double fallback) {
  if (s.empty()) return fallback;
  char* stop = nullptr;
  const double v = std::strtod(s.c_str(), &stop);
  return stop == s.c_str() ? fallback : v;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

bool is_secondary_capture(const std::string& sop_class_uid) {
  // 1.2.840.10008.5.1.4.1.1.7 and .7.1 to .7.4 (multi-frame secondary captures).
  const std::string sc = "1.2.840.10008.5.1.4.1.1.7";
  return sop_class_uid == sc || sop_class_uid.rfind(sc + ".", 0) == 0;
}

DicomHeader read_dicom_header(const std::string& path) {
  gdcm::Reader reader;
  reader.SetFileName(path.c_str());
  if (!reader.ReadUpToTag(kPixelData, std::set<gdcm::Tag>{kPixelData})) {
    throw ScannerInputError("unreadable", fmt::format("{}: not a DICOM file GDCM can parse", path));
  }
  const gdcm::DataSet& ds = reader.GetFile().GetDataSet();
  gdcm::StringFilter sf;
  sf.SetFile(reader.GetFile());
  DicomHeader h;
  h.study_uid = text(sf, ds, kStudyUid);
  h.series_uid = text(sf, ds, kSeriesUid);
  h.patient_id = text(sf, ds, kPatientId);
  h.modality = upper(text(sf, ds, kModality));
  h.sop_class_uid = text(sf, ds, kSopClass);
  const std::string image_type = text(sf, ds, kImageType);
  for (size_t start = 0; start < image_type.size();) {
    const size_t end = std::min(image_type.find('\\', start), image_type.size());
    h.image_type.push_back(upper(image_type.substr(start, end - start)));
    start = end + 1;
  }
  h.transfer_syntax = reader.GetFile().GetHeader().GetDataSetTransferSyntax().GetString() ?
                      reader.GetFile().GetHeader().GetDataSetTransferSyntax().GetString() : "";
  h.has_position = numbers(text(sf, ds, kPosition), &h.position);
  h.has_orientation = numbers(text(sf, ds, kOrientation), &h.orientation);
  h.has_pixel_spacing = numbers(text(sf, ds, kPixelSpacing), &h.pixel_spacing);
  h.slice_thickness = number_or(text(sf, ds, kSliceThickness), 0);
  h.gantry_tilt = number_or(text(sf, ds, kGantryTilt), 0);
  h.rows = static_cast<int>(number_or(text(sf, ds, kRows), 0));
  h.columns = static_cast<int>(number_or(text(sf, ds, kColumns), 0));
  h.frames = std::max(1, static_cast<int>(number_or(text(sf, ds, kFrames), 1)));
  h.samples_per_pixel = static_cast<int>(number_or(text(sf, ds, kSamples), 1));
  return h;
}

namespace {

template <typename T>
void rescale(const char* buffer, size_t count, double slope, double intercept, int16_t* out) {
  const T* in = reinterpret_cast<const T*>(buffer);
  for (size_t i = 0; i < count; ++i) out[i] = to_hu16(slope * static_cast<double>(in[i]) + intercept);
}

}  // namespace

HuSlice read_dicom_hu(const std::string& path, int frame) {
  gdcm::ImageReader reader;
  reader.SetFileName(path.c_str());
  if (!reader.Read()) {
    throw ScannerInputError("unreadable", fmt::format("{}: not a DICOM image GDCM can read", path));
  }
  const gdcm::Image& image = reader.GetImage();
  const gdcm::PixelFormat& pf = image.GetPixelFormat();
  if (pf.GetSamplesPerPixel() != 1) {
    throw ScannerInputError("not grayscale", fmt::format("{}: {} samples per pixel; CT slices are grayscale",
                                                         path, pf.GetSamplesPerPixel()));
  }
  const unsigned columns = image.GetColumns(), rows = image.GetRows();
  const unsigned frames = image.GetNumberOfDimensions() > 2 ? image.GetDimension(2) : 1;
  if (frame < 0 || static_cast<unsigned>(frame) >= frames) {
    throw ScannerInputError("bad frame", fmt::format("{}: frame {} of a file with {} frames", path, frame, frames));
  }
  std::vector<char> buffer(image.GetBufferLength());
  if (!image.GetBuffer(buffer.data())) {
    const char* ts = image.GetTransferSyntax().GetString();
    throw ScannerInputError("undecodable pixel data",
                            fmt::format("{}: GDCM cannot decode the pixel data (transfer syntax {}); "
                                        "convert it with gdcmconv --raw",
                                        path, ts ? ts : "?"));
  }
  // The slope and intercept as written (GDCM's ImageReader fills them from
  // RescaleSlope/Intercept for CT); absent tags leave 1 and 0.
  const double slope = image.GetSlope(), intercept = image.GetIntercept();
  HuSlice out;
  out.width = static_cast<int>(columns);
  out.height = static_cast<int>(rows);
  const size_t count = static_cast<size_t>(columns) * rows;
  out.hu.resize(count);
  const size_t offset = count * static_cast<size_t>(frame) * pf.GetPixelSize();
  if (buffer.size() < offset + count * pf.GetPixelSize()) {
    throw ScannerInputError("truncated pixel data", fmt::format("{}: frame {} lies past the pixel data", path, frame));
  }
  const char* px = buffer.data() + offset;
  switch (pf.GetScalarType()) {
    case gdcm::PixelFormat::UINT8: rescale<uint8_t>(px, count, slope, intercept, out.hu.data()); break;
    case gdcm::PixelFormat::INT8: rescale<int8_t>(px, count, slope, intercept, out.hu.data()); break;
    case gdcm::PixelFormat::UINT12:
    case gdcm::PixelFormat::UINT16: rescale<uint16_t>(px, count, slope, intercept, out.hu.data()); break;
    case gdcm::PixelFormat::INT12:
    case gdcm::PixelFormat::INT16: rescale<int16_t>(px, count, slope, intercept, out.hu.data()); break;
    case gdcm::PixelFormat::UINT32: rescale<uint32_t>(px, count, slope, intercept, out.hu.data()); break;
    case gdcm::PixelFormat::INT32: rescale<int32_t>(px, count, slope, intercept, out.hu.data()); break;
    default:
      throw ScannerInputError("unsupported pixel format",
                              fmt::format("{}: pixel format {} is not an integer grayscale CT format", path,
                                          pf.GetScalarTypeAsString()));
  }
  return out;
}

}  // namespace radclear::data
