#include "coordinator/sweep.h"

#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace radclear::coordinator {
namespace {

const char* kSweep = R"(
name: lr
data: {index: data/synth.index, root: data/synth}
stages:
  pretrain: {arch: vit_tiny, lr: 1.0e-4, epochs: 2}
  extract: {windows: [abdomen, lung]}
  crossval: {model: abmil, folds: 3}
grid:
  pretrain.lr: [1.0e-4, 3.0e-4]
  crossval.model: [abmil, pma]
pretrain_ranks: 2
)";

Result<SweepSpec> parse(const std::string& text) { return parse_sweep(YAML::Load(text), "sweep.yaml"); }

TEST(Sweep, GridIsEveryCombinationFirstAxisSlowest) {
  auto spec = parse(kSweep);
  ASSERT_TRUE(spec.ok()) << spec.status().to_string();
  auto trials = expand_trials(spec.value());
  ASSERT_TRUE(trials.ok());
  ASSERT_EQ(trials.value().size(), 4u);
  EXPECT_EQ(trials.value()[0].id, "t000");
  EXPECT_EQ(trials.value()[1].overrides, (std::vector<std::string>{"pretrain.lr=1.0e-4", "crossval.model=pma"}));
  EXPECT_EQ(trials.value()[2].overrides, (std::vector<std::string>{"pretrain.lr=3.0e-4", "crossval.model=abmil"}));
  EXPECT_EQ(trials.value()[3].stages.at(Stage::kPretrain)["lr"].as<double>(), 3.0e-4);
  EXPECT_EQ(trials.value()[3].stages.at(Stage::kCrossval)["model"].as<std::string>(), "pma");
  EXPECT_EQ(trials.value()[0].stages.at(Stage::kPretrain)["arch"].as<std::string>(), "vit_tiny");
  // The base spec is untouched.
  EXPECT_EQ(spec.value().stages.at(Stage::kPretrain)["lr"].as<double>(), 1.0e-4);
}

TEST(Sweep, ListPointsAndNestedPaths) {
  auto spec = parse(R"(
name: l
stages: {pretrain: {optim: {lr: 1}}, crossval: {}}
list:
  - {pretrain.optim.lr: 2}
  - {pretrain.optim.beta: 0.9, crossval.mil.heads: 4}
)");
  ASSERT_TRUE(spec.ok()) << spec.status().to_string();
  auto trials = expand_trials(spec.value());
  ASSERT_TRUE(trials.ok());
  ASSERT_EQ(trials.value().size(), 2u);
  EXPECT_EQ(trials.value()[0].stages.at(Stage::kPretrain)["optim"]["lr"].as<int>(), 2);
  EXPECT_EQ(trials.value()[1].stages.at(Stage::kPretrain)["optim"]["lr"].as<int>(), 1);
  EXPECT_EQ(trials.value()[1].stages.at(Stage::kPretrain)["optim"]["beta"].as<double>(), 0.9);
  EXPECT_EQ(trials.value()[1].stages.at(Stage::kCrossval)["mil"]["heads"].as<int>(), 4);
}

TEST(Sweep, BadSweepsNameTheirFault) {
  auto expect_error = [](const std::string& text, const std::string& needle) {
    auto spec = parse(text);
    ASSERT_FALSE(spec.ok()) << text;
    EXPECT_NE(spec.status().message().find(needle), std::string::npos) << spec.status().message();
    EXPECT_NE(spec.status().message().find("sweep.yaml"), std::string::npos) << spec.status().message();
  };
  expect_error("name: a\nstages: {pretrian: {}}", "did you mean 'pretrain'");
  expect_error("name: a\nstages: {pretrain: {}}\ngrid: {crossval.model: [a]}", "does not list");
  expect_error("name: a\nstages: {pretrain: {}}\ngrid: {lr: [1]}", "not a field path");
  expect_error("name: a\nstages: {pretrain: {}}\ngrid: {pretrain.lr: []}", "non-empty");
  expect_error("name: a\nstages: {pretrain: {}}\ngrid: {pretrain.lr: [1]}\nlist: [{pretrain.lr: 1}]", "not both");
  expect_error("stages: {pretrain: {}}", "'name'");
  expect_error("name: a\nstages: {pretrain: {}}\ngird: {}", "gird");
}

TEST(Sweep, TrialsShareIdenticalJobs) {
  auto spec = parse(kSweep);
  ASSERT_TRUE(spec.ok());
  auto trials = expand_trials(spec.value());
  ASSERT_TRUE(trials.ok());
  const std::vector<Shard> shards = balance_shards({{"a", 10}, {"b", 7}, {"c", 5}, {"d", 2}}, 2);
  auto sub = build_submission(spec.value(), trials.value(), shards);
  ASSERT_TRUE(sub.ok()) << sub.status().to_string();
  ASSERT_EQ(sub.value().trials.size(), 4u);
  // Per trial: 1 pretrain + 2 shards + 3 folds + 1 report.
  for (const auto& t : sub.value().trials) EXPECT_EQ(t.jobs.size(), 7u);
  std::set<std::string> ids;
  for (const auto& t : sub.value().trials)
    for (const auto& j : t.jobs) ids.insert(j.id());
  // 2 pretrains, 2x2 extracts; 4x3 folds and 4 reports.
  EXPECT_EQ(ids.size(), 2u + 4u + 12u + 4u);
  // Trials 0 and 1 differ only in crossval.model: same pretrain and extraction.
  EXPECT_EQ(sub.value().trials[0].jobs[0].id(), sub.value().trials[1].jobs[0].id());
  EXPECT_EQ(sub.value().trials[0].jobs[1].id(), sub.value().trials[1].jobs[1].id());
  EXPECT_NE(sub.value().trials[0].jobs[3].id(), sub.value().trials[1].jobs[3].id());
  EXPECT_EQ(sub.value().trials[0].jobs[0].min_ranks, 2);
  // The scheduler agrees.
  Scheduler s(nullptr, SchedulerOptions{});
  auto r = s.Submit(sub.value(), 0);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(static_cast<size_t>(r.value().jobs_new), ids.size());
  // A payload names its part; an extract payload its studies.
  EXPECT_NE(sub.value().trials[0].jobs[1].payload.find("studies"), std::string::npos);
  EXPECT_NE(sub.value().trials[0].jobs[4].payload.find("index: 1"), std::string::npos) << sub.value().trials[0].jobs[4].payload;
}

TEST(Sweep, ExtractNeedsAShardList) {
  auto spec = parse(kSweep);
  ASSERT_TRUE(spec.ok());
  auto trials = expand_trials(spec.value());
  ASSERT_TRUE(trials.ok());
  EXPECT_EQ(build_submission(spec.value(), trials.value(), {}).status().code(), StatusCode::kInvalidArgument);
}

TEST(Sweep, ShardsBalanceSliceCounts) {
  std::vector<StudySize> studies;
  int64_t total = 0, largest = 0;
  for (int i = 0; i < 101; ++i) {
    const int64_t n = 20 + (i * 37) % 300;
    studies.push_back({fmt::format("study{:03d}", i), n});
    total += n;
    largest = std::max(largest, n);
  }
  const auto shards = balance_shards(studies, 8);
  ASSERT_EQ(shards.size(), 8u);
  std::set<std::string> seen;
  int64_t lo = INT64_MAX, hi = 0, sum = 0;
  for (const Shard& s : shards) {
    for (const auto& id : s.studies) EXPECT_TRUE(seen.insert(id).second) << id << " in two shards";
    lo = std::min(lo, s.slices);
    hi = std::max(hi, s.slices);
    sum += s.slices;
  }
  EXPECT_EQ(seen.size(), studies.size());
  EXPECT_EQ(sum, total);
  EXPECT_LE(hi - lo, largest) << "greedy largest-first keeps shards within one study of each other";
  EXPECT_EQ(balance_shards(studies, 8)[3].studies, shards[3].studies) << "deterministic";
  EXPECT_EQ(balance_shards({{"a", 1}}, 4).size(), 1u);
  EXPECT_TRUE(balance_shards({}, 4).empty());
}

TEST(Sweep, CanonicalYamlIgnoresKeyOrderButKeepsQuotes) {
  EXPECT_EQ(canonical_yaml(YAML::Load("{b: 2, a: {d: 1, c: [x, y]}}")),
            canonical_yaml(YAML::Load("{a: {c: [x, y], d: 1}, b: 2}")));
  EXPECT_NE(canonical_yaml(YAML::Load("{a: '0003'}")), canonical_yaml(YAML::Load("{a: 0003}")));
  EXPECT_EQ(YAML::Load(canonical_yaml(YAML::Load("{a: '0003'}")))["a"].Tag(), "!");
}

}  // namespace
}  // namespace radclear::coordinator
