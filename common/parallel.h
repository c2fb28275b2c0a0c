#pragma once
// parallel_for over an index range with a fixed number of threads. Work is
// handed out dynamically; the first exception thrown by any task stops the
// hand-out and is rethrown on the calling thread.
#include <cstdint>
#include <functional>

namespace radclear {

// Number of hardware threads (at least 1).
int hardware_threads();

// Runs fn(i) for i in [0, n) on `threads` threads (<= 0: all cores).
void parallel_for(int64_t n, int threads, const std::function<void(int64_t)>& fn);

}  // namespace radclear
