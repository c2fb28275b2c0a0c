// The LibTorch half of `radclear doctor`: versions, threads, GPUs and a
// measured SGEMM rate through the same BLAS path training uses.
#include <torch/torch.h>
#include <torch/version.h>

#include <chrono>

#include "cli/doctor.h"

namespace radclear::cli {

void collect_torch_info(DoctorReport& r, double sgemm_seconds) {
  r.torch_version = TORCH_VERSION;
  r.torch_has_cuda = torch::cuda::is_available();
  r.gpus_seen = r.torch_has_cuda ? static_cast<int>(torch::cuda::device_count()) : 0;
  r.torch_threads = at::get_num_threads();

  torch::NoGradGuard no_grad;
  const int n = 1024;
  r.sgemm_size = n;
  torch::manual_seed(0);
  auto a = torch::randn({n, n});
  auto b = torch::randn({n, n});
  auto c = torch::mm(a, b);  // warm-up: thread pool and BLAS buffers
  int64_t reps = 0;
  const auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  do {
    torch::mm_out(c, a, b);
    ++reps;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } while (elapsed < sgemm_seconds);
  r.sgemm_gflops = 2.0 * n * n * static_cast<double>(n) * static_cast<double>(reps) / elapsed / 1e9;
}

}  // namespace radclear::cli
