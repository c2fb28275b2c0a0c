// Sweep jobs as real stage specs: payloads decode into valid specs, the
// stages chain through content-derived paths, identical jobs of different
// trials are byte-identical (one job), and fold/shard/report jobs are what
// the stage runs.
#include "coordinator/stage_payload.h"

#include <set>

#include <gtest/gtest.h>

#include "stages/any_spec.h"
#include "stages/checkpoint_name.h"

namespace radclear::coordinator {
namespace {

namespace fs = std::filesystem;

const char* kSweep = R"(
name: mil
data: {index: /d/synth.index, root: /d/synth, clinical: /d/synth/clinical.csv, out: /runs/mil}
stages:
  pretrain: {arch: vit_tiny, image_size: 32, epochs: 1, batch_size: 8, warmup_epochs: 0}
  extract: {windows: [abdomen], batch_size: 16}
  crossval: {labels: [lesion], folds: 3, epochs: 2}
grid:
  crossval.model: [abmil, pma]
)";

struct Built {
  SweepSpec spec;
  std::vector<ResolvedTrial> trials;
  SweepSubmission sub;
};

Built build(const std::string& text, int shards = 2) {
  Built b;
  auto spec = parse_sweep(YAML::Load(text), "sweep.yaml");
  EXPECT_TRUE(spec.ok()) << spec.status().to_string();
  b.spec = spec.value();
  b.trials = expand_trials(b.spec).value();
  const auto cut = balance_shards({{"s1", 6}, {"s2", 6}, {"s3", 6}, {"s4", 6}}, shards);
  auto sub = build_submission(b.spec, b.trials, cut, stage_payload);
  EXPECT_TRUE(sub.ok()) << sub.status().to_string();
  if (sub.ok()) b.sub = sub.value();
  return b;
}

std::vector<const JobSubmission*> jobs_of(const TrialSubmission& t, Stage s) {
  std::vector<const JobSubmission*> out;
  for (const auto& j : t.jobs)
    if (j.stage == s) out.push_back(&j);
  return out;
}

TEST(StagePayload, JobsAreValidStageSpecsChainedByContent) {
  const Built b = build(kSweep);
  ASSERT_EQ(b.sub.trials.size(), 2u);
  const TrialSubmission& t0 = b.sub.trials[0];
  ASSERT_EQ(jobs_of(t0, Stage::kPretrain).size(), 1u);
  ASSERT_EQ(jobs_of(t0, Stage::kExtract).size(), 2u);
  ASSERT_EQ(jobs_of(t0, Stage::kCrossval).size(), 3u);
  ASSERT_EQ(jobs_of(t0, Stage::kReport).size(), 1u);

  const auto pre = stages::from_payload<stages::PretrainSpec>(jobs_of(t0, Stage::kPretrain)[0]->payload);
  EXPECT_EQ(pre.db, "/d/synth.index");
  EXPECT_EQ(pre.data, "/d/synth");
  EXPECT_EQ(pre.out.parent_path(), "/runs/mil");
  EXPECT_EQ(pre.out.filename().string().rfind("pretrain-", 0), 0u) << pre.out;
  EXPECT_EQ(pre.arch, "vit_tiny");

  std::set<std::string> studies;
  std::set<std::string> extract_outs;
  for (const JobSubmission* j : jobs_of(t0, Stage::kExtract)) {
    const auto e = stages::from_payload<stages::ExtractSpec>(j->payload);
    EXPECT_EQ(e.checkpoint, pre.out / stages::moco_checkpoint_file_name("vit_tiny", pre.name, 1));
    EXPECT_EQ(e.checkpoint, stages::final_checkpoint(pre));
    EXPECT_FALSE(e.studies.empty());
    studies.insert(e.studies.begin(), e.studies.end());
    extract_outs.insert(e.out.string());
  }
  EXPECT_EQ(studies, (std::set<std::string>{"s1", "s2", "s3", "s4"})) << "the shards cover every study once";
  ASSERT_EQ(extract_outs.size(), 1u) << "every shard writes one feature set";
  EXPECT_EQ(fs::path(*extract_outs.begin()).filename().string().rfind("extract-", 0), 0u);

  std::set<std::string> cv_outs;
  const auto folds = jobs_of(t0, Stage::kCrossval);
  for (size_t k = 0; k < folds.size(); ++k) {
    const auto c = stages::from_payload<stages::CrossvalSpec>(folds[k]->payload);
    EXPECT_EQ(c.fold, static_cast<int>(k));
    EXPECT_EQ(c.features_dir.string(), *extract_outs.begin());
    EXPECT_EQ(c.clini_csv, "/d/synth/clinical.csv");
    EXPECT_EQ(c.db, "/d/synth.index");
    cv_outs.insert(c.out_dir.string());
  }
  const auto report = stages::from_payload<stages::CrossvalSpec>(jobs_of(t0, Stage::kReport)[0]->payload);
  EXPECT_EQ(report.fold, -1) << "the report job aggregates every fold";
  cv_outs.insert(report.out_dir.string());
  EXPECT_EQ(cv_outs.size(), 1u) << "folds and report share one directory";
}

TEST(StagePayload, TrialsDifferingInTheHeadSharePretrainAndExtract) {
  const Built b = build(kSweep);
  const auto& t0 = b.sub.trials[0];
  const auto& t1 = b.sub.trials[1];
  for (Stage s : {Stage::kPretrain, Stage::kExtract}) {
    const auto a = jobs_of(t0, s), c = jobs_of(t1, s);
    ASSERT_EQ(a.size(), c.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i]->payload, c[i]->payload) << stage_name(s);
      EXPECT_EQ(a[i]->id(), c[i]->id()) << stage_name(s);
    }
  }
  const auto cv0 = stages::from_payload<stages::CrossvalSpec>(jobs_of(t0, Stage::kReport)[0]->payload);
  const auto cv1 = stages::from_payload<stages::CrossvalSpec>(jobs_of(t1, Stage::kReport)[0]->payload);
  EXPECT_NE(cv0.out_dir, cv1.out_dir);
  EXPECT_EQ(stages::enum_name(cv1.model), std::string("pma"));
  // Building again gives the same bytes (paths come from content only).
  const Built again = build(kSweep);
  EXPECT_EQ(again.sub.trials[1].jobs.back().payload, t1.jobs.back().payload);
}

TEST(StagePayload, ChangingPretrainMovesEveryDownstreamDirectory) {
  const Built a = build(kSweep);
  std::string text = kSweep;
  text.replace(text.find("epochs: 1"), 9, "epochs: 2");
  const Built b = build(text);
  for (Stage s : {Stage::kPretrain, Stage::kExtract, Stage::kCrossval, Stage::kReport}) {
    EXPECT_NE(jobs_of(a.sub.trials[0], s)[0]->id(), jobs_of(b.sub.trials[0], s)[0]->id()) << stage_name(s);
  }
}

TEST(StagePayload, RefusesWhatTheSweepSetsAndBadFields) {
  auto error_of = [](const std::string& text) {
    auto spec = parse_sweep(YAML::Load(text), "sweep.yaml");
    EXPECT_TRUE(spec.ok()) << spec.status().to_string();
    auto trials = expand_trials(spec.value()).value();
    auto sub = build_submission(spec.value(), trials, balance_shards({{"s1", 1}}, 1), stage_payload);
    EXPECT_FALSE(sub.ok()) << text;
    return sub.ok() ? std::string() : sub.status().message();
  };
  const std::string data = "data: {index: /i, root: /r, clinical: /c.csv, out: /o}\n";
  EXPECT_NE(error_of("name: a\n" + data + "stages: {pretrain: {db: /x}}").find("'db' is set by the sweep"),
            std::string::npos);
  EXPECT_NE(error_of("name: a\n" + data + "stages: {pretrain: {lrr: 1}}").find("did you mean 'lr'"),
            std::string::npos);
  EXPECT_NE(error_of("name: a\ndata: {index: /i, root: /r}\nstages: {pretrain: {}}").find("'out'"),
            std::string::npos);
  EXPECT_NE(error_of("name: a\n" + data + "stages: {pretrain: {}, extract: {checkpoint: /c}}")
                .find("'checkpoint' is set by the sweep"),
            std::string::npos);
  EXPECT_NE(error_of("name: a\n" + data + "stages: {synth: {}}").find("does not run in sweeps"), std::string::npos);
  EXPECT_NE(error_of("name: a\n" + data + "stages: {crossval: {labels: [x], folds: 2, fold: 1}}")
                .find("'fold' is set by the sweep"),
            std::string::npos);
}

TEST(StagePayload, DataPathsBecomeAbsolute) {
  auto d = absolute_data(YAML::Load("{index: idx, root: /abs/root, out: runs/x}"), "/base");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.value()["index"].as<std::string>(), "/base/idx");
  EXPECT_EQ(d.value()["root"].as<std::string>(), "/abs/root");
  EXPECT_EQ(d.value()["out"].as<std::string>(), "/base/runs/x");
  EXPECT_FALSE(absolute_data(YAML::Load("{indx: a}"), "/b").ok());
}

}  // namespace
}  // namespace radclear::coordinator
