#include "worker/crossval/report.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <sstream>

#include "common/atomic_file.h"
#include "common/check.h"
#include "common/csv.h"
#include "worker/crossval/plot.h"

namespace radclear::crossval {

namespace {

std::string fmt_num(double v) { return fmt::format("{:.9g}", v); }
std::string fmt_opt(const std::optional<double>& v) { return v ? fmt::format("{:.6f}", *v) : "NA"; }

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

std::vector<float> truth_of(const std::vector<PredRow>& rows, size_t l) {
  std::vector<float> y;
  for (const auto& r : rows) y.push_back(r.truth[l]);
  return y;
}
std::vector<double> prob_of(const std::vector<PredRow>& rows, size_t l) {
  std::vector<double> p;
  for (const auto& r : rows) p.push_back(r.prob[l]);
  return p;
}

nlohmann::json opt_json(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

constexpr Metric kMetrics[] = {Metric::kAuroc, Metric::kAuprc, Metric::kBalancedAccuracy};

}  // namespace

std::string file_safe(const std::string& name) {
  std::string out;
  for (char c : name) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.') ? c : '_';
  return out.empty() ? "_" : out;
}

std::vector<PredRow> to_pred_rows(const FeatureBank& bank, const std::vector<StudyPrediction>& preds) {
  std::vector<PredRow> rows;
  for (const auto& p : preds) {
    const auto& st = bank.studies()[p.study];
    PredRow r;
    r.study = st.id;
    r.patient = st.patient;
    r.truth = st.targets;
    for (float lg : p.logits) {
      r.logit.push_back(lg);
      r.prob.push_back(sigmoid(lg));
    }
    std::vector<size_t> order(p.rows.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p.attention[a] > p.attention[b]; });
    for (size_t k = 0; k < order.size() && k < static_cast<size_t>(kTopAttention); ++k) {
      const int64_t row = p.rows[order[k]];
      AttentionTop t;
      t.slice = st.slice_names[row].empty() ? std::to_string(st.coords[2 * row]) : st.slice_names[row];
      t.window = st.coords[2 * row + 1];
      t.weight = p.attention[order[k]];
      r.top.push_back(t);
    }
    rows.push_back(std::move(r));
  }
  std::sort(rows.begin(), rows.end(), [](const PredRow& a, const PredRow& b) { return a.study < b.study; });
  return rows;
}

void write_predictions(const std::filesystem::path& path, const std::vector<std::string>& labels,
                       const std::vector<PredRow>& rows, bool has_truth) {
  std::vector<std::string> header = {"study", "patient"};
  for (const auto& l : labels) {
    if (has_truth) header.push_back(l + "_true");
    header.push_back(l + "_prob");
    header.push_back(l + "_logit");
  }
  for (int k = 1; k <= kTopAttention; ++k) {
    header.push_back(fmt::format("top{}_slice", k));
    header.push_back(fmt::format("top{}_window", k));
    header.push_back(fmt::format("top{}_attention", k));
  }
  std::ostringstream out;
  out << csv_join(header) << "\n";
  for (const auto& r : rows) {
    std::vector<std::string> f = {r.study, r.patient};
    for (size_t l = 0; l < labels.size(); ++l) {
      if (has_truth) f.push_back(r.truth[l] > 0.5f ? "1" : "0");
      f.push_back(fmt_num(r.prob[l]));
      f.push_back(fmt_num(r.logit[l]));
    }
    for (int k = 0; k < kTopAttention; ++k) {
      if (k < static_cast<int>(r.top.size())) {
        f.push_back(r.top[k].slice);
        f.push_back(std::to_string(r.top[k].window));
        f.push_back(fmt::format("{:.6g}", r.top[k].weight));
      } else {
        f.insert(f.end(), {"", "", ""});
      }
    }
    out << csv_join(f) << "\n";
  }
  write_file_atomic(path, out.str());
}

std::vector<PredRow> read_predictions(const std::filesystem::path& path, const std::vector<std::string>& labels,
                                      bool has_truth) {
  CsvReader reader(path);
  const size_t sc = reader.require_column("study"), pc = reader.require_column("patient");
  std::vector<size_t> tc, prc, lc;
  for (const auto& l : labels) {
    if (has_truth) tc.push_back(reader.require_column(l + "_true"));
    prc.push_back(reader.require_column(l + "_prob"));
    lc.push_back(reader.require_column(l + "_logit"));
  }
  std::vector<PredRow> rows;
  CsvRow row;
  while (reader.next(row)) {
    if (row.fields.size() != reader.header().size()) {
      throw CorruptData(fmt::format("{}: {} fields, header has {} (truncated file?)", reader.where(row),
                                    row.fields.size(), reader.header().size()));
    }
    auto num = [&](size_t col) {
      const auto v = parse_double(row.fields[col]);
      if (!v) {
        throw CorruptData(fmt::format("{}: column '{}': '{}' is not a number", reader.where(row), reader.header()[col],
                                      row.fields[col]));
      }
      return *v;
    };
    PredRow r;
    r.study = row.fields[sc];
    r.patient = row.fields[pc];
    for (size_t l = 0; l < labels.size(); ++l) {
      if (has_truth) r.truth.push_back(static_cast<float>(num(tc[l])));
      r.prob.push_back(num(prc[l]));
      r.logit.push_back(num(lc[l]));
    }
    for (int k = 1; k <= kTopAttention; ++k) {
      const auto s = reader.column(fmt::format("top{}_slice", k));
      const auto w = reader.column(fmt::format("top{}_window", k));
      const auto a = reader.column(fmt::format("top{}_attention", k));
      if (!s || !w || !a || row.fields[*s].empty()) break;
      r.top.push_back({row.fields[*s], static_cast<int32_t>(num(*w)), num(*a)});
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

std::vector<MetricRow> compute_stats(const std::vector<std::string>& labels,
                                     const std::vector<std::vector<PredRow>>& groups, const std::vector<PredRow>& pooled,
                                     int bootstrap, uint64_t seed) {
  std::map<std::string, int64_t> patient_ids;
  std::vector<int64_t> patient_of;
  for (const auto& r : pooled) {
    patient_of.push_back(patient_ids.emplace(r.patient, static_cast<int64_t>(patient_ids.size())).first->second);
  }
  std::vector<MetricRow> out;
  for (size_t l = 0; l < labels.size(); ++l) {
    const auto y = truth_of(pooled, l);
    const auto p = prob_of(pooled, l);
    for (Metric m : kMetrics) {
      MetricRow row;
      row.label = labels[l];
      row.metric = m;
      for (const auto& g : groups) row.per_group.push_back(compute_metric(m, truth_of(g, l), prob_of(g, l)));
      row.summary = mean_std(row.per_group);
      row.pooled = compute_metric(m, y, p);
      row.ci = bootstrap_ci(m, y, p, patient_of, bootstrap, seed + l);
      out.push_back(std::move(row));
    }
  }
  return out;
}

void write_stats_csv(const std::filesystem::path& path, const std::vector<std::string>& group_names,
                     const std::vector<MetricRow>& rows, const std::string& pooled_name) {
  std::vector<std::string> header = {"label", "metric"};
  header.insert(header.end(), group_names.begin(), group_names.end());
  for (const char* h : {"mean", "std", "n_defined"}) header.emplace_back(h);
  header.push_back(pooled_name);
  header.emplace_back("ci95_low");
  header.emplace_back("ci95_high");
  std::ostringstream out;
  out << csv_join(header) << "\n";
  for (const auto& r : rows) {
    std::vector<std::string> f = {r.label, metric_name(r.metric)};
    for (const auto& v : r.per_group) f.push_back(fmt_opt(v));
    f.push_back(fmt_opt(r.summary.mean));
    f.push_back(fmt_opt(r.summary.std));
    f.push_back(std::to_string(r.summary.n));
    f.push_back(fmt_opt(r.pooled));
    f.push_back(fmt_opt(r.ci.low));
    f.push_back(fmt_opt(r.ci.high));
    out << csv_join(f) << "\n";
  }
  write_file_atomic(path, out.str());
}

nlohmann::json metrics_json(const std::vector<std::string>& labels, const std::vector<PredRow>& rows,
                            const nlohmann::json& extra) {
  nlohmann::json j = extra;
  j["studies"] = rows.size();
  for (size_t l = 0; l < labels.size(); ++l) {
    const auto y = truth_of(rows, l);
    const auto p = prob_of(rows, l);
    nlohmann::json m;
    int64_t pos = 0;
    for (float v : y) pos += v > 0.5f;
    m["positives"] = pos;
    m["negatives"] = static_cast<int64_t>(y.size()) - pos;
    for (Metric metric : kMetrics) m[metric_name(metric)] = opt_json(compute_metric(metric, y, p));
    if (pos == 0 || pos == static_cast<int64_t>(y.size())) {
      m["note"] = "single class in this fold: AUROC and balanced accuracy are undefined";
    }
    j["labels"][labels[l]] = m;
  }
  return j;
}

void plot_curves(const std::filesystem::path& dir, const std::vector<std::string>& labels,
                 const std::vector<std::string>& group_names, const std::vector<std::vector<PredRow>>& groups,
                 const std::string& title_prefix, int mean_of) {
  std::filesystem::create_directories(dir);
  std::vector<double> grid;
  for (int i = 0; i <= 100; ++i) grid.push_back(i / 100.0);
  for (size_t l = 0; l < labels.size(); ++l) {
    for (bool roc : {true, false}) {
      Chart ch;
      ch.title = fmt::format("{}{}: {} curve", title_prefix, labels[l], roc ? "ROC" : "Precision-recall");
      ch.x_label = roc ? "False positive rate (1 - specificity)" : "Recall (sensitivity)";
      ch.y_label = roc ? "True positive rate (sensitivity)" : "Precision (PPV)";
      ch.diagonal = roc;
      ch.legend = roc ? LegendCorner::kLowerRight : LegendCorner::kLowerLeft;
      std::vector<double> sum(grid.size(), 0.0);
      int n = 0;
      for (size_t g = 0; g < groups.size(); ++g) {
        const auto y = truth_of(groups[g], l);
        const auto p = prob_of(groups[g], l);
        const auto curve = roc ? roc_curve(y, p) : pr_curve(y, p);
        const auto metric = roc ? auroc(y, p) : average_precision(y, p);
        Series s;
        s.name = fmt::format("{} ({} {})", group_names[g], roc ? "AUC" : "AP", fmt_opt(metric).substr(0, 5));
        if (curve.empty()) s.name = fmt::format("{} (undefined: one class)", group_names[g]);
        s.color = palette(static_cast<int>(g));
        s.thickness = 2;
        for (const auto& pt : curve) {
          s.x.push_back(pt.x);
          s.y.push_back(pt.y);
        }
        if (g >= groups.size() - 1 && mean_of >= 0 && static_cast<int>(g) >= mean_of) s.thickness = 3;
        ch.series.push_back(std::move(s));
        if (curve.empty() || (mean_of >= 0 && static_cast<int>(g) >= mean_of)) continue;
        // PR: average the interpolated precision (the best precision at any
        // recall >= r), so the trailing drop at recall 1 does not pull the
        // mean down to the prevalence.
        auto envelope = curve;
        if (!roc) {
          for (size_t i = envelope.size(); i-- > 1;) envelope[i - 1].y = std::max(envelope[i - 1].y, envelope[i].y);
          std::vector<CurvePoint> first_at_x;
          for (const auto& pt : envelope) {
            if (first_at_x.empty() || pt.x > first_at_x.back().x) first_at_x.push_back(pt);
          }
          envelope = first_at_x;
        }
        const auto interp = interpolate_curve(envelope, grid);
        for (size_t i = 0; i < grid.size(); ++i) sum[i] += interp[i];
        ++n;
      }
      if (n > 1) {
        Series mean;
        mean.name = fmt::format("mean of {}", n);
        mean.color = {0, 0, 0};
        mean.thickness = 3;
        mean.x = grid;
        for (double v : sum) mean.y.push_back(v / n);
        if (roc) mean.y.front() = 0.0;
        ch.series.push_back(std::move(mean));
      }
      save_chart_png(ch, dir / fmt::format("{}-{}.png", roc ? "roc" : "pr", file_safe(labels[l])));
    }
  }
}

void plot_attention(const std::filesystem::path& path, const BankStudy& study, const StudyPrediction& pred,
                    const std::vector<std::string>& labels) {
  Chart ch;
  std::string probs;
  for (size_t l = 0; l < labels.size() && l < pred.logits.size() && l < 4; ++l) {
    probs += fmt::format("{}{} {:.2f}", l ? ", " : "", labels[l], sigmoid(pred.logits[l]));
  }
  ch.title = fmt::format("Attention over slices: {} ({})", study.id, probs);
  ch.x_label = "Slice number";
  ch.y_label = "Attention weight";
  ch.legend = LegendCorner::kUpperRight;
  std::map<int32_t, std::vector<std::pair<double, double>>> by_window;
  double x_min = 1e300, x_max = -1e300, y_max = 0.0;
  for (size_t i = 0; i < pred.rows.size(); ++i) {
    const int64_t r = pred.rows[i];
    const double x = study.coords[2 * r];
    by_window[study.coords[2 * r + 1]].push_back({x, pred.attention[i]});
    x_min = std::min(x_min, x);
    x_max = std::max(x_max, x);
    y_max = std::max(y_max, static_cast<double>(pred.attention[i]));
  }
  if (by_window.empty()) return;
  if (x_max <= x_min) {
    x_min -= 1.0;
    x_max += 1.0;
  }
  ch.x_min = x_min;
  ch.x_max = x_max;
  ch.y_max = y_max > 0.0 ? y_max * 1.15 : 1.0;
  int color = 0;
  for (auto& [w, pts] : by_window) {
    std::sort(pts.begin(), pts.end());
    Series s;
    s.name = w >= 0 && static_cast<size_t>(w) < study.windows.size() ? fmt::format("window {}", study.windows[w])
                                                                        : fmt::format("window {}", w);
    s.color = palette(color++);
    s.markers = pts.size() < 80;
    for (const auto& [x, y] : pts) {
      s.x.push_back(x);
      s.y.push_back(y);
    }
    ch.series.push_back(std::move(s));
  }
  for (int64_t r : study.key_rows) ch.x_markers.push_back(study.coords[2 * r]);
  ch.x_marker_label = "key slice";
  save_chart_png(ch, path);
}

}  // namespace radclear::crossval
