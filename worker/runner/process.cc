#include "worker/runner/process.h"

#include <algorithm>

#include <ATen/Parallel.h>

namespace radclear::runner {

void set_process_threads(int threads) { at::set_num_threads(std::max(1, threads)); }

}  // namespace radclear::runner
