#pragma once
// A progress bar for long work: done/total, rate, ETA and a caller-supplied
// suffix (loss, lr). On a terminal it redraws one line; otherwise (logs,
// CI) it prints a line every `log_every_s` seconds so logs stay readable.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

namespace radclear {

struct ProgressOptions {
  std::string label;            // "synth", "epoch 3/100"
  std::string unit = "it";      // shown in the rate: "slices/s"
  bool enabled = true;          // false: silent (tests, non-zero ranks)
  double log_every_s = 10.0;    // non-terminal output cadence
  std::FILE* stream = stderr;
};

class ProgressBar {
 public:
  ProgressBar(int64_t total, ProgressOptions options);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Thread-safe. Adds `n` units; `suffix` replaces the previous one.
  void advance(int64_t n = 1, const std::string& suffix = {});
  // Draws the final line (idempotent). Called by the destructor.
  void finish();

  int64_t done() const { return done_; }
  double elapsed_s() const;
  double rate() const;  // units per second so far

 private:
  void draw(bool final_line);
  int64_t total_;
  int64_t done_ = 0;
  ProgressOptions options_;
  bool is_tty_;
  bool finished_ = false;
  std::string suffix_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  std::mutex mu_;
};

// "1h02m", "3m05s", "12.3s"
std::string format_duration(double seconds);

}  // namespace radclear
