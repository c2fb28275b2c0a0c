#include "worker/pretrain/trainer.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iterator>
#include <optional>
#include <utility>
#include <regex>

#include <spdlog/spdlog.h>

#include "common/atomic_file.h"
#include "common/check.h"
#include "common/parallel.h"
#include "common/progress.h"
#include "data/loader.h"
#include "data/sample.h"
#include "models/backbones/registry.h"
#include "models/backbones/state_dict.h"
#include "models/moco/loss.h"
#include "models/moco/moco.h"
#include "models/moco/schedules.h"
#include "storage/checkpoint/checkpoint.h"
#include "storage/checkpoint/optimizer_state.h"
#include "models/layers/autocast.h"
#include "models/layers/batch_norm.h"
#include "models/layers/loss_scaler.h"
#include "worker/device.h"
#include "worker/grad_sync/comm_reducer.h"
#include "worker/grad_sync/grad_syncer.h"
#include "worker/pretrain/epoch_samples.h"
#include "worker/pretrain/lars.h"
#include "worker/pretrain/metrics_log.h"
#include "worker/pretrain/pretext_metrics.h"
#if RADCLEAR_HAVE_NCCL
#include "worker/comm/nccl_communicator.h"
#endif

namespace radclear::worker {
namespace fs = std::filesystem;
using storage::PyValue;

namespace {

// Where a run continues: epochs completed and steps into the next one.
struct Position {
  int64_t epoch = 0;
  int64_t step = 0;
  int64_t steps_per_epoch = 0;  // of the run that saved it; 0 = not recorded
  fs::path from;                // the checkpoint resumed from
};

torch::Tensor allgather_rows(const torch::Tensor& local, Communicator& comm) {
  if (comm.world() == 1) return local;  // nothing to gather (and no host copy of device memory)
  auto src = local.contiguous();
  auto sizes = src.sizes().vec();
  sizes[0] *= comm.world();
  auto out = torch::empty(sizes, src.options());
  comm.allgather(src.data_ptr(), out.data_ptr(), static_cast<size_t>(src.numel()), comm_dtype(src));
  return out;
}

// The communicator for tensor collectives (weights, keys, gradients): NCCL
// for CUDA tensors across ranks, else `host` (MPI or the world of one).
// Scalars and BatchNorm statistics always go through host memory and `host`.
Communicator& tensor_communicator(const torch::Device& device, Communicator& host,
                                  std::unique_ptr<Communicator>& owned) {
  if (device.is_cpu()) return host;
  if (host.world() == 1) {
    // A world of one moves nothing, and MPI must not see device pointers.
    owned = make_local_communicator();
    return *owned;
  }
#if RADCLEAR_HAVE_NCCL
  owned = std::make_unique<NcclCommunicator>(host, device.has_index() ? device.index() : 0);
  return *owned;
#else
  throw InvalidArgument(fmt::format(
      "pretrain: {} ranks on {} need NCCL to exchange CUDA tensors, and this radclear was built without it: "
      "install NCCL (libnccl-dev, or the one under RADCLEAR_CUDA_ROOT) and rerun scripts/setup.sh, or use --device cpu",
      host.world(), device.str()));
#endif
}

// A host batch tensor on the device: from pinned memory without blocking the
// host (the copy is queued on the compute stream ahead of the step's kernels).
torch::Tensor to_device(const torch::Tensor& t, const torch::Device& device) {
  if (device.is_cpu()) return t;
  return t.pin_memory().to(device, /*non_blocking=*/true);
}

// Optimizer state read from a checkpoint lives on the CPU; the step needs it
// beside the parameters.
void move_optimizer_state(torch::optim::Optimizer& opt, const torch::Device& device) {
  if (device.is_cpu()) return;
  for (auto& [key, state] : opt.state()) {
    if (auto* a = dynamic_cast<torch::optim::AdamWParamState*>(state.get())) {
      a->exp_avg(a->exp_avg().to(device));
      a->exp_avg_sq(a->exp_avg_sq().to(device));
      if (a->max_exp_avg_sq().defined()) a->max_exp_avg_sq(a->max_exp_avg_sq().to(device));
    } else if (auto* l = dynamic_cast<LarsParamState*>(state.get())) {
      l->mu(l->mu().to(device));
    }
  }
}

double global_mean(double v, Communicator& comm) {
  comm.allreduce(&v, 1, DType::kFloat64, ReduceOp::kSum);
  return v / comm.world();
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const PretrainPlan& plan, std::vector<torch::Tensor> params) {
  if (plan.spec.optimizer == OptimizerKind::kLars) {
    return std::make_unique<Lars>(
        params, LarsOptions(plan.lr).weight_decay(plan.spec.weight_decay).momentum(plan.spec.momentum));
  }
  return std::make_unique<torch::optim::AdamW>(
      params, torch::optim::AdamWOptions(plan.lr).weight_decay(plan.spec.weight_decay));
}

void set_lr(torch::optim::Optimizer& opt, double lr) {
  for (auto& g : opt.param_groups()) g.options().set_lr(lr);
}

PyValue lars_state_to_py(torch::optim::Optimizer& opt, const std::vector<torch::Tensor>& params) {
  PyValue mus = PyValue::list();
  auto& state = opt.state();
  for (const auto& p : params) {
    auto it = state.find(c10::guts::to_string(p.unsafeGetTensorImpl()));
    mus.append(it == state.end() ? PyValue::none() : PyValue::tensor(static_cast<LarsParamState&>(*it->second).mu()));
  }
  return mus;
}

void lars_state_from_py(torch::optim::Optimizer& opt, const std::vector<torch::Tensor>& params, const PyValue& mus,
                        const std::string& what) {
  if (mus.size() != params.size()) {
    throw CorruptData(fmt::format("{}: LARS state has {} entries for {} parameters", what, mus.size(), params.size()));
  }
  for (size_t i = 0; i < params.size(); ++i) {
    if (mus.items()[i].is_none()) continue;
    auto st = std::make_unique<LarsParamState>();
    st->mu(mus.items()[i].as_tensor().clone());
    opt.state()[c10::guts::to_string(params[i].unsafeGetTensorImpl())] = std::move(st);
  }
}

// The newest checkpoint of (arch, name) in `dir` that loads, with its path;
// unreadable ones (a crash can only leave an old file, but disks fail) are
// skipped with a warning. nullopt when none loads.
std::optional<std::pair<fs::path, storage::MocoCheckpoint>> load_newest_checkpoint(const fs::path& dir,
                                                                                    const std::string& arch,
                                                                                    const std::string& name) {
  if (!fs::is_directory(dir)) return std::nullopt;
  const std::string prefix = arch + "-moco-lecl-1-" + name + "-checkpoint_";
  std::vector<std::pair<int64_t, fs::path>> found;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string f = e.path().filename().string();
    if (f.rfind(prefix, 0) != 0 || f.size() < prefix.size() + 8 || f.substr(f.size() - 8) != ".pth.tar") continue;
    const std::string num = f.substr(prefix.size(), f.size() - 8 - prefix.size());
    if (num.empty() || !std::all_of(num.begin(), num.end(), ::isdigit)) continue;
    found.emplace_back(std::stoll(num), e.path());
  }
  std::sort(found.rbegin(), found.rend());
  for (const auto& [epoch, path] : found) {
    try {
      return std::make_pair(path, storage::load_moco_checkpoint(path));
    } catch (const Error& e) {
      spdlog::warn("skipping unreadable checkpoint {} ({}); trying the one before", path.string(), e.what());
    }
  }
  return std::nullopt;
}

// metrics.csv columns; the tests and scripts read rows by these names.
// loss_chance and top1_chance: the batch's chance levels (pretext_metrics.h).
constexpr const char* kMetricsHeader = "epoch,step,loss,lr,momentum,images_per_s,top1,loss_chance,top1_chance";

std::vector<PyValue> py_strings(const std::vector<std::string>& v) {
  std::vector<PyValue> out;
  for (const auto& s : v) out.push_back(PyValue::string(s));
  return out;
}

// True on every rank when any rank was asked to stop, so all stop at the
// same step (the next collective would otherwise hang).
bool cancel_requested(const CancelToken& cancel, Communicator& comm) {
  int32_t stop = cancel.requested() ? 1 : 0;
  if (comm.world() > 1) comm.allreduce(&stop, 1, DType::kInt32, ReduceOp::kMax);
  return stop != 0;
}

}  // namespace

PretrainResult run_pretrain(const PretrainPlan& plan, std::vector<data::SliceSample> samples, Communicator& comm,
                            const PretrainOptions& options) {
  const PretrainSpec& spec = plan.spec;
  RADCLEAR_CHECK_EQ(comm.world(), plan.world, "plan made for another world size");
  const bool lead = comm.rank() == 0;
  // The device first: a GPU that is not there fails before any work.
  const torch::Device device = resolve_device(spec.device, options.local_rank, "pretrain");
  check_precision(device, spec.precision, "pretrain", false);
  std::unique_ptr<Communicator> nccl;
  Communicator& tensor_comm = tensor_communicator(device, comm, nccl);
  if (samples.empty()) throw InvalidArgument("pretrain: the index holds no slices to train on");
  samples = epoch_samples(spec, std::move(samples));
  set_openblas_threads(1);  // torch's OpenMP threads run the GEMMs (common/parallel.h)

  // Model: the same seed everywhere, then rank 0's values win anyway.
  torch::manual_seed(spec.seed);
  models::BackboneOptions bopt;
  bopt.image_size = spec.image_size;
  bopt.stop_grad_conv1 = spec.stop_grad_conv1;
  models::Moco moco([&] { return models::make_backbone(spec.arch, bopt); },
                    models::MocoOptions{spec.moco_dim, spec.moco_mlp_dim});
  moco->to(device);
  moco->train();
  moco->set_backbone_precision(spec.precision);
  if (spec.precision == Precision::kBFloat16 && device.is_cpu()) {
    if (lead && !models::cpu_has_native_bf16()) {
      spdlog::warn("pretrain: this CPU has no AVX512-BF16/AMX: bf16 is emulated, likely slower than fp32 and less "
                   "accurate (ResNet-50 gradients: cosine 0.84 to fp32's)");
    }
  }
  auto all_params = moco->parameters();  // Python's order: optimizer state indexes match
  std::vector<torch::Tensor> state_tensors;
  for (auto& kv : models::named_state(*moco)) state_tensors.push_back(kv.value());
  broadcast_from_rank0(state_tensors, tensor_comm);
  // BatchNorm (projector, predictor, conv stems, ResNet) over the global batch.
  CommBatchStatsReducer bn_reducer(comm);
  models::set_batch_stats_reducer(*moco, comm.world() > 1 ? &bn_reducer : nullptr);

  std::vector<torch::Tensor> trainable;
  std::vector<std::string> trainable_names;
  for (auto& kv : moco->named_parameters()) {
    if (!kv.value().requires_grad()) continue;
    trainable.push_back(kv.value());
    trainable_names.push_back(kv.key());
  }
  auto optimizer = make_optimizer(plan, all_params);

  // Resume.
  Position pos;
  if (spec.resume != "none") {
    auto found = spec.resume == "auto"
                     ? load_newest_checkpoint(spec.out, spec.arch, spec.name)
                     : std::make_optional(std::make_pair(fs::path(spec.resume), storage::load_moco_checkpoint(spec.resume)));
    if (found) {
      const fs::path& from = found->first;
      const storage::MocoCheckpoint& ckpt = found->second;
      if (!ckpt.arch.empty() && ckpt.arch != spec.arch) {
        throw InvalidArgument(fmt::format("pretrain: {} holds arch '{}' but --arch is '{}'", from.string(), ckpt.arch,
                                          spec.arch));
      }
      models::StateDict sd;
      for (const auto& kv : ckpt.state_dict) sd[kv.key()] = kv.value();
      models::load_state_dict_strict(*moco, sd, from.string());
      if (spec.optimizer == OptimizerKind::kAdamW && !ckpt.optimizer.is_none()) {
        storage::adamw_state_from_py(static_cast<torch::optim::AdamW&>(*optimizer), ckpt.optimizer, from.string());
      }
      pos.epoch = ckpt.epoch;
      pos.from = from;
      if (ckpt.radclear.is_dict()) {
        if (const PyValue* step = ckpt.radclear.find("step")) pos.step = step->as_int();
        if (const PyValue* n = ckpt.radclear.find("steps_per_epoch")) pos.steps_per_epoch = n->as_int();
        if (const PyValue* mu = ckpt.radclear.find("lars_mu"); mu && spec.optimizer == OptimizerKind::kLars) {
          lars_state_from_py(*optimizer, all_params, *mu, from.string());
        }
      }
      move_optimizer_state(*optimizer, device);
      if (lead) spdlog::info("resuming from {} at epoch {} step {}", from.string(), pos.epoch, pos.step);
    }
  }
  if (pos.from.empty() && spec.start_epoch > 0) {
    // main_moco's --start-epoch: the schedules begin at that epoch.
    pos.epoch = spec.start_epoch;
    if (lead) spdlog::info("pretrain: nothing resumed; starting at epoch {} (--start-epoch)", pos.epoch);
  }

  data::LoaderSpec lspec;
  lspec.data_root = spec.data.string();
  lspec.threads = plan.loader_threads;
  lspec.seed = spec.seed;
  lspec.windows = spec.windows;
  if (spec.views == ViewRecipe::kCt) {
    lspec.views = data::ct_view_spec(static_cast<int>(spec.image_size), spec.crop_min);
  } else {
    lspec.views = data::lecl_view_spec(static_cast<int>(spec.image_size), spec.crop_min > 0 ? spec.crop_min : 0.08);
  }
  data::ShardSpec shard;
  shard.rank = comm.rank();
  shard.world = comm.world();
  shard.global_batch = spec.batch_size;
  shard.seed = spec.seed;
  data::SliceLoader loader(std::move(samples), lspec, shard);
  const int64_t steps = loader.steps_per_epoch();
  // A mid-epoch position means "step s of this epoch's permutation"; with
  // another epoch length it would skip or repeat slices.
  if (pos.step > 0 && pos.steps_per_epoch > 0 && pos.steps_per_epoch != steps) {
    throw InvalidArgument(fmt::format(
        "pretrain: {} was saved at step {} of an epoch of {} steps, but this run has {} steps per epoch (the index, "
        "--batch-size or --lesion-repeat changed); resume from an end-of-epoch checkpoint, start a new --out, or "
        "keep the settings",
        pos.from.string(), pos.step, pos.steps_per_epoch, steps));
  }

  BucketOptions bucket;
  bucket.cap_bytes = static_cast<size_t>(spec.bucket_cap_mb * (1 << 20));
  GradSyncer syncer(trainable, trainable_names, tensor_comm, bucket);
  // fp16 only: dynamic loss scaling (a pass-through otherwise).
  models::LossScalerOptions scaler_options;
  scaler_options.enabled = spec.precision == Precision::kFloat16;
  models::LossScaler scaler(scaler_options);
  models::ContrastiveLossOptions loss_opt{spec.moco_t, spec.sampling == Sampling::kLesion ? spec.sample_weight : 0.0};
  const models::LrScheduleSpec lr_spec{plan.lr, spec.warmup_epochs, static_cast<double>(spec.epochs)};
  const bool lecl = loss_opt.sample_weight > 0;

  if (lead) {
    fs::create_directories(spec.out);
    YAML::Emitter y;
    y << stages::to_yaml(spec);
    write_file_atomic(spec.out / "pretrain.yaml", std::string(y.c_str()) + "\n");
  }

  PretrainResult result;
  result.epochs_completed = pos.epoch;
  result.top1_chance = 1.0 / static_cast<double>(spec.batch_size);
  auto save = [&](int64_t epochs_done, int64_t step_in_epoch) {
    if (!lead) return;
    storage::MocoCheckpoint c;
    c.epoch = epochs_done;
    c.arch = spec.arch;
    c.state_dict = models::named_state(*moco);
    if (spec.optimizer == OptimizerKind::kAdamW) {
      c.optimizer = storage::adamw_state_to_py(static_cast<torch::optim::AdamW&>(*optimizer));
    }
    c.radclear = PyValue::dict();
    c.radclear.set("step", PyValue::integer(step_in_epoch));
    c.radclear.set("steps_per_epoch", PyValue::integer(steps));
    c.radclear.set("world", PyValue::integer(comm.world()));
    c.radclear.set("seed", PyValue::integer(static_cast<int64_t>(spec.seed)));
    // What extraction should feed this encoder (worker/extract/encoder.h).
    c.radclear.set("windows", PyValue::list(py_strings(spec.windows)));
    c.radclear.set("views", PyValue::string(stages::enum_name(spec.views)));
    if (spec.optimizer == OptimizerKind::kLars) c.radclear.set("lars_mu", lars_state_to_py(*optimizer, all_params));
    const fs::path path = spec.out / storage::moco_checkpoint_file_name(spec.arch, spec.name, epochs_done);
    storage::save_moco_checkpoint(path, c);
    result.last_checkpoint = path;
  };

  std::optional<MetricsLog> metrics;
  if (lead) metrics.emplace(spec.out / "metrics.csv", kMetricsHeader);
  const auto run_start = std::chrono::steady_clock::now();
  double wait_total = 0, step_total = 0;
  std::optional<data::Batch> first_batch;  // options.repeat_first_batch
  auto summarize = [&] {
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
    result.images_per_second = static_cast<double>(result.steps_run * spec.batch_size) / std::max(wall, 1e-9);
    result.comm_wait_fraction = step_total > 0 ? wait_total / step_total : 0.0;
    return result;
  };
  for (int64_t epoch = pos.epoch; epoch < spec.epochs; ++epoch) {
    const int64_t first = epoch == pos.epoch ? pos.step : 0;
    loader.start_epoch(epoch, first);
    ProgressBar bar(steps - first, {fmt::format("epoch {}/{}", epoch + 1, spec.epochs), "step", options.show_progress && lead});
    double epoch_loss = 0, epoch_top1 = 0, epoch_chance = 0;
    int64_t epoch_steps = 0;
    // Global-batch images per second so far this epoch (the bar counts steps).
    auto images_per_s = [&] {
      return static_cast<double>(epoch_steps * spec.batch_size) / std::max(bar.elapsed_s(), 1e-9);
    };
    double lr = 0, m = spec.moco_m;
    for (int64_t step = first; step < steps; ++step) {
      if (options.max_steps > 0 && result.steps_run >= options.max_steps) return summarize();
      if (cancel_requested(options.cancel, comm)) {
        if (step > first) save(epoch, step);  // else the last epoch's checkpoint already resumes here
        result.cancelled = true;
        if (lead) spdlog::warn("pretrain: cancelled at epoch {} step {}; rerun to resume", epoch + 1, step);
        return summarize();
      }
      const auto t_ask = std::chrono::steady_clock::now();
      auto batch = first_batch ? first_batch : loader.next();
      RADCLEAR_CHECK(batch.has_value(), "rank {}: loader ended at step {} of {}", comm.rank(), step, steps);
      if (options.repeat_first_batch) first_batch = batch;
      const auto t0 = std::chrono::steady_clock::now();
      const double frac = static_cast<double>(epoch) + static_cast<double>(step) / static_cast<double>(steps);
      lr = models::learning_rate_at(frac, lr_spec);
      m = spec.moco_m_cos ? models::momentum_at(frac, static_cast<double>(spec.epochs), spec.moco_m) : spec.moco_m;
      if (options.freeze_momentum_encoder) m = 1.0;
      set_lr(*optimizer, lr);
      auto out = moco->forward(to_device(batch->view1, device), to_device(batch->view2, device), m);
      auto k1 = allgather_rows(out.k1, tensor_comm), k2 = allgather_rows(out.k2, tensor_comm);
      auto lesion = allgather_rows(to_device(batch->lesion, device), tensor_comm);
      auto loss = models::moco_total_loss(out.q1, out.q2, k1, k2, lesion, comm.rank(), loss_opt);
      optimizer->zero_grad();
      scaler.scale(loss).backward();
      const auto stats = syncer.finish();
      // Averaged gradients are the same on every rank, so every rank agrees
      // on an fp16 overflow and skips the same steps.
      if (scaler.enabled() && !options.skip_optimizer_step) scaler.unscale(*optimizer);
      if (spec.grad_clip > 0) torch::nn::utils::clip_grad_norm_(trainable, spec.grad_clip);
      const double loss_value = global_mean(loss.item<double>(), comm);
      const double top1 = global_mean(
          (positive_top1(out.q1, k2, comm.rank()) + positive_top1(out.q2, k1, comm.rank())) / 2, comm);
      const double chance = chance_loss(lesion, spec.moco_t, lecl);
      if (!std::isfinite(loss_value)) {
        throw Error(StatusCode::kInternal,
                    fmt::format("pretrain: the loss became {} at epoch {} step {} (lr {:.3g}); stopping. The last "
                                "good checkpoint is {}. Lower --lr or set --grad-clip and resume.",
                                loss_value, epoch + 1, step, lr,
                                result.last_checkpoint.empty() ? "none" : result.last_checkpoint.string()));
      }
      if (!options.skip_optimizer_step && !scaler.step(*optimizer) && lead) {
        spdlog::info("pretrain: fp16 gradients overflowed at epoch {} step {}; step skipped, loss scale now {:g}",
                     epoch + 1, step, scaler.scale_value());
      }
      const auto t1 = std::chrono::steady_clock::now();
      const double dt = std::chrono::duration<double>(t1 - t0).count();
      wait_total += stats.wait_seconds;
      step_total += dt;
      result.step_seconds.push_back(std::chrono::duration<double>(t1 - t_ask).count());
      result.data_wait_seconds.push_back(std::chrono::duration<double>(t0 - t_ask).count());
      result.step_losses.push_back(loss_value);
      result.step_top1.push_back(top1);
      result.step_chance_losses.push_back(chance);
      ++result.steps_run;
      epoch_loss += loss_value;
      epoch_top1 += top1;
      epoch_chance += chance;
      ++epoch_steps;
      bar.advance(1, fmt::format("{:.1f} img/s | loss {:.4f} (chance {:.2f}) top-1 {:.2f} (chance {:.3f}) lr {:.3g}",
                                 images_per_s(), loss_value, chance, top1, result.top1_chance, lr));
      if (lead && (step % spec.print_freq == 0 || step + 1 == steps)) {
        metrics->append(fmt::format("{},{},{:.6f},{:.6g},{:.6f},{:.1f},{:.4f},{:.4f},{:.4f}", epoch, step, loss_value,
                                     lr, m, static_cast<double>(spec.batch_size) / std::max(dt, 1e-9), top1, chance,
                                     result.top1_chance));
      }
      if (spec.save_every > 0 && (step + 1) % spec.save_every == 0 && step + 1 < steps) save(epoch, step + 1);
      if (options.on_step) options.on_step(epoch * steps + step + 1, spec.epochs * steps);
    }
    bar.finish();
    save(epoch + 1, 0);
    result.epochs_completed = epoch + 1;
    if (lead) {
      const double div = static_cast<double>(std::max<int64_t>(epoch_steps, 1));
      spdlog::info("epoch {}/{}: loss {:.4f} (chance {:.2f}), top-1 {:.3f} (chance {:.3f}), lr {:.3g}, m {:.4f}, "
                   "{:.1f} img/s, checkpoint {}",
                   epoch + 1, spec.epochs, epoch_loss / div, epoch_chance / div, epoch_top1 / div,
                   result.top1_chance, lr, m, images_per_s(), result.last_checkpoint.filename().string());
    }
  }
  return summarize();
}

}  // namespace radclear::worker
