#pragma once
// The LeCL pretraining stage: MoCo v3 with lesion-aware negatives on one or
// many ranks. Every rank runs this function with its Communicator; rank 0
// writes the resolved config, metrics and checkpoints. Resumable from its
// outputs alone (--resume auto finds the newest valid checkpoint).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <vector>

#include "common/cancel.h"
#include "worker/comm/communicator.h"
#include "worker/pretrain/spec.h"

namespace radclear::data {
struct SliceSample;
}

namespace radclear::worker {

struct PretrainResult {
  int64_t epochs_completed = 0;           // including epochs done before a resume
  std::filesystem::path last_checkpoint;  // empty when none was written
  std::vector<double> step_losses;        // global mean loss of each step run here
  // Pretext accuracy of each step run here: how often the positive key is a
  // query's most similar, over both directions and all ranks; chance is
  // top1_chance = 1 / global batch. chance_losses: the loss of that step's
  // batch at equal similarities (pretext_metrics.h).
  std::vector<double> step_top1;
  std::vector<double> step_chance_losses;
  double top1_chance = 0;
  int64_t steps_run = 0;
  double images_per_second = 0;           // global images / wall time of the steps run here
  double comm_wait_fraction = 0;          // time waiting for gradient buckets / step time
  // Wall time of each step run here, from asking the loader for the batch
  // to the optimizer step, and the part of it spent waiting for the batch.
  std::vector<double> step_seconds;
  std::vector<double> data_wait_seconds;
  bool cancelled = false;  // stopped at the cancel token; the last checkpoint resumes the run
};

struct PretrainOptions {
  bool show_progress = true;  // rank 0's progress bar
  int local_rank = 0;         // this rank's index on its node (its GPU under --device cuda)
  // Stop after this many steps in this call (tests simulate a crash). 0 = no limit.
  int64_t max_steps = 0;
  // Model-only benchmark (`radclear bench pretrain`): every step trains on
  // the first batch again, so the loader idles after filling its queue and
  // the steps cost what the model, loss, sync and optimizer cost.
  bool repeat_first_batch = false;
  // Checked before every step (all ranks agree); a cancelled run saves a
  // mid-epoch checkpoint and returns with PretrainResult::cancelled.
  CancelToken cancel;
  // Called on every rank after each step with (steps done, steps of the run).
  std::function<void(int64_t, int64_t)> on_step;
  // Ablations for the test that training learns (it must fail without
  // either): keep the key encoder at its initial weights (m = 1), or compute
  // and sync the gradients but never apply them.
  bool freeze_momentum_encoder = false;
  bool skip_optimizer_step = false;
};

// Throws InvalidArgument for bad settings, Error for a diverged loss (the
// last good checkpoint is kept).
PretrainResult run_pretrain(const PretrainPlan& plan, std::vector<data::SliceSample> samples, Communicator& comm,
                            const PretrainOptions& options = {});

}  // namespace radclear::worker
