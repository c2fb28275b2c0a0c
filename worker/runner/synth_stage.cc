// run_synth: the generated DeepLesion-style data set (data/synth.h).
#include <fmt/format.h>

#include "common/progress.h"
#include "data/synth.h"
#include "worker/runner/stages.h"

namespace radclear::runner {

Result<StageReport> run_synth(const stages::SynthSpec& spec, stages::RankContext& ctx) {
  return guarded([&] {
    spec.validate();
    StageReport report;
    report.stage = stages::SynthSpec::kStage;
    if (!ctx.is_root()) return report;  // one writer; synth is not split over ranks
    const int64_t total = static_cast<int64_t>(spec.patients) * spec.studies_per_patient * spec.slices;
    ProgressBar bar(total, {"synth", "slices", ctx.show_progress});
    int64_t last = 0;
    const auto summary = data::generate_synth(spec, [&](int, int64_t slices_done) {
      bar.advance(slices_done - last);
      last = slices_done;
      ctx.report("synth", "slices", slices_done, total);
    });
    bar.finish();
    report.summary = fmt::format("wrote {}\n{}", spec.out.string(), summary.to_text());
    return report;
  });
}

}  // namespace radclear::runner
