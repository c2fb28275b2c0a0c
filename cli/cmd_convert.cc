// `radclear convert --to deeplesion`: the slices of an index (DICOM frames,
// NIfTI planes, or PNGs already in HU) written in DeepLesion's layout, for
// tools that want PNG files. radclear itself reads DICOM and NIfTI in place
// and needs no copy.
//
//   OUT/Images_png/<patient>_<study>_<series>/<slice>.png   16-bit, HU + 32768
//   OUT/ids.csv       folder -> the patient, study and series ids it stands for
//   OUT/DL_info.csv   one row per lesion box of the index (DeepLesion's 18
//                     columns; what a DICOM/NIfTI index does not know is
//                     written as unknown: type -1, no gender or age)
//
// DeepLesion's folder names are numbers: patients are numbered 1.. in id
// order, a patient's studies 1.. and a study's series 1.., slices by their
// slice number + 1 (DeepLesion counts from 1).
#include <CLI/CLI.hpp>
#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

#include "cli/command.h"
#include "cli/exit_code.h"
#include "common/check.h"
#include "common/logging.h"
#include "common/parallel.h"
#include "data/scanner_decode.h"
#include "storage/index.h"

namespace radclear::cli {

namespace {

namespace fs = std::filesystem;

struct ConvertFlags {
  std::string to;
  std::string db, data, out;
  int threads = 0;
};

struct SliceJob {
  std::string source_path;
  SliceSource source = SliceSource::kImageFile;
  int frame = 0;
  fs::path target;
};

// DeepLesion's split column needs 1..3; a study without a split is written
// as 1 (train) and ids.csv says which ones were.
int split_column(storage::Split s) { return s == storage::Split::kUnknown ? 1 : static_cast<int>(s); }

// An id as a CSV field: quoted when it holds a comma, quote or newline.
std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\n") == std::string::npos) return v;
  std::string q = "\"";
  for (char c : v) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

Status convert(const ConvertFlags& f) {
  if (f.to != "deeplesion") return Status::InvalidArgument(fmt::format("--to {}: only deeplesion is written", f.to));
  storage::IndexOptions o;
  o.read_only = true;
  auto opened = storage::SliceIndex::Open(f.db, o);
  if (!opened.ok()) return opened.status();
  const storage::SliceIndex& index = *opened.value();
  auto studies = index.ListStudies();
  if (!studies.ok()) return studies.status();
  std::map<std::string, std::vector<const storage::StudyRecord*>> by_patient;
  for (const auto& s : studies.value()) by_patient[s.patient_id].push_back(&s);

  const fs::path out(f.out);
  std::error_code ec;
  fs::create_directories(out / "Images_png", ec);
  if (ec) return Status::IoError(fmt::format("{}: cannot create: {}", (out / "Images_png").string(), ec.message()));
  std::ofstream ids(out / "ids.csv"), dl(out / "DL_info.csv");
  if (!ids || !dl) return Status::IoError(fmt::format("{}: cannot write ids.csv / DL_info.csv", out.string()));
  ids << "folder,patient_id,study_id,series,split_known\n";
  dl << "File_name,Patient_index,Study_index,Series_ID,Key_slice_index,Measurement_coordinates,Bounding_boxes,"
        "Lesion_diameters_Pixel_,Normalized_lesion_location,Coarse_lesion_type,Possibly_noisy,Slice_range,"
        "Spacing_mm_px_,Image_size,DICOM_windows,Patient_gender,Patient_age,Train_Val_Test\n";
  std::vector<SliceJob> jobs;
  std::set<std::string> folders;
  int patient_index = 0;
  for (const auto& [patient, list] : by_patient) {
    if (++patient_index > 999999) return Status::InvalidArgument("more than 999999 patients do not fit DeepLesion's names");
    if (list.size() > 99) {
      return Status::InvalidArgument(fmt::format("patient {} has {} studies; DeepLesion's names hold 99", patient, list.size()));
    }
    for (size_t si = 0; si < list.size(); ++si) {
      const storage::StudyRecord& study = *list[si];
      if (study.series.size() > 99) {
        return Status::InvalidArgument(fmt::format("study {} has {} series; DeepLesion's names hold 99",
                                                   study.study_id, study.series.size()));
      }
      auto slices = index.SlicesOfStudy(study.study_id);
      if (!slices.ok()) return slices.status();
      for (const storage::SliceRecord& r : slices.value()) {
        const size_t ri = static_cast<size_t>(
            std::lower_bound(study.series.begin(), study.series.end(), r.id.series) - study.series.begin());
        const std::string folder = fmt::format("{:06d}_{:02d}_{:02d}", patient_index, si + 1, ri + 1);
        const uint32_t number = r.id.slice_number + 1;
        if (folders.insert(folder).second) {
          ids << fmt::format("{},{},{},{},{}\n", folder, csv_field(patient), csv_field(study.study_id),
                             csv_field(r.id.series), study.split == storage::Split::kUnknown ? 0 : 1);
        }
        const std::string file = fmt::format("{:03d}.png", number);
        jobs.push_back({(fs::path(f.data) / r.rel_path).string(), r.source, static_cast<int>(r.frame),
                        out / "Images_png" / folder / file});
        for (const storage::Box& b : r.lesion_boxes) {
          dl << fmt::format(
              "{}_{},{},{},{},{},\"{}, {}, {}, {}, {}, {}, {}, {}\",\"{}, {}, {}, {}\",\"{}, {}\",\"0, 0, 0\",-1,0,"
              "\"{}, {}\",\"{}, {}, {}\",\"{}, {}\",\"-1024, 3071\",,,{}\n",
              folder, file, patient_index, si + 1, ri + 1, number, b.x1, b.y1, b.x2, b.y2, b.x1, b.y2, b.x2, b.y1,
              b.x1, b.y1, b.x2, b.y2, b.x2 - b.x1, b.y2 - b.y1, number, number, r.spacing_mm[0], r.spacing_mm[1],
              r.spacing_mm[2], r.width, r.height, split_column(study.split));
        }
      }
    }
  }
  std::atomic<int64_t> written{0};
  std::mutex err_mu;
  std::string first_error;
  parallel_for(static_cast<int64_t>(jobs.size()), f.threads > 0 ? f.threads : hardware_threads(), [&](int64_t i) {
    const SliceJob& j = jobs[static_cast<size_t>(i)];
    try {
      const data::DecodedImage img = data::decode_slice_source(j.source_path, j.source, j.frame);
      if (img.kind != data::PixelKind::kHounsfield) {
        throw CorruptData(fmt::format("{}: a {} image; DeepLesion's PNGs hold HU (CT sources only)", j.source_path,
                                      data::pixel_kind_name(img.kind)));
      }
      std::error_code dir_ec;
      fs::create_directories(j.target.parent_path(), dir_ec);
      if (!cv::imwrite(j.target.string(), data::hounsfield_to_png16(img.pixels))) {
        throw IoError(fmt::format("{}: cannot write", j.target.string()));
      }
      ++written;
    } catch (const Error& e) {
      std::lock_guard<std::mutex> lock(err_mu);
      if (first_error.empty()) first_error = fmt::format("frame {}: {}", j.frame, e.what());
    }
  });
  if (!first_error.empty()) {
    return Status::Corruption(fmt::format("convert: {} of {} slices written; first failure: {}", written.load(),
                                          jobs.size(), first_error));
  }
  spdlog::info("convert: {} slices of {} patients written to {} (index it with radclear index --data {} --dl-info {})",
               jobs.size(), by_patient.size(), (out / "Images_png").string(), out.string(), (out / "DL_info.csv").string());
  return Status::Ok();
}

}  // namespace

Runner setup_convert(CLI::App& app) {
  auto f = std::make_shared<ConvertFlags>();
  app.add_option("--to", f->to, "Output layout: deeplesion")->required();
  app.add_option("--db", f->db, "Slice index (radclear index)")->required();
  app.add_option("--data", f->data, "Data root the index's paths are relative to (the --dicom / --nifti folder)")
      ->required();
  app.add_option("--out", f->out, "Output folder: Images_png/, DL_info.csv, ids.csv")->required();
  app.add_option("--threads", f->threads, "Decode/encode threads (0 = all cores)")->capture_default_str();
  app.footer(
      "Example:\n"
      "  radclear index --dicom scans/ --db scans.index\n"
      "  radclear convert --to deeplesion --db scans.index --data scans/ --out scans_png/\n"
      "radclear reads DICOM and NIfTI in place; this copy is for other tools.\n");
  return [f] {
    const Status s = convert(*f);
    if (!s.ok()) {
      spdlog::error("{}", s.to_string());
      return exit_code(s);
    }
    return 0;
  };
}

}  // namespace radclear::cli
