#include "data/loader.h"

#include <algorithm>
#include <utility>

#include <torch/cuda.h>

#include "common/check.h"
#include "common/logging.h"
#include "common/parallel.h"
#include "data/scanner_decode.h"

namespace radclear::data {

// ---- SlicePipeline ---------------------------------------------------------

int view_size(const SliceViewSpec& views) {
  return std::visit([](const auto& v) { return v.out_size; }, views);
}

SlicePipeline::SlicePipeline(std::string data_root, const std::vector<std::string>& windows, SliceViewSpec views)
    : root_(std::move(data_root)), views_(std::move(views)) {
  if (windows.empty()) throw InvalidArgument("loader: no CT window");
  for (const auto& w : windows) luts_.emplace_back(parse_ct_window(w));
  if (view_size(views_) < 1) throw InvalidArgument(fmt::format("view size {} must be >= 1", view_size(views_)));
}

std::string SlicePipeline::resolve(const std::string& path) const {
  if (root_.empty() || (!path.empty() && path[0] == '/')) return path;
  return root_.back() == '/' ? root_ + path : root_ + "/" + path;
}

ViewGeometry SlicePipeline::run(const SliceSample& sample, uint64_t seed, int64_t epoch, int64_t index,
                                float* view1, float* view2) const {
  const std::string path = resolve(sample.path);
  const DecodedImage img = decode_slice_source(path, sample.source, sample.frame);
  SampleRng rng(seed, static_cast<uint64_t>(epoch), static_cast<uint64_t>(index));
  // One window keeps the draws (and so the views) of single-window runs.
  const WindowLut& lut = luts_.size() == 1 ? luts_[0] : luts_[rng.uniform_int(0, static_cast<int64_t>(luts_.size()) - 1)];
  if (const auto* ct = std::get_if<CtViewSpec>(&views_)) {
    return make_ct_views(img, lut.window(), sample, *ct, rng, view1, view2);
  }
  uint8_t air = 0;
  const cv::Mat img8 = to_8bit(img, lut, &air);
  return make_lecl_views(img8, air, sample, std::get<LeclViewSpec>(views_), rng, view1, view2);
}

// ---- SliceLoader -----------------------------------------------------------

struct SliceLoader::Slot {
  Batch batch;
  std::vector<int64_t> planned;  // sampler's indices, before replacement
  int remaining = 0;
};

SliceLoader::SliceLoader(std::vector<SliceSample> samples, LoaderSpec spec, ShardSpec shard)
    : samples_(std::move(samples)),
      spec_(std::move(spec)),
      sampler_(static_cast<int64_t>(samples_.size()), shard),
      pipeline_(spec_.data_root, spec_.windows, spec_.views) {
  if (samples_.empty()) throw InvalidArgument("loader: no samples");
  if (spec_.prefetch_batches < 1) {
    throw InvalidArgument(fmt::format("loader: prefetch_batches {} must be >= 1", spec_.prefetch_batches));
  }
  if (spec_.max_replacements < 0) {
    throw InvalidArgument(fmt::format("loader: max_replacements {} must be >= 0", spec_.max_replacements));
  }
  pin_ = spec_.pin_memory && torch::cuda::is_available();
  const int threads = spec_.threads > 0 ? spec_.threads : hardware_threads();
  workers_.reserve(threads);
  for (int t = 0; t < threads; ++t) workers_.emplace_back([this] { worker_loop(); });
}

SliceLoader::~SliceLoader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void SliceLoader::start_epoch(int64_t epoch, int64_t start_step) {
  const int64_t steps = sampler_.steps_per_epoch();
  if (start_step < 0 || start_step > steps) {
    throw InvalidArgument(fmt::format("loader: resume step {} outside [0, {}]", start_step, steps));
  }
  std::vector<int64_t> perm = sampler_.permutation(epoch);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
    slots_.clear();
    error_ = nullptr;
    epoch_ = epoch;
    perm_ = std::move(perm);
    end_step_ = steps;
    consume_step_ = hand_step_ = start_step;
    hand_j_ = 0;
    started_ = true;
  }
  work_cv_.notify_all();
}

bool SliceLoader::has_task_locked() const {
  return started_ && !error_ && hand_step_ < end_step_ && hand_step_ < consume_step_ + spec_.prefetch_batches;
}

std::shared_ptr<SliceLoader::Slot> SliceLoader::slot_for_locked(int64_t step) {
  auto it = slots_.find(step);
  if (it != slots_.end()) return it->second;
  auto slot = std::make_shared<Slot>();
  slot->planned = sampler_.batch(perm_, step);
  const int64_t b = static_cast<int64_t>(slot->planned.size());
  const int64_t s = view_size(spec_.views);
  auto options = torch::TensorOptions().dtype(torch::kFloat32);
  if (pin_) options = options.pinned_memory(true);
  Batch& batch = slot->batch;
  batch.epoch = epoch_;
  batch.step = step;
  batch.view1 = torch::empty({b, 3, s, s}, options);
  batch.view2 = torch::empty({b, 3, s, s}, options);
  batch.lesion = torch::empty({b}, options);
  batch.ids = torch::empty({b}, options.dtype(torch::kInt64));
  batch.indices.assign(b, -1);
  slot->remaining = static_cast<int>(b);
  slots_.emplace(step, slot);
  return slot;
}

void SliceLoader::fill_sample(Slot& slot, int j, int64_t epoch) {
  const int64_t n = static_cast<int64_t>(samples_.size());
  const int64_t plane = 3 * static_cast<int64_t>(view_size(spec_.views)) * view_size(spec_.views);
  float* v1 = slot.batch.view1.data_ptr<float>() + j * plane;
  float* v2 = slot.batch.view2.data_ptr<float>() + j * plane;
  int64_t index = slot.planned[j];
  for (int attempt = 0;; ++attempt) {
    const SliceSample& s = samples_[index];
    try {
      pipeline_.run(s, spec_.seed, epoch, index, v1, v2);
      slot.batch.lesion.data_ptr<float>()[j] = s.lesion ? 1.0f : 0.0f;
      slot.batch.ids.data_ptr<int64_t>()[j] = s.id;
      slot.batch.indices[j] = index;
      return;
    } catch (const Error& e) {
      const bool unreadable = e.code() == StatusCode::kCorruption || e.code() == StatusCode::kNotFound ||
                              e.code() == StatusCode::kIoError;
      if (!unreadable) {
        throw Error(e.code(), fmt::format("loader: sample {} ({}): {}", index, s.path, e.what()));
      }
      if (spec_.strict) {
        throw Error(e.code(), fmt::format("loader (strict): sample {}: {}", index, e.what()));
      }
      if (attempt >= spec_.max_replacements) {
        throw Error(e.code(), fmt::format("loader: {} consecutive unreadable images from sample {}; last: {}",
                                          attempt + 1, slot.planned[j], e.what()));
      }
      ++replaced_;
      {
        std::lock_guard<std::mutex> lock(logged_mu_);
        if (logged_paths_.insert(s.path).second) {
          spdlog::warn("loader: replacing unreadable image (sample {}): {}", index, e.what());
        }
      }
      index = (index + 1) % n;
    } catch (const std::exception& e) {
      throw Error(StatusCode::kInternal, fmt::format("loader: sample {} ({}): {}", index, s.path, e.what()));
    }
  }
}

void SliceLoader::worker_loop() {
  for (;;) {
    std::shared_ptr<Slot> slot;
    int j = 0;
    int64_t epoch = 0;
    uint64_t gen = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return stop_ || has_task_locked(); });
      if (stop_) return;
      try {
        slot = slot_for_locked(hand_step_);
      } catch (...) {
        error_ = std::current_exception();
        ready_cv_.notify_all();
        continue;
      }
      if (slot->planned.empty()) {  // a rank's share of a short last batch can be empty
        ++hand_step_;
        ready_cv_.notify_all();
        continue;
      }
      j = hand_j_;
      epoch = epoch_;
      gen = generation_;
      if (++hand_j_ == static_cast<int>(slot->planned.size())) {
        hand_j_ = 0;
        ++hand_step_;
      }
    }
    std::exception_ptr failure;
    try {
      fill_sample(*slot, j, epoch);
    } catch (...) {
      failure = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (gen != generation_) continue;  // the epoch was restarted meanwhile
    if (failure) {
      if (!error_) error_ = failure;
      ready_cv_.notify_all();
    } else if (--slot->remaining == 0) {
      ready_cv_.notify_all();
    }
  }
}

std::optional<Batch> SliceLoader::next() {
  std::unique_lock<std::mutex> lock(mu_);
  if (!started_) throw Error(StatusCode::kFailedPrecondition, "loader: next() before start_epoch()");
  if (consume_step_ >= end_step_) return std::nullopt;
  const int64_t step = consume_step_;
  ready_cv_.wait(lock, [&] {
    if (error_) return true;
    auto it = slots_.find(step);
    return it != slots_.end() && it->second->remaining == 0;
  });
  // Workers hand out no more work once error_ is set; every later next()
  // rethrows it until start_epoch() clears it.
  if (error_) std::rethrow_exception(error_);
  auto it = slots_.find(step);
  Batch batch = std::move(it->second->batch);
  slots_.erase(it);
  ++consume_step_;
  lock.unlock();
  work_cv_.notify_all();
  return batch;
}

}  // namespace radclear::data
