#pragma once
// Process-wide settings a launcher makes once, before the first stage:
// stages read RankContext::threads and set nothing themselves.
namespace radclear::runner {

// torch's intra-op threads (OpenMP) for this rank.
void set_process_threads(int threads);

}  // namespace radclear::runner
