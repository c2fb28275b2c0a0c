#pragma once
// Implementation of runner::guarded (stages.h).
#include <exception>
#include <new>

#include "common/check.h"

namespace radclear::runner {

template <typename Body>
Result<StageReport> guarded(Body&& body) {
  try {
    return body();
  } catch (const Error& e) {
    return e.to_status();
  } catch (const std::bad_alloc&) {
    return Status::Internal("out of memory (lower the batch size or the number of workers)");
  } catch (const std::exception& e) {
    return Status::Internal(e.what());
  }
}

}  // namespace radclear::runner
