#include "common/progress.h"

#include <unistd.h>

#include <cmath>

#include <fmt/format.h>

namespace radclear {

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  if (s < 60) return fmt::format("{:.1f}s", s);
  const auto total = static_cast<int64_t>(s + 0.5);
  if (total < 3600) return fmt::format("{}m{:02d}s", total / 60, total % 60);
  return fmt::format("{}h{:02d}m", total / 3600, (total % 3600) / 60);
}

ProgressBar::ProgressBar(int64_t total, ProgressOptions options)
    : total_(total), options_(std::move(options)) {
  is_tty_ = options_.stream && isatty(fileno(options_.stream));
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

ProgressBar::~ProgressBar() { finish(); }

double ProgressBar::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

double ProgressBar::rate() const {
  const double e = elapsed_s();
  return e > 0 ? static_cast<double>(done_) / e : 0.0;
}

void ProgressBar::advance(int64_t n, const std::string& suffix) {
  std::lock_guard<std::mutex> lock(mu_);
  done_ += n;
  if (!suffix.empty()) suffix_ = suffix;
  if (!options_.enabled || finished_) return;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if ((is_tty_ && since >= 0.1) || (!is_tty_ && since >= options_.log_every_s)) {
    last_draw_ = now;
    draw(false);
  }
}

void ProgressBar::finish() {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  finished_ = true;
  if (options_.enabled) draw(true);
}

void ProgressBar::draw(bool final_line) {
  const double elapsed = elapsed_s();
  const double r = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  std::string bar;
  std::string count;
  if (total_ > 0) {
    const double frac = std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_));
    const int width = 24;
    const int filled = static_cast<int>(frac * width);
    bar = "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
    count = fmt::format("{}/{} {:3.0f}%", done_, total_, frac * 100);
  } else {
    count = fmt::format("{}", done_);
  }
  const double eta = (total_ > 0 && r > 0) ? static_cast<double>(total_ - done_) / r : NAN;
  std::string line = fmt::format("{} {}{} | {:.1f} {}/s | {} {}", options_.label, bar, count, r,
                                 options_.unit, final_line ? "took" : "ETA",
                                 format_duration(final_line ? elapsed : eta));
  if (!suffix_.empty()) line += " | " + suffix_;
  if (is_tty_) {
    fmt::print(options_.stream, "\r\033[K{}{}", line, final_line ? "\n" : "");
  } else {
    fmt::print(options_.stream, "{}\n", line);
  }
  std::fflush(options_.stream);
}

}  // namespace radclear
