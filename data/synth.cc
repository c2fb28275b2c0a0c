#include "data/synth.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <numeric>
#include <vector>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

#include "common/atomic_file.h"
#include "common/check.h"
#include "common/csv.h"
#include "common/parallel.h"
#include "common/yaml_fields.h"
#include "data/phantom.h"

namespace radclear::data {
namespace fs = std::filesystem;

const std::array<const char*, 18> kDlInfoColumns = {
    "File_name",        "Patient_index",      "Study_index",           "Series_ID",
    "Key_slice_index",  "Measurement_coordinates", "Bounding_boxes",   "Lesion_diameters_Pixel_",
    "Normalized_lesion_location", "Coarse_lesion_type", "Possibly_noisy", "Slice_range",
    "Spacing_mm_px_",   "Image_size",         "DICOM_windows",         "Patient_gender",
    "Patient_age",      "Train_Val_Test"};

namespace {

const char* kOutputs[] = {"Images_png", "DL_info.csv", "lesions.csv", "clinical.csv", "synth.yaml"};

// Numbers as DeepLesion writes them: shortest form, no trailing zeros.
std::string num(double v) {
  std::string s = fmt::format("{:.4f}", v);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

std::string num_list(std::initializer_list<double> values) {
  std::string s;
  for (double v : values) s += (s.empty() ? "" : ", ") + num(v);
  return s;
}

const char* dicom_window(int type) {
  switch (type) {
    case 5: return "-1350, 150";  // lung
    case 1: return "-450, 1050";  // bone
    default: return "-160, 240";  // soft tissue
  }
}

struct StudyOutput {
  std::vector<std::string> dl_rows;        // DL_info.csv rows
  std::vector<std::string> lesion_rows;    // lesions.csv rows
  std::string clinical_row;
  std::array<int64_t, kNumCoarseTypes> per_type{};
  int64_t lesions = 0, key_slices = 0, bytes = 0;
};

StudyOutput write_study(const SynthSpec& spec, const PhantomStudy& study, int split, const fs::path& images) {
  StudyOutput out;
  const int p = study.patient.index;
  const std::string dir = synth_study_dir(p, study.study);
  fs::create_directories(images / dir);
  std::vector<int> key_of_slice(study.slices, 0);
  for (const auto& l : study.lesions) key_of_slice[l.key_slice] = 1;

  // Fast zlib level with run-length matching: ~20% faster than the default
  // strategy on noisy 16-bit slices, same size (bench/synth_bench.cc).
  const std::vector<int> png_params = {cv::IMWRITE_PNG_COMPRESSION, 1, cv::IMWRITE_PNG_STRATEGY, cv::IMWRITE_PNG_STRATEGY_RLE};
  std::vector<std::array<double, 4>> boxes(study.lesions.size());
  for (int k = 0; k < study.slices; ++k) {
    const RenderedSlice slice = render_phantom_slice(study, k);
    cv::Mat stored;
    slice.hu.convertTo(stored, CV_16U, 1.0, 32768.0);  // rounds and saturates
    const fs::path file = images / dir / fmt::format("{:03d}.png", k + 1);
    std::vector<uchar> buf;
    if (!cv::imencode(".png", stored, buf, png_params)) throw IoError(fmt::format("PNG encoding failed for {}", file.string()));
    // Plain writes: the whole tree sits in Images_png.partial until complete.
    std::ofstream f(file, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
    if (!f) throw IoError(fmt::format("cannot write {} (disk full?)", file.string()));
    out.bytes += static_cast<int64_t>(buf.size());
    for (size_t i = 0; i < study.lesions.size(); ++i) {
      if (study.lesions[i].key_slice == k) boxes[i] = lesion_box(slice, static_cast<int>(i));
    }
    out.lesion_rows.push_back(fmt::format("{}/{:03d}.png,{},{:06d}", dir, k + 1, key_of_slice[k], p));
  }

  std::array<int, kNumCoarseTypes> present{};
  for (size_t i = 0; i < study.lesions.size(); ++i) {
    const PhantomLesion& l = study.lesions[i];
    const auto& b = boxes[i];
    RADCLEAR_CHECK(b[0] >= 0, "lesion {} of study {} left no pixels on its key slice", i, dir);
    const double th = l.angle_deg * 3.14159265358979323846 / 180.0;
    const double c = std::cos(th), s = std::sin(th);
    const int key = l.key_slice + 1;  // file names are 1-based
    const int context = std::max(1, static_cast<int>(std::lround(30.0 / study.slice_mm)));
    std::vector<std::string> row = {
        fmt::format("{}_{:03d}.png", dir, key),
        std::to_string(p),
        std::to_string(study.study),
        "1",
        std::to_string(key),
        num_list({l.cx_px - l.ra_px * c, l.cy_px - l.ra_px * s, l.cx_px + l.ra_px * c, l.cy_px + l.ra_px * s,
                  l.cx_px + l.rb_px * s, l.cy_px - l.rb_px * c, l.cx_px - l.rb_px * s, l.cy_px + l.rb_px * c}),
        num_list({b[0], b[1], b[2], b[3]}),
        num_list({2 * l.ra_px, 2 * l.rb_px}),
        num_list({l.cx_px / study.size, l.cy_px / study.size, l.t_body}),
        std::to_string(l.coarse_type),
        "0",
        num_list({static_cast<double>(std::max(1, key - context)),
                  static_cast<double>(std::min(study.slices, key + context))}),
        num_list({study.pixel_mm, study.pixel_mm, study.slice_mm}),
        num_list({static_cast<double>(study.size), static_cast<double>(study.size)}),
        dicom_window(l.coarse_type),
        study.patient.female ? "F" : "M",
        std::to_string(study.patient.age),
        std::to_string(split)};
    std::string line;
    for (size_t j = 0; j < row.size(); ++j) line += (j ? "," : "") + csv_escape(row[j]);
    out.dl_rows.push_back(std::move(line));
    present[l.coarse_type - 1] = 1;
    out.per_type[l.coarse_type - 1]++;
    out.lesions++;
  }
  out.key_slices = std::accumulate(key_of_slice.begin(), key_of_slice.end(), int64_t{0});
  std::string bits;
  out.clinical_row = dir;
  for (int v : present) {
    out.clinical_row += fmt::format(",{}", v);
    bits += static_cast<char>('0' + v);
  }
  out.clinical_row += fmt::format(",{},{:06d}", bits, p);
  return out;
}

void check_output_dir(const SynthSpec& spec) {
  std::error_code ec;
  if (fs::exists(spec.out, ec)) {
    if (!fs::is_directory(spec.out, ec)) {
      throw InvalidArgument(fmt::format("--out {} exists and is not a directory", spec.out.string()));
    }
    if (!fs::is_empty(spec.out, ec) && !spec.force) {
      throw InvalidArgument(fmt::format(
          "--out {} is not empty; choose an empty directory or pass --force to replace its synth outputs",
          spec.out.string()));
    }
    if (::access(spec.out.c_str(), W_OK) != 0) {
      throw InvalidArgument(fmt::format("--out {} is not writable: {}", spec.out.string(), std::strerror(errno)));
    }
  } else {
    // The nearest existing ancestor must be writable.
    fs::path parent = fs::absolute(spec.out).parent_path();
    while (!parent.empty() && !fs::exists(parent, ec)) parent = parent.parent_path();
    if (parent.empty() || !fs::is_directory(parent, ec)) {
      throw InvalidArgument(fmt::format("cannot create --out {}: {} is not a directory", spec.out.string(),
                                        parent.string()));
    }
    if (::access(parent.c_str(), W_OK) != 0) {
      throw InvalidArgument(fmt::format("cannot create --out {}: {} is not writable: {}", spec.out.string(),
                                        parent.string(), std::strerror(errno)));
    }
  }
}

}  // namespace

YAML::Node synth_data_yaml(const SynthSpec& spec) {
  YAML::Node n = stages::to_yaml(spec);
  for (const char* key : {"out", "threads", "force"}) n.remove(key);
  return n;
}

std::string synth_study_dir(int patient, int study, int series) {
  return fmt::format("{:06d}_{:02d}_{:02d}", patient, study, series);
}

int synth_patient_split(uint64_t seed, int patients, int patient_index) {
  // Seeded permutation of the patients; the first 70% train, next 15% val.
  std::vector<int> order(patients);
  std::iota(order.begin(), order.end(), 1);
  uint64_t state = seed ^ 0x5EED5EED5EEDULL;
  for (int i = patients - 1; i > 0; --i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const int j = static_cast<int>((state >> 33) % static_cast<uint64_t>(i + 1));
    std::swap(order[i], order[j]);
  }
  const int pos = static_cast<int>(std::find(order.begin(), order.end(), patient_index) - order.begin());
  const int n_train = static_cast<int>(std::lround(0.70 * patients));
  const int n_val = static_cast<int>(std::lround(0.15 * patients));
  if (pos < n_train) return 1;
  if (pos < n_train + n_val) return 2;
  return 3;
}

SynthSummary generate_synth(const SynthSpec& spec, const SynthProgress& progress) {
  spec.validate();
  check_output_dir(spec);
  const auto start = std::chrono::steady_clock::now();
  fs::create_directories(spec.out);
  if (spec.force) {
    for (const char* name : kOutputs) fs::remove_all(spec.out / name);
  }
  const fs::path partial = spec.out / "Images_png.partial";
  fs::remove_all(partial);
  fs::create_directories(partial);

  const int n_studies = spec.patients * spec.studies_per_patient;
  std::vector<StudyOutput> outputs(n_studies);
  std::vector<int> splits(spec.patients);
  for (int p = 0; p < spec.patients; ++p) splits[p] = synth_patient_split(spec.seed, spec.patients, p + 1);

  std::mutex mu;
  int studies_done = 0;
  int64_t slices_done = 0;
  parallel_for(n_studies, spec.threads, [&](int64_t i) {
    const int p = static_cast<int>(i) / spec.studies_per_patient + 1;
    const int s = static_cast<int>(i) % spec.studies_per_patient + 1;
    const PhantomPatient patient = make_phantom_patient(spec.seed, p);
    const PhantomStudy study =
        make_phantom_study(spec.seed, patient, s, spec.slices, spec.size, spec.max_lesions_per_study);
    outputs[i] = write_study(spec, study, splits[p - 1], partial);
    std::lock_guard<std::mutex> lock(mu);
    ++studies_done;
    slices_done += spec.slices;
    if (progress) progress(studies_done, slices_done);
  });

  SynthSummary sum;
  sum.patients = spec.patients;
  sum.studies = n_studies;
  sum.slices = static_cast<int64_t>(n_studies) * spec.slices;
  std::string dl = fmt::format("{}\n", fmt::join(kDlInfoColumns, ","));
  std::string lesions = "image,lesion_present,patient_id\n";
  std::string clinical = "image";
  for (auto name : kCoarseTypeNames) clinical += "," + std::string(name);
  clinical += ",all,patient_id\n";  // patient_id: folds are split by patient
  for (const auto& o : outputs) {
    for (const auto& r : o.dl_rows) dl += r + "\n";
    for (const auto& r : o.lesion_rows) lesions += r + "\n";
    clinical += o.clinical_row + "\n";
    sum.lesions += o.lesions;
    sum.lesion_key_slices += o.key_slices;
    sum.bytes += o.bytes;
    for (int t = 0; t < kNumCoarseTypes; ++t) sum.lesions_per_type[t] += o.per_type[t];
  }
  for (int sp : splits) sum.patients_per_split[sp - 1]++;

  fs::rename(partial, spec.out / "Images_png");
  write_file_atomic(spec.out / "DL_info.csv", dl);
  write_file_atomic(spec.out / "lesions.csv", lesions);
  write_file_atomic(spec.out / "clinical.csv", clinical);
  YAML::Emitter yaml;
  yaml << synth_data_yaml(spec);
  write_file_atomic(spec.out / "synth.yaml", std::string(yaml.c_str()) + "\n");
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return sum;
}

std::string SynthSummary::to_text() const {
  std::string s = fmt::format("{} patients, {} studies, {} slices ({:.1f} MB of PNG)\n", patients, studies, slices,
                              static_cast<double>(bytes) / 1e6);
  s += fmt::format("{} lesions on {} key slices:", lesions, lesion_key_slices);
  for (int t = 0; t < kNumCoarseTypes; ++t) s += fmt::format(" {} {}{}", kCoarseTypeNames[t], lesions_per_type[t], t + 1 < kNumCoarseTypes ? "," : "");
  s += fmt::format("\npatients per split: train {}, val {}, test {}\n", patients_per_split[0], patients_per_split[1],
                   patients_per_split[2]);
  s += fmt::format("took {:.1f} s ({:.0f} slices/s)\n", seconds, seconds > 0 ? static_cast<double>(slices) / seconds : 0.0);
  return s;
}

}  // namespace radclear::data
