// storage/scanner_listing + run_index on DICOM and NIfTI fixtures made from
// real files (tests/data/make_scanner_fixtures.py).
#include "storage/scanner_listing.h"

#include <gtest/gtest.h>

#include "tests/data/scanner_fixtures.h"
#include "tests/storage/index_fixtures.h"

namespace radclear::storage {
namespace {

namespace fs = std::filesystem;
using radclear::testing::kAxialFilesInOrder;
using radclear::testing::scanner_fixtures;
using testing::TempDir;
using testing::write_text;

constexpr const char* kStudy = "2.25.700001";
constexpr const char* kAxial = "2.25.700010";

DataListing dicom_listing(const fs::path& root) {
  auto r = list_dicom_root(root, {});
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? std::move(r.value()) : DataListing{};
}

TEST(ScannerListing, DicomKeepsAxialCtSeriesAndCountsWhatItLeavesOut) {
  const DataListing l = dicom_listing(scanner_fixtures() / "dicom");
  EXPECT_EQ(l.layout, Layout::kDicom);
  EXPECT_EQ(l.files.size(), 16u);  // 4 series (raw, JPEG lossless, RLE, J2K) x 4 slices
  const std::map<std::string, int64_t> expected{
      {"localizer", 1},          {"secondary capture", 1},           {"not CT", 1},
      {"unreadable", 1},         {"missing ImagePositionPatient", 1}, {"gantry tilt", 1},
      {"non-uniform spacing", 1}, {"not axial", 1},                   {"mixed orientations", 1}};
  EXPECT_EQ(l.skipped, expected);
}

TEST(ScannerListing, DicomSlicesAreOrderedByPositionNotInstanceNumber) {
  const DataListing l = dicom_listing(scanner_fixtures() / "dicom" / "good");
  std::map<uint32_t, const ListedFile*> axial;
  for (const ListedFile& f : l.files) {
    ASSERT_TRUE(f.scanner.has_value());
    if (f.scanner->id.series == kAxial) axial[f.scanner->id.slice_number] = &f;
  }
  ASSERT_EQ(axial.size(), 4u);
  for (uint32_t z = 0; z < 4; ++z) {
    const ScannerSlice& s = *axial.at(z)->scanner;
    EXPECT_EQ(axial.at(z)->rel_path, std::string("axial/") + kAxialFilesInOrder[z]);
    EXPECT_EQ(s.id.study_id, kStudy);
    EXPECT_EQ(s.id.name, kAxialFilesInOrder[z]);
    EXPECT_EQ(s.patient_id, "1CT1");
    EXPECT_EQ(s.source, SliceSource::kDicomFrame);
    EXPECT_EQ(s.width, 128);
    EXPECT_NEAR(s.spacing_mm[0], 0.661468, 1e-6);
    EXPECT_NEAR(s.spacing_mm[1], 0.661468, 1e-6);
    EXPECT_NEAR(s.spacing_mm[2], 5.0, 1e-4);
    EXPECT_FLOAT_EQ(s.slice_thickness_mm, 5.0f);
    EXPECT_NEAR(s.origin[2], -75.699997 + 5.0 * z, 1e-4);
  }
}

DicomFile at(double x, double y, double z, std::array<double, 6> orientation = {1, 0, 0, 0, 1, 0}) {
  DicomFile f;
  f.rel_path = fmt::format("{}.dcm", z);
  f.header.position = {x, y, z};
  f.header.orientation = orientation;
  f.header.rows = f.header.columns = 4;
  return f;
}

TEST(ScannerListing, SeriesRule) {
  // A flipped column direction turns the normal to -z: slice 0 is still the
  // most inferior.
  SeriesOrder o = order_series({at(0, 0, 10, {1, 0, 0, 0, -1, 0}), at(0, 0, 0, {1, 0, 0, 0, -1, 0}),
                                at(0, 0, 5, {1, 0, 0, 0, -1, 0})});
  EXPECT_EQ(o.skip_reason, "");
  EXPECT_EQ(o.order, (std::vector<size_t>{1, 2, 0}));
  EXPECT_DOUBLE_EQ(o.step_mm, 5.0);
  // Scanner rounding in the positions is not a non-uniform spacing.
  EXPECT_EQ(order_series({at(0, 0, 0), at(0, 0, 2.5004), at(0, 0, 4.9998)}).skip_reason, "");
  EXPECT_EQ(order_series({at(0, 0, 0), at(0, 0, 2.5), at(0, 0, 7.5)}).skip_reason, "non-uniform spacing");
  EXPECT_EQ(order_series({at(0, 0, 0), at(0, 0, 0)}).skip_reason, "duplicate position");
  EXPECT_EQ(order_series({at(0, 0, 0), at(0, 1, 5)}).skip_reason, "gantry tilt");  // 11 degrees
  EXPECT_EQ(order_series({at(0, 0, 0, {1, 0, 0, 0, 0, -1})}).skip_reason, "not axial");
  EXPECT_EQ(order_series({at(0, 0, 0), at(0, 0, 5, {0, 1, 0, 1, 0, 0})}).skip_reason, "mixed orientations");
  DicomFile small = at(0, 0, 5);
  small.header.rows = 2;
  EXPECT_EQ(order_series({at(0, 0, 0), small}).skip_reason, "mixed sizes");
  // One slice: kept, no spacing between slices.
  o = order_series({at(0, 0, 0)});
  EXPECT_EQ(o.skip_reason, "");
  EXPECT_EQ(o.step_mm, 0.0);
}

TEST(ScannerListing, StrictStopsAtTheFirstFileLeftOut) {
  ScannerListOptions strict;
  strict.strict = true;
  auto bad = list_dicom_root(scanner_fixtures() / "dicom", strict);
  ASSERT_EQ(bad.status().code(), StatusCode::kCorruption);
  EXPECT_NE(bad.status().message().find("--strict"), std::string::npos) << bad.status().to_string();
  EXPECT_TRUE(list_dicom_root(scanner_fixtures() / "dicom" / "good", strict).ok());
  fs::path root;
  EXPECT_EQ(list_nifti((scanner_fixtures() / "nifti").string(), strict, &root).status().code(),
            StatusCode::kCorruption);  // example4d.nii.gz
}

TEST(ScannerListing, NiftiFolderAndGlob) {
  fs::path root;
  auto all = list_nifti((scanner_fixtures() / "nifti").string(), {}, &root);
  ASSERT_TRUE(all.ok()) << all.status().to_string();
  EXPECT_EQ(root, scanner_fixtures() / "nifti");
  EXPECT_EQ(all->skipped, (std::map<std::string, int64_t>{{"not 3-D", 1}}));
  std::map<std::string, int> planes;
  std::map<std::string, std::string> patient;
  for (const ListedFile& f : all->files) {
    ++planes[f.scanner->id.study_id];
    patient[f.scanner->id.study_id] = f.scanner->patient_id;
    EXPECT_EQ(f.scanner->source, SliceSource::kNiftiPlane);
    EXPECT_EQ(f.scanner->frame, f.scanner->id.slice_number);
  }
  EXPECT_EQ(planes.at("ras"), 3);
  EXPECT_EQ(planes.at("lps"), 3);
  EXPECT_EQ(planes.at("perm_qform"), 3);
  EXPECT_GT(planes.at("anat"), 1);
  EXPECT_EQ(patient.at("anat"), "pat01");  // <root>/<patient>/<study>.nii
  EXPECT_EQ(patient.at("ras"), "ras");
  auto gz = list_nifti((scanner_fixtures() / "nifti" / "*.nii.gz").string(), {}, &root);
  ASSERT_TRUE(gz.ok()) << gz.status().to_string();
  std::set<std::string> studies;
  for (const ListedFile& f : gz->files) studies.insert(f.scanner->id.study_id);
  EXPECT_EQ(studies, (std::set<std::string>{"lps", "perm_qform"}));
  EXPECT_EQ(list_nifti((scanner_fixtures() / "no_such").string(), {}, &root).status().code(),
            StatusCode::kNotFound);
}

// ---- run_index end to end -------------------------------------------------------

struct Indexed {
  TempDir tmp;
  fs::path db = tmp.path() / "index";
  IndexRunReport report;
  Status run(IndexSpec spec) {
    spec.db = db;
    IndexRunOptions options;
    options.progress = false;
    return run_index(spec, options, &report);
  }
  std::unique_ptr<SliceIndex> open() {
    IndexOptions o;
    o.read_only = true;
    auto r = SliceIndex::Open(db, o);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? std::move(r.value()) : nullptr;
  }
};

TEST(ScannerIndex, DicomStudyWithSourcesSpacingAndPatient) {
  Indexed ix;
  IndexSpec spec;
  spec.dicom = scanner_fixtures() / "dicom";
  ASSERT_TRUE(ix.run(spec).ok());
  EXPECT_EQ(ix.report.ingest.slices_new, 16);
  EXPECT_EQ(ix.report.ingest.skipped.at("gantry tilt"), 1);
  {
    auto index = ix.open();
    auto study = index->GetStudy(kStudy);
    ASSERT_TRUE(study.ok()) << study.status().to_string();
    EXPECT_EQ(study->patient_id, "1CT1");
    EXPECT_EQ(study->layout, Layout::kDicom);
    EXPECT_EQ(study->slice_count, 16u);
    EXPECT_EQ(study->series.size(), 4u);
    auto slices = index->SlicesOfStudy(kStudy);
    ASSERT_TRUE(slices.ok());
    for (const SliceRecord& r : slices.value()) {
      EXPECT_EQ(r.source, SliceSource::kDicomFrame);
      EXPECT_EQ(r.width, 128);
      EXPECT_NEAR(r.spacing_mm[2], 5.0, 1e-4);
      EXPECT_EQ(fs::path(r.rel_path).filename().string(), kAxialFilesInOrder[r.id.slice_number]);
    }
  }
  ASSERT_TRUE(ix.run(spec).ok());  // idempotent
  EXPECT_EQ(ix.report.ingest.slices_new, 0);
  EXPECT_EQ(ix.report.ingest.slices_unchanged, 16);
  spec.strict = true;
  EXPECT_EQ(ix.run(spec).code(), StatusCode::kCorruption);
}

std::map<uint32_t, std::vector<Box>> boxes_of(SliceIndex& index, const std::string& study, const std::string& series) {
  std::map<uint32_t, std::vector<Box>> out;
  auto slices = index.SlicesOfStudy(study);
  EXPECT_TRUE(slices.ok());
  for (const SliceRecord& r : slices.value()) {
    if (r.id.series == series && r.lesion) out[r.id.slice_number] = r.lesion_boxes;
  }
  return out;
}

TEST(ScannerIndex, NiftiLesionBoxesInVoxelAndPatientSpace) {
  Indexed ix;
  IndexSpec spec;
  spec.nifti = (scanner_fixtures() / "nifti").string();
  spec.lesion_boxes = ix.tmp.path() / "boxes.csv";
  // ras: slices 1..2; lps: LPS (2, 3, 4)-(6, 6, 4) mm is voxel (1, 1)-(3, 2) of plane 1.
  write_text(spec.lesion_boxes, "study,x1,y1,z1,x2,y2,z2\nras,1,1,1,3,2,2\n");
  ASSERT_TRUE(ix.run(spec).ok());
  {
    auto index = ix.open();
    const auto ras = boxes_of(*index, "ras", "");
    ASSERT_EQ(ras.size(), 2u);
    EXPECT_EQ(ras.at(1), (std::vector<Box>{{1, 1, 3, 2}}));
    EXPECT_EQ(ras.at(2), (std::vector<Box>{{1, 1, 3, 2}}));
    auto study = index->GetStudy("anat");
    ASSERT_TRUE(study.ok());
    EXPECT_EQ(study->patient_id, "pat01");
  }
  spec.box_space = stages::BoxSpace::kPatient;
  write_text(spec.lesion_boxes, "study,x1,y1,z1,x2,y2,z2\nlps,2,3,4,6,6,4\n");
  ASSERT_TRUE(ix.run(spec).ok());
  auto index = ix.open();
  const auto lps = boxes_of(*index, "lps", "");
  ASSERT_EQ(lps.size(), 1u);
  EXPECT_EQ(lps.at(1), (std::vector<Box>{{1, 1, 3, 2}}));
  EXPECT_TRUE(boxes_of(*index, "ras", "").empty());  // this run's box source is authoritative
}

TEST(ScannerIndex, DicomBoxesInPatientSpaceAndBadRows) {
  Indexed ix;
  IndexSpec spec;
  spec.dicom = scanner_fixtures() / "dicom" / "good";
  spec.box_space = stages::BoxSpace::kPatient;
  spec.lesion_boxes = ix.tmp.path() / "boxes.csv";
  const double x0 = -158.135803, y0 = -179.035797, z0 = -75.699997, px = 0.661468;
  write_text(spec.lesion_boxes,
             fmt::format("study,series,x1,y1,z1,x2,y2,z2\n{},{},{},{},{},{},{},{}\n{},{},1,1,1,2,2,x\n", kStudy,
                         kAxial, x0 + 10 * px, y0 + 20 * px, z0 + 5, x0 + 30 * px, y0 + 40 * px, z0 + 10, kStudy,
                         kAxial));
  ASSERT_TRUE(ix.run(spec).ok());
  EXPECT_EQ(ix.report.ingest.bad_rows, 1);
  auto index = ix.open();
  const auto boxes = boxes_of(*index, kStudy, kAxial);
  ASSERT_EQ(boxes.size(), 2u);  // slices 1 and 2
  for (uint32_t z : {1u, 2u}) {
    ASSERT_EQ(boxes.at(z).size(), 1u);
    const Box& b = boxes.at(z)[0];
    EXPECT_NEAR(b.x1, 10, 1e-3);
    EXPECT_NEAR(b.y1, 20, 1e-3);
    EXPECT_NEAR(b.x2, 30, 1e-3);
    EXPECT_NEAR(b.y2, 40, 1e-3);
  }
  EXPECT_TRUE(boxes_of(*index, kStudy, "2.25.700011").empty());  // the series column chose one
}

TEST(ScannerIndex, PngLesionTablesAreRefusedForScannerData) {
  Indexed ix;
  IndexSpec spec;
  spec.dicom = scanner_fixtures() / "dicom" / "good";
  spec.lesion_csv = ix.tmp.path() / "lesions.csv";
  write_text(spec.lesion_csv, "image,lesion_present\nct_a.dcm,1\n");
  const Status s = ix.run(spec);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--lesion-boxes"), std::string::npos) << s.to_string();
}

TEST(ScannerIndex, OneSourceOnly) {
  IndexSpec spec;
  spec.db = "x";
  EXPECT_THROW(spec.validate(), InvalidArgument);
  spec.dicom = "a";
  spec.nifti = "b";
  EXPECT_THROW(spec.validate(), InvalidArgument);
  spec.nifti.clear();
  EXPECT_NO_THROW(spec.validate());
}

}  // namespace
}  // namespace radclear::storage
