// Folds, bags and the clinical table.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "common/check.h"
#include "worker/crossval/bags.h"
#include "worker/crossval/cohort.h"
#include "worker/crossval/splits.h"

namespace radclear::crossval {
namespace {
namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("radclear_splits_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TEST(IterativeStratification, SpreadsEveryLabelEvenly) {
  std::mt19937 rng(1);
  std::vector<std::vector<float>> labels;
  std::vector<int> counts(4, 0);
  for (int i = 0; i < 500; ++i) {
    std::vector<float> l(4);
    l[0] = rng() % 2;
    l[1] = rng() % 10 == 0;   // rare
    l[2] = rng() % 50 == 0;   // very rare: 10 or so
    l[3] = l[0] && rng() % 2; // correlated
    for (int k = 0; k < 4; ++k) counts[k] += l[k] > 0.5f;
    labels.push_back(l);
  }
  const auto part = iterative_stratification(labels, 5, 42);
  EXPECT_EQ(part, iterative_stratification(labels, 5, 42));
  EXPECT_NE(part, iterative_stratification(labels, 5, 43));
  std::vector<std::vector<int>> per(5, std::vector<int>(4, 0));
  std::vector<int> sizes(5, 0);
  for (size_t i = 0; i < part.size(); ++i) {
    ASSERT_GE(part[i], 0);
    ASSERT_LT(part[i], 5);
    sizes[part[i]]++;
    for (int k = 0; k < 4; ++k) per[part[i]][k] += labels[i][k] > 0.5f;
  }
  for (int f = 0; f < 5; ++f) {
    EXPECT_NEAR(sizes[f], 100, 2);
    for (int k = 0; k < 4; ++k) EXPECT_LE(std::abs(per[f][k] * 5 - counts[k]), 5) << "fold " << f << " label " << k;
  }
}

Cohort toy_cohort() {
  Cohort c;
  c.label_names = {"x", "y"};
  for (int p = 0; p < 30; ++p) {
    for (int s = 0; s < 1 + p % 3; ++s) {
      c.studies.push_back({"s" + std::to_string(p) + "_" + std::to_string(s), "p" + std::to_string(p),
                           {static_cast<float>((p + s) % 2), static_cast<float>(p % 5 == 0)}, 0});
    }
  }
  return c;
}

TEST(PatientSplits, EveryPatientInExactlyOneFoldAndFileIsReused) {
  const auto dir = temp_dir("reuse");
  const auto cohort = toy_cohort();
  const auto s = load_or_make_splits(dir / "splits.json", cohort, 5, 1337);
  std::map<std::string, int> seen;
  for (int f = 0; f < 5; ++f) {
    EXPECT_GE(s.test_patients[f].size(), 5u);
    for (const auto& p : s.test_patients[f]) seen[p]++;
  }
  EXPECT_EQ(seen.size(), 30u);
  for (const auto& [p, n] : seen) EXPECT_EQ(n, 1) << p;
  // Reused verbatim even with another seed.
  const auto again = load_or_make_splits(dir / "splits.json", cohort, 5, 99);
  EXPECT_EQ(again.test_patients, s.test_patients);
  EXPECT_THROW(load_or_make_splits(dir / "splits.json", cohort, 4, 1337), InvalidArgument);
  auto bigger = cohort;
  bigger.studies.push_back({"new", "p_new", {0, 0}, 0});
  try {
    load_or_make_splits(dir / "splits.json", bigger, 5, 1337);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("p_new"), std::string::npos) << e.what();
  }
  std::vector<std::string> train, valid;
  std::vector<std::string> pats;
  for (int p = 0; p < 30; ++p) pats.push_back("p" + std::to_string(p));
  train_valid_split(cohort, pats, 0.2, 5, train, valid);
  EXPECT_EQ(train.size() + valid.size(), 30u);
  EXPECT_NEAR(static_cast<double>(valid.size()), 6.0, 1.0);
  fs::remove_all(dir);
}

TEST(Bags, PadsShortSamplesLongKeepsKeysDeterministically) {
  EXPECT_EQ(select_bag_rows(3, {}, 8, 1), (std::vector<int64_t>{0, 1, 2}));
  const auto a = select_bag_rows(100, {50, 51}, 10, 7);
  EXPECT_EQ(a, select_bag_rows(100, {50, 51}, 10, 7));
  EXPECT_NE(a, select_bag_rows(100, {50, 51}, 10, 8));
  EXPECT_EQ(a.size(), 10u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_EQ(std::set<int64_t>(a.begin(), a.end()).size(), 10u);
  EXPECT_TRUE(std::count(a.begin(), a.end(), 50) && std::count(a.begin(), a.end(), 51));
  // More key rows than room: all picks are key rows.
  const auto k = select_bag_rows(100, {1, 2, 3, 4, 5, 6}, 4, 3);
  for (auto r : k) EXPECT_TRUE(r >= 1 && r <= 6);
  EXPECT_THROW(select_bag_rows(5, {9}, 2, 1), Error);
}

TEST(ClinicalTable, ReadsLabelsAndCategoriesWithClearErrors) {
  const auto dir = temp_dir("clini");
  std::ofstream(dir / "ok.csv") << "image,patient_id,bone,lung,site\ns1,p1,1,0,liver\ns2,p1,0,1.0,lung\ns3,p2,0,0,liver\n";
  ClinicalOptions o;
  o.labels = {"bone", "lung"};
  const auto c = read_clinical_table(dir / "ok.csv", o);
  ASSERT_EQ(c.studies.size(), 3u);
  EXPECT_EQ(c.studies[1].patient, "p1");
  EXPECT_EQ(c.studies[1].targets, (std::vector<float>{0, 1}));
  ClinicalOptions oc;
  oc.categorical = "site";
  const auto cc = read_clinical_table(dir / "ok.csv", oc);
  EXPECT_EQ(cc.label_names, (std::vector<std::string>{"site=liver", "site=lung"}));
  EXPECT_EQ(cc.studies[1].targets, (std::vector<float>{0, 1}));

  std::ofstream(dir / "bad.csv") << "image,patient_id,bone\ns1,p1,1\ns2,p2,2\n";
  ClinicalOptions ob;
  ob.labels = {"bone"};
  try {
    read_clinical_table(dir / "bad.csv", ob);
    FAIL();
  } catch (const InvalidArgument& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("bad.csv:3"), std::string::npos) << m;
    EXPECT_NE(m.find("'s2'"), std::string::npos) << m;
    EXPECT_NE(m.find("'bone'"), std::string::npos) << m;
  }
  ob.labels = {"bones"};
  EXPECT_THROW(read_clinical_table(dir / "bad.csv", ob), Error);
  std::ofstream(dir / "dup.csv") << "image,bone\ns1,1\ns1,0\n";
  ob.labels = {"bone"};
  EXPECT_THROW(read_clinical_table(dir / "dup.csv", ob), CorruptData);
  // No patient column and no '_' in the ids: each study is its own patient.
  std::ofstream(dir / "nopat.csv") << "image,bone\ns1,1\ns2,0\n";
  const auto np = read_clinical_table(dir / "nopat.csv", ob);
  EXPECT_EQ(np.studies[1].patient, "s2");
  fs::remove_all(dir);
}

// CLEAR's clinical table (README: image,label1,...,all, one row per study,
// no patient column; train_crossval.py takes image.split('_')[0]) with
// true_labels-style yes/no values.
TEST(ClinicalTable, ClearTableTakesThePatientFromTheImagePrefix) {
  const auto dir = temp_dir("clear_clini");
  std::ofstream(dir / "clini.csv") << "image,liver,lung,all\n"
                                      "patient001_ct1,yes,no,10\n"
                                      "patient001_ct2,Yes,No,10\n"
                                      "patient002_ct1,no,yes,01\n"
                                      "patient003,1,0,10\n";
  ClinicalOptions o;
  o.labels = {"liver", "lung"};
  const auto c = read_clinical_table(dir / "clini.csv", o);
  EXPECT_EQ(c.patient_from, PatientFrom::kPrefix);
  ASSERT_EQ(c.studies.size(), 4u);
  EXPECT_EQ(c.studies[0].patient, "patient001");
  EXPECT_EQ(c.studies[1].patient, "patient001");
  EXPECT_EQ(c.studies[2].patient, "patient002");
  EXPECT_EQ(c.studies[3].patient, "patient003");
  EXPECT_EQ(c.studies[1].targets, (std::vector<float>{1, 0}));
  EXPECT_EQ(c.studies[2].targets, (std::vector<float>{0, 1}));
  // Folds hold patients: both studies of patient001 land in one fold.
  const auto splits = make_patient_splits(c, 3, 1337);
  size_t held_out = 0;
  for (const auto& f : splits.test_patients) held_out += f.size();
  EXPECT_EQ(held_out, 3u);

  // The other rules, chosen explicitly.
  o.patient_from = PatientFrom::kStudy;
  EXPECT_EQ(read_clinical_table(dir / "clini.csv", o).studies[1].patient, "patient001_ct2");
  o.patient_from = PatientFrom::kColumn;
  EXPECT_THROW(read_clinical_table(dir / "clini.csv", o), CorruptData);  // there is no patient_id column
  o.patient_from = PatientFrom::kAuto;
  o.index_given = true;
  EXPECT_EQ(read_clinical_table(dir / "clini.csv", o).patient_from, PatientFrom::kIndex);
  // A separator other than ','.
  std::ofstream(dir / "semi.csv") << "image;patient_id;liver;lung\ns1;p9;0;1\n";
  o.separator = ';';
  const auto semi = read_clinical_table(dir / "semi.csv", o);
  EXPECT_EQ(semi.patient_from, PatientFrom::kColumn);
  EXPECT_EQ(semi.studies[0].patient, "p9");
  o.separator = ',';
  EXPECT_THROW(read_clinical_table(dir / "semi.csv", o), CorruptData);  // no 'image' column with ','
  fs::remove_all(dir);
}

}  // namespace
}  // namespace radclear::crossval
