#pragma once
// Logging for people: spdlog with a short pattern, the MPI rank in the
// prefix when there is more than one, and warnings that say how to fix.
#include <spdlog/spdlog.h>

namespace radclear {

struct LogOptions {
  // "trace" .. "off". Default: "info"; RADCLEAR_LOG_LEVEL overrides.
  std::string level = "info";
  // Rank and world size; the prefix shows "[r1/4]" only when world > 1.
  int rank = 0;
  int world = 1;
};

// Configures the default spdlog logger (stderr, colours on a terminal).
void setup_logging(const LogOptions& options);

}  // namespace radclear
