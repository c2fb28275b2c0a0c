#pragma once
// Cooperative cancellation. A launcher owns a CancelToken and hands copies
// to the stage it runs (all copies share one flag); a long stage polls
// requested() between steps, studies or folds and returns with resumable
// outputs. Setting the flag is async-signal-safe (a lock-free atomic store),
// so a SIGINT handler may call request().
#include <atomic>
#include <memory>

namespace radclear {

class CancelToken {
 public:
  CancelToken() : flag_(std::make_shared<std::atomic<bool>>(false)) {}
  void request() const { flag_->store(true, std::memory_order_relaxed); }
  bool requested() const { return flag_->load(std::memory_order_relaxed); }
  // The shared flag itself, for a signal handler to store into.
  std::atomic<bool>* flag() const { return flag_.get(); }

 private:
  std::shared_ptr<std::atomic<bool>> flag_;
};

}  // namespace radclear
