#pragma once
// The sweep's comparison plot: a forest plot of every trial's pooled
// out-of-fold AUROC with its 95% CI, grouped by label so the trials of one
// label sit side by side, with the fold mean ± sd printed beside each row
// and chance (0.5) marked. SVG: one self-contained file that any browser,
// LaTeX (via inkscape/rsvg) or a notebook shows, and no plotting library to
// install on a cluster's login node.
#include <string>
#include <vector>

#include "coordinator/sweep_report.h"

namespace radclear::coordinator {

// The whole SVG document. Rows whose pooled AUROC is not a number ("NA",
// a missing stats.csv) are listed with their reason and no marker.
std::string render_forest_svg(const std::vector<TrialAuroc>& rows, const std::string& title);

}  // namespace radclear::coordinator
