#include "common/logging.h"

#include <cstdlib>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace radclear {

void setup_logging(const LogOptions& options) {
  auto logger = spdlog::stderr_color_mt("radclear");
  std::string pattern = "%H:%M:%S %^%l%$ ";
  if (options.world > 1) pattern += fmt::format("[r{}/{}] ", options.rank, options.world);
  pattern += "%v";
  logger->set_pattern(pattern);
  std::string level = options.level;
  if (const char* env = std::getenv("RADCLEAR_LOG_LEVEL")) level = env;
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

}  // namespace radclear
