#include "storage/ingest.h"

#include <cmath>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/storage/index_fixtures.h"

namespace radclear::storage {
namespace {

using testing::dl_info_header;
using testing::dl_info_row;
using testing::dump;
using testing::make_deeplesion_study;
using testing::TempDir;
using testing::write_bytes;
using testing::write_text;
namespace fs = std::filesystem;

std::unique_ptr<SliceIndex> open_index(const fs::path& p) {
  auto r = SliceIndex::Open(p);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? std::move(r.value()) : nullptr;
}

DataListing list(const fs::path& root, LayoutChoice c = LayoutChoice::kAuto) {
  auto r = list_data_root(root, c);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? std::move(r.value()) : DataListing{};
}

IngestReport run(SliceIndex& index, const DataListing& listing, const IngestOptions& o,
                 StatusCode expect = StatusCode::kOk) {
  IngestReport report;
  Status s = ingest(index, listing, o, &report);
  EXPECT_EQ(s.code(), expect) << s.to_string();
  return report;
}

// Two patients, three DeepLesion studies (one with two series).
struct DeepLesionData {
  TempDir tmp;
  fs::path root = tmp.path() / "deeplesion";
  fs::path dl_info = root / "DL_info.csv";
  DeepLesionData() {
    make_deeplesion_study(root, 1, 1, 1, 12);
    make_deeplesion_study(root, 1, 2, 1, 5);
    make_deeplesion_study(root, 2, 1, 3, 8);
    write_text(root / "README.txt", "not a slice");
    write_text(root / "Images_png" / "000001_01_01" / "notes.txt", "not a slice");
    write_text(dl_info, dl_info_header() + dl_info_row(1, 1, 1, 10, "10.5, 20, 50, 60.25", 4, 1) +
                            dl_info_row(1, 1, 1, 10, "100, 100, 120, 130", 5, 1) +
                            dl_info_row(1, 2, 1, 3, "1, 2, 3, 4", -1, 1) +
                            dl_info_row(2, 1, 3, 7, "200, 210, 300, 311", 8, 3, "M", "NaN"));
  }
};

TEST(IndexIngest, DeepLesionLayout) {
  DeepLesionData d;
  const DataListing listing = list(d.root);
  EXPECT_EQ(listing.layout, Layout::kDeepLesion);
  EXPECT_EQ(listing.files.size(), 25u);
  EXPECT_EQ(listing.ignored, 1);  // notes.txt (top-level files are outside Images_png)

  auto index = open_index(d.tmp.path() / "db");
  ASSERT_TRUE(index);
  IngestOptions o;
  o.dl_info = d.dl_info;
  const IngestReport r = run(*index, listing, o);
  EXPECT_EQ(r.slices_new, 25);
  EXPECT_EQ(r.studies_written, 3);
  EXPECT_EQ(r.lesions_written, 4);
  EXPECT_EQ(r.patients_written, 2);
  EXPECT_EQ(r.bad_rows, 0);
  EXPECT_EQ(r.rows_read, 4);

  auto study = index->GetStudy("000001_01_01");
  ASSERT_TRUE(study.ok()) << study.status().to_string();
  EXPECT_EQ(study.value().patient_id, "000001");
  EXPECT_EQ(study.value().layout, Layout::kDeepLesion);
  EXPECT_EQ(study.value().split, Split::kTrain);
  EXPECT_EQ(study.value().slice_count, 12u);
  EXPECT_EQ(study.value().lesion_slice_count, 1u);
  EXPECT_EQ(study.value().lesion_count, 2u);
  EXPECT_EQ(study.value().patient_age, 62);
  EXPECT_EQ(study.value().series, (std::vector<std::string>{"01"}));
  EXPECT_EQ(index->GetStudy("000002_01_03").value().split, Split::kTest);
  EXPECT_EQ(index->GetStudy("000002_01_03").value().patient_age, -1);

  auto slices = index->SlicesOfStudy("000001_01_01");
  ASSERT_TRUE(slices.ok());
  ASSERT_EQ(slices.value().size(), 12u);
  const SliceRecord& key = slices.value()[9];
  EXPECT_EQ(key.id.slice_number, 10u);
  EXPECT_EQ(key.rel_path, "Images_png/000001_01_01/010.png");
  EXPECT_EQ(key.file_size, 110u);
  EXPECT_TRUE(key.lesion);
  ASSERT_EQ(key.lesion_boxes.size(), 2u);
  EXPECT_EQ(key.lesion_boxes[0], (Box{10.5f, 20.f, 50.f, 60.25f}));
  EXPECT_EQ(key.lesion_boxes[1], (Box{100.f, 100.f, 120.f, 130.f}));
  EXPECT_EQ(key.width, 512);
  EXPECT_FALSE(slices.value()[0].lesion);

  auto lesions = index->LesionsOfSlice(key.id);
  ASSERT_TRUE(lesions.ok());
  ASSERT_EQ(lesions.value().size(), 2u);
  const LesionRecord& l = lesions.value()[0];
  EXPECT_EQ(l.file_name, "000001_01_01_010.png");
  EXPECT_EQ(l.source_line, 2);
  EXPECT_EQ(l.ordinal, 0);
  EXPECT_EQ(l.coarse_lesion_type, 4);
  EXPECT_EQ(lesions.value()[1].coarse_lesion_type, 5);
  EXPECT_EQ(l.key_slice_index, 10);
  EXPECT_DOUBLE_EQ(l.measurement_coordinates[7], 101.1);
  EXPECT_DOUBLE_EQ(l.lesion_diameters_pixel[0], 11.96);
  EXPECT_DOUBLE_EQ(l.normalized_lesion_location[2], 0.85);
  EXPECT_EQ(l.slice_range, (std::array<int32_t, 2>{8, 12}));
  EXPECT_DOUBLE_EQ(l.spacing_mm_px[2], 5.0);
  EXPECT_EQ(l.image_size, (std::array<int32_t, 2>{512, 512}));
  EXPECT_DOUBLE_EQ(l.dicom_windows[0], -175.0);
  EXPECT_EQ(l.patient_gender, 'F');
  EXPECT_EQ(l.split, Split::kTrain);

  auto patient = index->GetPatient("000001");
  ASSERT_TRUE(patient.ok());
  EXPECT_EQ(patient.value().gender, 'F');
  EXPECT_EQ(patient.value().study_ids, (std::vector<std::string>{"000001_01_01", "000001_02_01"}));
  EXPECT_EQ(index->GetPatient("000002").value().gender, 'M');

  auto lesion_slices = index->LesionSlices();
  ASSERT_TRUE(lesion_slices.ok());
  EXPECT_EQ(lesion_slices.value().size(), 3u);
  EXPECT_EQ(index->ListStudyIds(Split::kTrain).value(),
            (std::vector<std::string>{"000001_01_01", "000001_02_01"}));
  EXPECT_EQ(index->ListStudyIds(Split::kTest).value(), (std::vector<std::string>{"000002_01_03"}));

  auto stats = index->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats.value().patients, 2);
  EXPECT_EQ(stats.value().studies, 3);
  EXPECT_EQ(stats.value().slices, 25);
  EXPECT_EQ(stats.value().lesion_slices, 3);
  EXPECT_EQ(stats.value().lesions, 4);
  EXPECT_EQ(stats.value().lesions_by_type.at(-1), 1);
  EXPECT_EQ(stats.value().lesions_by_type.at(8), 1);
  EXPECT_EQ(stats.value().lesions_by_split.at(Split::kTrain), 3);
  EXPECT_EQ(stats.value().studies_by_split.at(Split::kTest), 1);
}

// CLEAR's layout: <study>/<slice>.png + lesion CSV + clinical CSV.
struct ClearData {
  TempDir tmp;
  fs::path root = tmp.path() / "clear";
  ClearData() {
    for (int k = 1; k <= 4; ++k) {
      write_bytes(root / "patient_001" / fmt::format("patient_001_slice_{:03d}.png", k), 50 + k);
      write_bytes(root / "patient_002" / fmt::format("slice_{}.jpg", k), 60 + k);
    }
    write_bytes(root / "patient_002" / "slice_10.jpg", 70);
    write_text(root / "lesions.csv",
               "image,lesion_present,patient_id\n"
               "patient_001_slice_002.png,1,P1\n"
               "patient_001_slice_003.png,0,P1\n"
               "patient_002/slice_10.jpg,1,P2\n");
    write_text(root / "clinical.csv",
               "image,liver,lung,all\n"
               "patient_001,1,0,10\n"
               "patient_002,0,,00\n");
  }
};

TEST(IndexIngest, ClearLayoutWithLesionAndClinicalCsv) {
  ClearData d;
  const DataListing listing = list(d.root);
  EXPECT_EQ(listing.layout, Layout::kClear);
  EXPECT_EQ(listing.files.size(), 9u);
  EXPECT_EQ(listing.ignored, 2);  // the two CSVs at the top level

  auto index = open_index(d.tmp.path() / "db");
  ASSERT_TRUE(index);
  IngestOptions o;
  o.lesion_csv = d.root / "lesions.csv";
  o.clinical_csv = d.root / "clinical.csv";
  const IngestReport r = run(*index, listing, o);
  EXPECT_EQ(r.bad_rows, 0);
  EXPECT_EQ(r.slices_new, 9);

  auto s1 = index->GetStudy("patient_001");
  ASSERT_TRUE(s1.ok());
  EXPECT_EQ(s1.value().patient_id, "P1");
  EXPECT_EQ(s1.value().layout, Layout::kClear);
  EXPECT_EQ(s1.value().split, Split::kUnknown);
  EXPECT_EQ(s1.value().lesion_slice_count, 1u);
  EXPECT_EQ(s1.value().stratum, "10");
  auto labels = index->ClinicalLabels("patient_001");
  ASSERT_TRUE(labels.ok());
  ASSERT_EQ(labels.value().size(), 2u);
  EXPECT_EQ(labels.value()[0].name, "liver");
  EXPECT_EQ(labels.value()[0].value, 1.f);
  EXPECT_EQ(labels.value()[1].value, 0.f);
  EXPECT_TRUE(std::isnan(index->ClinicalLabels("patient_002").value()[1].value));
  EXPECT_EQ(index->PatientOfStudy("patient_002").value(), "P2");

  // z order comes from the trailing number: slice_10 after slice_4.
  auto slices = index->SlicesOfStudy("patient_002");
  ASSERT_TRUE(slices.ok());
  ASSERT_EQ(slices.value().size(), 5u);
  EXPECT_EQ(slices.value()[4].id.name, "slice_10");
  EXPECT_TRUE(slices.value()[4].lesion);
  EXPECT_TRUE(slices.value()[4].lesion_boxes.empty());

  auto ls = index->LesionSlices();
  ASSERT_TRUE(ls.ok());
  ASSERT_EQ(ls.value().size(), 2u);
  EXPECT_EQ(ls.value()[0].slice.rel_path, "patient_001/patient_001_slice_002.png");
  EXPECT_TRUE(ls.value()[0].lesions.empty());
  EXPECT_EQ(index->ListStudyIds(Split::kUnknown).value().size(), 2u);
  EXPECT_EQ(index->GetPatient("P1").value().study_ids, (std::vector<std::string>{"patient_001"}));
}

TEST(IndexIngest, MalformedRowsAreSkippedAndCountedWithFileAndLine) {
  DeepLesionData d;
  const std::string good = dl_info_row(1, 1, 1, 4, "1, 2, 3, 4");
  std::string wrong_columns = dl_info_row(1, 1, 1, 5, "1, 2, 3, 4");
  wrong_columns.insert(wrong_columns.size() - 1, ",extra");
  write_text(d.dl_info, dl_info_header() + good +                           // line 2
                            wrong_columns +                                 // line 3
                            dl_info_row(1, 1, 1, 6, "1, two, 3, 4") +       // line 4
                            dl_info_row(1, 1, 1, 7, "500, 2, 513, 40") +    // line 5: x2 > 512
                            dl_info_row(1, 1, 1, 99, "1, 2, 3, 4") +        // line 6: no such slice
                            dl_info_row(9, 1, 1, 1, "1, 2, 3, 4") +         // line 7: no such study
                            "../../etc_01_01_001.png" + good.substr(good.find(',')) +  // line 8
                            dl_info_row(1, 1, 1, 8, "30, 2, 3, 4"));        // line 9: x1 > x2
  auto index = open_index(d.tmp.path() / "db");
  ASSERT_TRUE(index);
  IngestOptions o;
  o.dl_info = d.dl_info;
  const IngestReport r = run(*index, list(d.root), o);
  EXPECT_EQ(r.rows_read, 8);
  ASSERT_EQ(r.bad_rows, 7);
  ASSERT_EQ(r.bad_row_list.size(), 7u);
  const std::vector<std::pair<int, std::string>> expected = {
      {3, "expected 18 columns, got 19"}, {4, "'two' is not a number"},
      {5, "not inside the 512x512 image"}, {6, "unknown slice"},
      {7, "unknown slice"},               {8, "escapes the data root"},
      {9, "not inside"}};
  for (size_t i = 0; i < expected.size(); ++i) {
    const BadRow& b = r.bad_row_list[i];
    EXPECT_NE(b.where.find(fmt::format("DL_info.csv:{}", expected[i].first)), std::string::npos) << b.where;
    EXPECT_NE(b.reason.find(expected[i].second), std::string::npos) << b.where << ": " << b.reason;
  }
  EXPECT_EQ(r.lesions_written, 1);
  EXPECT_EQ(index->Stats().value().lesions, 1);
  EXPECT_EQ(index->Stats().value().studies, 3);  // the unknown study 000009 was not created
}

TEST(IndexIngest, StrictMakesABadRowFatalAndWritesNothing) {
  DeepLesionData d;
  write_text(d.dl_info, dl_info_header() + dl_info_row(1, 1, 1, 4, "1, 2, 3, 4") +
                            dl_info_row(1, 1, 1, 5, "1, 2, 3, x"));
  auto index = open_index(d.tmp.path() / "db");
  ASSERT_TRUE(index);
  IngestOptions o;
  o.dl_info = d.dl_info;
  o.strict = true;
  IngestReport report;
  const Status s = ingest(*index, list(d.root), o, &report);
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_NE(s.message().find("DL_info.csv:3"), std::string::npos) << s.message();
  EXPECT_TRUE(index->ListStudyIds().value().empty());
  int64_t slices = 0;
  ASSERT_TRUE(index->ForEachSlice([&](const SliceRecord&) { return ++slices, true; }).ok());
  EXPECT_EQ(slices, 0);
}

TEST(IndexIngest, ClearCsvRowsThatEscapeOrAreUnknownAreRejected) {
  ClearData d;
  write_text(d.root / "lesions.csv",
             "image,lesion_present,patient_id\n"
             "../outside.png,1,P1\n"                 // 2: escapes
             "/etc/passwd,1,P1\n"                    // 3: absolute
             "patient_001_slice_002.png,1,../x\n"    // 4: patient escapes
             "patient_001_slice_009.png,1,P1\n"      // 5: unknown
             "patient_001_slice_002.png,maybe,P1\n"  // 6: not 0/1
             "patient_001_slice_002.png,1\n"         // 7: column count
             "patient_001_slice_001.png,1,P1\n");    // 8: good
  write_text(d.root / "clinical.csv",
             "image,liver,all\n"
             "..,1,1\n"              // 2: escapes
             "patient_404,1,1\n"     // 3: unknown study
             "patient_001,maybe,1\n" // 4: neither a number nor no/yes
             "patient_002,1,1\n"     // 5: good
             "patient_002,0,0\n");   // 6: duplicate
  auto index = open_index(d.tmp.path() / "db");
  ASSERT_TRUE(index);
  IngestOptions o;
  o.lesion_csv = d.root / "lesions.csv";
  o.clinical_csv = d.root / "clinical.csv";
  const IngestReport r = run(*index, list(d.root), o);
  EXPECT_EQ(r.bad_rows, 10);
  std::vector<std::string> where;
  for (const auto& b : r.bad_row_list) where.push_back(fs::path(b.where).filename().string());
  EXPECT_EQ(where, (std::vector<std::string>{"lesions.csv:2", "lesions.csv:3", "lesions.csv:4",
                                             "lesions.csv:5", "lesions.csv:6", "lesions.csv:7",
                                             "clinical.csv:2", "clinical.csv:3", "clinical.csv:4",
                                             "clinical.csv:6"}));
  EXPECT_NE(r.bad_row_list[0].reason.find("escapes the data root"), std::string::npos);
  EXPECT_NE(r.bad_row_list[6].reason.find("escapes the data root"), std::string::npos);
  EXPECT_EQ(index->GetStudy("patient_001").value().lesion_slice_count, 1u);
  EXPECT_EQ(index->ClinicalLabels("patient_002").value()[0].value, 1.f);
  EXPECT_TRUE(index->ClinicalLabels("patient_001").value().empty());
}

TEST(IndexIngest, ABareFileNameInTwoStudiesIsAmbiguous) {
  TempDir tmp;
  const fs::path root = tmp.path() / "clear";
  write_bytes(root / "a" / "img_1.png", 10);
  write_bytes(root / "b" / "img_1.png", 10);
  write_text(root / "lesions.csv", "image,lesion_present,patient_id\nimg_1.png,1,\nimg_1.png,1,b\n");
  auto index = open_index(tmp.path() / "db");
  ASSERT_TRUE(index);
  IngestOptions o;
  o.lesion_csv = root / "lesions.csv";
  const IngestReport r = run(*index, list(root), o);
  ASSERT_EQ(r.bad_rows, 1);
  EXPECT_NE(r.bad_row_list[0].where.find("lesions.csv:2"), std::string::npos);
  EXPECT_NE(r.bad_row_list[0].reason.find("ambiguous"), std::string::npos) << r.bad_row_list[0].reason;
  // Line 3 names the folder through patient_id.
  EXPECT_EQ(index->GetStudy("b").value().lesion_slice_count, 1u);
  EXPECT_EQ(index->GetStudy("a").value().lesion_slice_count, 0u);
  EXPECT_EQ(index->PatientOfStudy("a").value(), "a");
}

// CLEAR's README: root/<patient_or_study>/<slice>.png and a lesion table
// `image,lesion_present,patient_id` whose image is `<folder>_<file>`
// (patient_001_slice_001.png for patient_001/slice_001.png), with no/yes
// flags and a ';' separator; `<folder>/<file>` still works.
TEST(IndexIngest, ClearReadmeNamesFolderUnderscoreFile) {
  TempDir tmp;
  const fs::path root = tmp.path() / "clear";
  for (int k = 1; k <= 3; ++k) {
    write_bytes(root / "patient_001" / fmt::format("slice_{:03d}.png", k), 10);
    write_bytes(root / "patient_002" / fmt::format("slice_{:03d}.png", k), 10);
  }
  write_text(root / "lesions.csv",
             "image;lesion_present;patient_id\n"
             "patient_001_slice_001.png;1;patient_001\n"
             "patient_001_slice_002.png;no;patient_001\n"
             "patient_002_slice_003.png;Yes;\n"         // no patient_id: the study from the name
             "patient_002/slice_001.png;1;patient_002\n");
  auto index = open_index(tmp.path() / "db");
  ASSERT_TRUE(index);
  IngestOptions o;
  o.lesion_csv = root / "lesions.csv";
  o.csv_separator = ';';
  const IngestReport r = run(*index, list(root), o);
  EXPECT_EQ(r.bad_rows, 0) << (r.bad_row_list.empty() ? "" : r.bad_row_list[0].reason);
  auto lesion_names = [&](const std::string& study) {
    std::vector<std::string> names;
    const auto slices = index->SlicesOfStudy(study);
    EXPECT_TRUE(slices.ok());
    for (const auto& s : slices.value()) {
      if (s.lesion) names.push_back(s.id.name);
    }
    return names;
  };
  EXPECT_EQ(lesion_names("patient_001"), (std::vector<std::string>{"slice_001"}));
  EXPECT_EQ(lesion_names("patient_002"), (std::vector<std::string>{"slice_001", "slice_003"}));
}

TEST(IndexIngest, AnUnderscoreNameWithTwoReadingsIsAmbiguous) {
  TempDir tmp;
  const fs::path root = tmp.path() / "clear";
  write_bytes(root / "a" / "b_c.png", 10);
  write_bytes(root / "a_b" / "c.png", 10);
  write_bytes(root / "a_b" / "d.png", 10);
  write_text(root / "lesions.csv", "image,lesion_present\na_b_c.png,1\na_b_d.png,1\n");
  auto index = open_index(tmp.path() / "db");
  ASSERT_TRUE(index);
  IngestOptions o;
  o.lesion_csv = root / "lesions.csv";
  const IngestReport r = run(*index, list(root), o);
  ASSERT_EQ(r.bad_rows, 1);
  EXPECT_NE(r.bad_row_list[0].where.find("lesions.csv:2"), std::string::npos);
  EXPECT_NE(r.bad_row_list[0].reason.find("ambiguous"), std::string::npos) << r.bad_row_list[0].reason;
  EXPECT_EQ(index->GetStudy("a_b").value().lesion_slice_count, 1u);
}

// The failure of issue #21: every row unknown used to give 0 lesions and OK.
TEST(IndexIngest, ALesionTableWhoseEveryRowFailsIsAnError) {
  ClearData d;
  write_text(d.root / "lesions.csv",
             "image,lesion_present,patient_id\n"
             "elsewhere_slice_002.png,1,P1\n"
             "elsewhere_slice_003.png,0,P1\n");
  auto index = open_index(d.tmp.path() / "db");
  ASSERT_TRUE(index);
  IngestOptions o;
  o.lesion_csv = d.root / "lesions.csv";
  IngestReport report;
  const Status s = ingest(*index, list(d.root), o, &report);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.to_string();
  EXPECT_NE(s.message().find("lesions.csv"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("lesions.csv:2"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("elsewhere_slice_002.png"), std::string::npos) << s.message();
  EXPECT_TRUE(index->ListStudyIds().value().empty());  // nothing written
  // One good row is enough: the rest are skipped and counted as before.
  write_text(d.root / "lesions.csv",
             "image,lesion_present,patient_id\n"
             "elsewhere_slice_002.png,1,P1\n"
             "patient_001_slice_003.png,1,P1\n");
  EXPECT_EQ(run(*index, list(d.root), o).bad_rows, 1);
}

TEST(IndexIngest, ClinicalYesNoLabelsAndSeparator) {
  ClearData d;
  write_text(d.root / "clinical.csv", "image\tliver\tlung\npatient_001\tyes\tNo\npatient_002\tTRUE\t0\n");
  auto index = open_index(d.tmp.path() / "db");
  ASSERT_TRUE(index);
  IngestOptions o;
  o.clinical_csv = d.root / "clinical.csv";
  o.csv_separator = '\t';
  const IngestReport r = run(*index, list(d.root), o);
  EXPECT_EQ(r.bad_rows, 0);
  const auto l1 = index->ClinicalLabels("patient_001").value();
  ASSERT_EQ(l1.size(), 2u);
  EXPECT_EQ(l1[0].value, 1.f);
  EXPECT_EQ(l1[1].value, 0.f);
  EXPECT_EQ(index->ClinicalLabels("patient_002").value()[0].value, 1.f);
}

TEST(IndexIngest, ListingPathsThatEscapeAreRejected) {
  TempDir tmp;
  auto index = open_index(tmp.path() / "db");
  ASSERT_TRUE(index);
  DataListing listing;
  listing.layout = Layout::kClear;
  listing.files = {{"s/1.png", 10}, {"../s/2.png", 10}, {"/abs/3.png", 10}, {"s/./4.png", 10}};
  const IngestReport r = run(*index, listing, {});
  EXPECT_EQ(r.bad_rows, 3);
  EXPECT_EQ(r.slices_new, 1);
  IngestOptions strict;
  strict.strict = true;
  run(*index, listing, strict, StatusCode::kCorruption);

  EXPECT_TRUE(is_safe_relative_path("a/b.png"));
  EXPECT_FALSE(is_safe_relative_path("a/../b.png"));
  EXPECT_FALSE(is_safe_relative_path(".."));
  EXPECT_FALSE(is_safe_relative_path("a//b.png"));
  EXPECT_FALSE(is_safe_relative_path("a\\b.png"));
  EXPECT_FALSE(is_safe_relative_path(""));
}

TEST(IndexIngest, RerunIsIdempotent) {
  DeepLesionData d;
  auto index = open_index(d.tmp.path() / "db");
  ASSERT_TRUE(index);
  IngestOptions o;
  o.dl_info = d.dl_info;
  const DataListing listing = list(d.root);
  run(*index, listing, o);
  const auto before = dump(*index);
  const IngestReport again = run(*index, listing, o);
  EXPECT_EQ(again.slices_new, 0);
  EXPECT_EQ(again.slices_updated, 0);
  EXPECT_EQ(again.slices_unchanged, 25);
  EXPECT_EQ(again.studies_written, 0);
  EXPECT_EQ(again.lesions_written, 0);
  EXPECT_EQ(again.lesions_deleted, 0);
  EXPECT_EQ(again.patients_written, 0);
  EXPECT_EQ(again.batches, 0);
  EXPECT_EQ(dump(*index), before);
}

TEST(IndexIngest, GrownDirectoryAddsOnlyWhatIsNew) {
  DeepLesionData d;
  auto index = open_index(d.tmp.path() / "db");
  ASSERT_TRUE(index);
  IngestOptions o;
  o.dl_info = d.dl_info;
  run(*index, list(d.root), o);

  // Three more slices in an indexed study and a new study of a new patient.
  for (int k = 13; k <= 15; ++k) write_bytes(d.root / "Images_png/000001_01_01" / fmt::format("{:03d}.png", k), 7);
  make_deeplesion_study(d.root, 3, 1, 1, 4);
  // This run has no DL_info: stored lesion information must survive.
  const IngestReport r = run(*index, list(d.root), {});
  EXPECT_EQ(r.slices_new, 7);
  EXPECT_EQ(r.slices_updated, 0);
  EXPECT_EQ(r.slices_unchanged, 25);
  EXPECT_EQ(r.studies_written, 2);  // 000001_01_01 (count changed) and the new one
  EXPECT_EQ(r.patients_written, 1);

  auto study = index->GetStudy("000001_01_01");
  ASSERT_TRUE(study.ok());
  EXPECT_EQ(study.value().slice_count, 15u);
  EXPECT_EQ(study.value().lesion_count, 2u);
  EXPECT_EQ(study.value().split, Split::kTrain);
  EXPECT_EQ(index->Stats().value().lesions, 4);
  EXPECT_EQ(index->Stats().value().lesion_slices, 3);
  EXPECT_EQ(index->GetStudy("000003_01_01").value().split, Split::kUnknown);

  // A slice whose file changed size is updated, lesion boxes kept.
  write_bytes(d.root / "Images_png/000001_01_01/010.png", 999);
  const IngestReport r2 = run(*index, list(d.root), {});
  EXPECT_EQ(r2.slices_updated, 1);
  EXPECT_EQ(r2.slices_new, 0);
  auto key = index->GetSlice({"000001_01_01", "01", 10, "010"});
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key.value().file_size, 999u);
  EXPECT_EQ(key.value().lesion_boxes.size(), 2u);
}

TEST(IndexIngest, ANewDlInfoReplacesLesionsOfTouchedStudies) {
  DeepLesionData d;
  auto index = open_index(d.tmp.path() / "db");
  ASSERT_TRUE(index);
  IngestOptions o;
  o.dl_info = d.dl_info;
  run(*index, list(d.root), o);
  // One lesion fewer on slice 10, the test study moves to val.
  write_text(d.dl_info, dl_info_header() + dl_info_row(1, 1, 1, 10, "10.5, 20, 50, 60.25", 4, 1) +
                            dl_info_row(1, 2, 1, 3, "1, 2, 3, 4", -1, 1) +
                            dl_info_row(2, 1, 3, 7, "200, 210, 300, 311", 8, 2, "M", "NaN"));
  const IngestReport r = run(*index, list(d.root), o);
  EXPECT_EQ(r.lesions_deleted, 1);
  EXPECT_EQ(r.lesions_written, 2);  // the moved study's lesion (split) and line-shifted rows
  EXPECT_EQ(index->GetSlice({"000001_01_01", "01", 10, "010"}).value().lesion_boxes.size(), 1u);
  EXPECT_TRUE(index->ListStudyIds(Split::kTest).value().empty());
  EXPECT_EQ(index->ListStudyIds(Split::kVal).value(), (std::vector<std::string>{"000002_01_03"}));
}

TEST(IndexIngest, ARerunAfterAnInterruptedIngestCompletesIt) {
  // An interrupted ingest leaves whole studies written (one WriteBatch holds
  // all of a study's records). Simulate it with a partial listing, then
  // rerun with the full one: the result equals a clean single ingest.
  DeepLesionData d;
  const DataListing full = list(d.root);
  DataListing partial = full;
  partial.files.resize(12);  // the first study only
  IngestOptions o;
  o.dl_info = d.dl_info;
  o.batch_operations = 1;  // a batch per study

  auto a = open_index(d.tmp.path() / "a");
  ASSERT_TRUE(a);
  IngestOptions partial_options = o;
  partial_options.dl_info.reset();  // the crash happened before the DL_info rows of other studies
  run(*a, partial, partial_options);
  const IngestReport finish = run(*a, full, o);
  EXPECT_EQ(finish.slices_unchanged, 0);  // lesion flags of study 1 come now
  EXPECT_EQ(finish.batches, 3);  // one per study (meta was set by the first run)

  auto b = open_index(d.tmp.path() / "b");
  ASSERT_TRUE(b);
  run(*b, full, o);
  EXPECT_EQ(dump(*a), dump(*b));
}

TEST(IndexIngest, CancelledIngestLeavesWholeStudiesAndARerunCompletesIt) {
  DeepLesionData d;
  const DataListing listing = list(d.root);
  IngestOptions o;
  o.dl_info = d.dl_info;
  o.batch_operations = 1;
  IngestOptions stop_after_one = o;
  stop_after_one.on_batch = [](const IngestReport& r) { return r.batches < 1; };

  auto a = open_index(d.tmp.path() / "a");
  ASSERT_TRUE(a);
  run(*a, listing, stop_after_one, StatusCode::kFailedPrecondition);
  // Exactly the first study, complete: slices, lesions, study and patient.
  EXPECT_EQ(a->ListStudyIds().value(), (std::vector<std::string>{"000001_01_01"}));
  EXPECT_EQ(a->SlicesOfStudy("000001_01_01").value().size(), 12u);
  EXPECT_EQ(a->LesionsOfStudy("000001_01_01").value().size(), 2u);
  EXPECT_EQ(a->GetPatient("000001").value().study_ids, (std::vector<std::string>{"000001_01_01"}));
  EXPECT_TRUE(a->SlicesOfStudy("000001_02_01").value().empty());

  const IngestReport rest = run(*a, listing, o);
  EXPECT_EQ(rest.slices_unchanged, 12);
  EXPECT_EQ(rest.slices_new, 13);
  auto b = open_index(d.tmp.path() / "b");
  ASSERT_TRUE(b);
  run(*b, listing, o);
  EXPECT_EQ(dump(*a, true), dump(*b, true));
}

TEST(IndexIngest, AKilledIngestProcessLeavesWholeStudies) {
  // A real crash: a child process ingests and _exit()s (no close, no flush)
  // right after its first WriteBatch; the parent then opens the index.
  DeepLesionData d;
  const DataListing listing = list(d.root);
  const fs::path db = d.tmp.path() / "db";
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto index = SliceIndex::Open(db);
    if (!index.ok()) ::_exit(3);
    IngestOptions o;
    o.dl_info = d.dl_info;
    o.batch_operations = 1;
    o.on_batch = [](const IngestReport&) -> bool { ::_exit(0); };
    IngestReport report;
    ingest(*index.value(), listing, o, &report).PermitUncheckedError();
    ::_exit(4);  // never reached: the first batch ends the process
  }
  int status = 0;
  for (int waited = 0; waited < 300; ++waited) {  // up to 30 s
    if (::waitpid(pid, &status, WNOHANG) == pid) break;
    ::usleep(100000);
    if (waited == 299) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      FAIL() << "the ingest child did not finish";
    }
  }
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);

  auto index = open_index(db);
  ASSERT_TRUE(index);
  EXPECT_EQ(index->ListStudyIds().value(), (std::vector<std::string>{"000001_01_01"}));
  EXPECT_EQ(index->SlicesOfStudy("000001_01_01").value().size(), 12u);
  EXPECT_EQ(index->GetStudy("000001_01_01").value().slice_count, 12u);
  IngestOptions o;
  o.dl_info = d.dl_info;
  const IngestReport rest = run(*index, listing, o);
  EXPECT_EQ(rest.slices_new, 13);
  EXPECT_EQ(index->Stats().value().slices, 25);
}

TEST(IndexIngest, VerifyFindsMissingAndResizedFiles) {
  DeepLesionData d;
  auto index = open_index(d.tmp.path() / "db");
  ASSERT_TRUE(index);
  run(*index, list(d.root), {});
  VerifyReport v;
  ASSERT_TRUE(verify_files(*index, d.root, 2, &v).ok());
  EXPECT_TRUE(v.ok());
  EXPECT_EQ(v.checked, 25);

  fs::remove(d.root / "Images_png/000001_02_01/003.png");
  write_bytes(d.root / "Images_png/000002_01_03/001.png", 5);
  ASSERT_TRUE(verify_files(*index, d.root, 2, &v).ok());
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.missing, 1);
  EXPECT_EQ(v.size_mismatch, 1);
  ASSERT_EQ(v.problems.size(), 2u);
  EXPECT_NE(v.problems[0].find("000001_02_01/003.png: missing"), std::string::npos) << v.problems[0];
  EXPECT_NE(v.problems[1].find("5 bytes, indexed with 101"), std::string::npos) << v.problems[1];
}

TEST(IndexIngest, RunIndexEndToEnd) {
  DeepLesionData d;
  IndexSpec spec;
  spec.data_root = d.root;
  spec.db = d.tmp.path() / "nested" / "db";
  spec.dl_info = d.dl_info;
  spec.verify = true;
  IndexRunOptions options;
  options.progress = false;
  IndexRunReport report;
  ASSERT_TRUE(run_index(spec, options, &report).ok());
  EXPECT_EQ(report.ingest.slices_new, 25);
  ASSERT_TRUE(report.verify.has_value());
  EXPECT_TRUE(report.verify->ok());

  spec.clinical_csv = d.tmp.path() / "missing.csv";
  EXPECT_EQ(run_index(spec, options, &report).code(), StatusCode::kInvalidArgument);
  spec.clinical_csv.clear();
  spec.data_root = d.tmp.path() / "nope";
  EXPECT_EQ(run_index(spec, options, &report).code(), StatusCode::kNotFound);

  IndexOptions ro;
  ro.read_only = true;
  auto index = SliceIndex::Open(d.tmp.path() / "nested" / "db", ro);
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(index.value()->GetMeta("layout").value(), "deeplesion");
  EXPECT_FALSE(index.value()->GetMeta("data_root").value().empty());
}

TEST(IndexIngest, SliceIdsFromPaths) {
  auto dl = slice_id_from_path("Images_png/000123_04_02/017.png", Layout::kDeepLesion);
  ASSERT_TRUE(dl);
  EXPECT_EQ(dl->study_id, "000123_04_02");
  EXPECT_EQ(dl->series, "02");
  EXPECT_EQ(dl->slice_number, 17u);
  EXPECT_EQ(dl->name, "017");
  EXPECT_TRUE(slice_id_from_path("000123_04_02/017.png", Layout::kDeepLesion));
  EXPECT_FALSE(slice_id_from_path("Images_png/abc_04_02/017.png", Layout::kDeepLesion));
  EXPECT_FALSE(slice_id_from_path("Images_png/000123_04_02/017.jpg", Layout::kDeepLesion));
  EXPECT_FALSE(slice_id_from_path("a/b/c.png", Layout::kClear));
  auto c = slice_id_from_path("case7/img.PNG", Layout::kClear);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->slice_number, 0u);
  EXPECT_EQ(c->name, "img");
}

}  // namespace
}  // namespace radclear::storage
