#include "worker/runner/process.h"

#include <algorithm>
#include <type_traits>

#include <ATen/Parallel.h>

namespace radclear::runner {

void set_process_threads(int threads) { at::set_num_threads(std::max(1, threads)); }

int stage_threads(const stages::AnySpec& spec, const stages::RankContext& ctx) {
  return std::visit(
      [&](const auto& s) {
        using S = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<S, stages::CrossvalSpec> || std::is_same_v<S, stages::DeploySpec>) {
          if (s.threads > 0) return s.threads;
        }
        return ctx.compute_threads();
      },
      spec);
}

}  // namespace radclear::runner
