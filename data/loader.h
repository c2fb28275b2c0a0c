#pragma once
// The prefetching slice loader: a pool of decode/augment threads fills a
// bounded queue of ready batches, in step order, for one rank of a sharded
// epoch (data/sampler.h).
//
// Determinism: sample i of epoch e is decoded and augmented with
// SampleRng(seed, e, i) only, so a batch is bit-identical for any thread
// count and any scheduling. A corrupt, truncated or missing image is
// replaced by the next sample of the data set (i + 1, i + 2, ... modulo N,
// each with its own randomness), counted, and logged once per path; with
// `strict` the first one is fatal. A worker that fails for any other reason
// does not die silently: the error (naming the sample's path) is rethrown by
// next() on the consumer's thread.
//
// Thread safety: one consumer thread calls start_epoch() and next().
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <variant>
#include <vector>

#include <torch/types.h>

#include "data/ct_views.h"
#include "data/lecl_views.h"
#include "data/sample.h"
#include "data/sampler.h"
#include "data/window.h"

namespace radclear::data {

// The view recipe: CLEAR's (MoCo v3's ImageNet augmentations) or the
// CT-native one (ct_views.h).
using SliceViewSpec = std::variant<LeclViewSpec, CtViewSpec>;
int view_size(const SliceViewSpec& views);

struct LoaderSpec {
  // Root that relative SliceSample paths are resolved against. Default: "" (paths used as given).
  std::string data_root;
  // Decode/augment threads. Default: 0 = all hardware threads.
  int threads = 0;
  // Ready (or in-progress) batches kept ahead of the consumer. Default: 4.
  int prefetch_batches = 4;
  // Seed of every sample's augmentation randomness. Default: 0.
  uint64_t seed = 0;
  // CT windows for 16-bit slices (data/window.h); each sample is shown in
  // one of them, drawn per (seed, epoch, index), both views alike. Default: abdomen.
  std::vector<std::string> windows{"abdomen"};
  // View geometry and augmentations. Default: reference.md §2.
  SliceViewSpec views = LeclViewSpec{};
  // Fail on the first unreadable image instead of replacing it. Default: false.
  bool strict = false;
  // How many successive replacements to try before giving up. Default: 16.
  int max_replacements = 16;
  // Allocate batches in pinned memory when CUDA is available. Default: true.
  bool pin_memory = true;
};

struct Batch {
  int64_t epoch = 0;
  int64_t step = 0;
  torch::Tensor view1;   // [B, 3, H, W] float32, augmentation 1 (whole slice for lesion slices)
  torch::Tensor view2;   // [B, 3, H, W] float32, augmentation 2 (lesion crop for lesion slices)
  torch::Tensor lesion;  // [B] float32, 1 for lesion slices
  torch::Tensor ids;     // [B] int64, SliceSample::id of the sample used
  // Data-set indices used, after any replacement of corrupt images.
  std::vector<int64_t> indices;
};

// Decode + window + views for one sample in the calling thread (what each
// loader worker runs; benchmarks call it directly). Immutable, shareable.
class SlicePipeline {
 public:
  // Throws InvalidArgument for no window or an unknown one.
  SlicePipeline(std::string data_root, const std::vector<std::string>& windows, SliceViewSpec views);
  // Throws NotFound / IoError / CorruptData naming the path for an
  // unreadable image. Writes 3 x out x out floats to view1 and view2.
  ViewGeometry run(const SliceSample& sample, uint64_t seed, int64_t epoch, int64_t index, float* view1,
                   float* view2) const;
  std::string resolve(const std::string& path) const;
  const SliceViewSpec& views() const { return views_; }

 private:
  std::string root_;
  std::vector<WindowLut> luts_;
  SliceViewSpec views_;
};

class SliceLoader {
 public:
  // Throws InvalidArgument for an empty sample list or a bad spec.
  SliceLoader(std::vector<SliceSample> samples, LoaderSpec spec, ShardSpec shard);
  ~SliceLoader();
  SliceLoader(const SliceLoader&) = delete;
  SliceLoader& operator=(const SliceLoader&) = delete;

  // Starts producing this rank's batches of `epoch` from `start_step`
  // (resume), discarding whatever was in flight.
  void start_epoch(int64_t epoch, int64_t start_step = 0);
  // The next batch in step order, or nullopt after the epoch's last step.
  // Rethrows a worker's failure.
  std::optional<Batch> next();

  const ShardedSampler& sampler() const { return sampler_; }
  int64_t steps_per_epoch() const { return sampler_.steps_per_epoch(); }
  int threads() const { return static_cast<int>(workers_.size()); }
  // Images replaced because they could not be read, since construction.
  int64_t replaced_count() const { return replaced_.load(); }

 private:
  struct Slot;
  void worker_loop();
  bool has_task_locked() const;
  std::shared_ptr<Slot> slot_for_locked(int64_t step);
  void fill_sample(Slot& slot, int j, int64_t epoch);

  std::vector<SliceSample> samples_;
  LoaderSpec spec_;
  ShardedSampler sampler_;
  SlicePipeline pipeline_;
  bool pin_ = false;  // allocate batches in pinned memory

  std::mutex mu_;
  std::condition_variable work_cv_;   // workers wait for tasks
  std::condition_variable ready_cv_;  // consumer waits for a finished batch
  bool stop_ = false;
  bool started_ = false;
  uint64_t generation_ = 0;
  int64_t epoch_ = 0;
  std::vector<int64_t> perm_;
  int64_t end_step_ = 0;
  int64_t consume_step_ = 0;  // next step next() returns
  int64_t hand_step_ = 0;     // next (step, sample) handed to a worker
  int hand_j_ = 0;
  std::map<int64_t, std::shared_ptr<Slot>> slots_;
  std::exception_ptr error_;

  std::atomic<int64_t> replaced_{0};
  std::mutex logged_mu_;
  std::unordered_set<std::string> logged_paths_;
  std::vector<std::thread> workers_;
};

}  // namespace radclear::data
