#include "cli/signals.h"

#include <unistd.h>

#include <atomic>

namespace radclear::cli {

namespace {

std::atomic<bool>* g_flag = nullptr;  // the live token's flag; set before the handler is installed
std::atomic<int> g_signals{0};

void on_signal(int) {
  // Only async-signal-safe calls here: atomics, write(2), _exit(2).
  if (g_signals.fetch_add(1) > 0) _exit(130);
  if (g_flag != nullptr) g_flag->store(true);
  static const char kMsg[] =
      "\nradclear: stopping after the current step (outputs stay resumable); press Ctrl-C again to abort now\n";
  const ssize_t ignored = write(STDERR_FILENO, kMsg, sizeof kMsg - 1);
  (void)ignored;
}

}  // namespace

CancelOnSignal::CancelOnSignal(const CancelToken& token) {
  g_flag = token.flag();
  g_signals = 0;
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int_);
  sigaction(SIGTERM, &sa, &old_term_);
}

CancelOnSignal::~CancelOnSignal() {
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
  g_flag = nullptr;
}

}  // namespace radclear::cli
