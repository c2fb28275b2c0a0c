#pragma once
// parallel_for over an index range with a fixed number of threads. Work is
// handed out dynamically; the first exception thrown by any task stops the
// hand-out and is rethrown on the calling thread.
#include <cstdint>
#include <functional>

namespace radclear {

// Number of hardware threads (at least 1).
int hardware_threads();

// Sets OpenBLAS's own thread count when OpenBLAS is the loaded BLAS (found
// with dlsym, so nothing links against it). LibTorch already runs GEMMs on
// its OpenMP threads; OpenBLAS threads under them oversubscribe the cores
// (vit_tiny training: 6.4 vs 46 img/s), so torch code calls this with 1.
// Returns false when no OpenBLAS is loaded.
bool set_openblas_threads(int threads);

// Runs fn(i) for i in [0, n) on `threads` threads (<= 0: all cores).
void parallel_for(int64_t n, int threads, const std::function<void(int64_t)>& fn);

}  // namespace radclear
