#include "worker/crossval/train.h"

#include <cerrno>
#include <cstring>

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>

#include "common/atomic_file.h"
#include "common/check.h"
#include "common/logging.h"
#include "common/progress.h"
#include "models/layers/autocast.h"
#include "worker/crossval/bags.h"

namespace radclear::crossval {

namespace {

using Clock = std::chrono::steady_clock;

torch::Tensor bce(const torch::Tensor& logits, const torch::Tensor& targets, const torch::Tensor& pos_weight) {
  return torch::binary_cross_entropy_with_logits(logits, targets, /*weight=*/{}, pos_weight,
                                                 at::Reduction::Mean);
}

std::vector<std::vector<size_t>> chunks(const std::vector<size_t>& idx, int64_t size) {
  std::vector<std::vector<size_t>> out;
  for (size_t i = 0; i < idx.size(); i += static_cast<size_t>(size)) {
    out.emplace_back(idx.begin() + i, idx.begin() + std::min(idx.size(), i + static_cast<size_t>(size)));
  }
  return out;
}

// The targets of `batch` and its forward pass on the compute device, under
// autocast; logits and attention as float32.
struct DeviceForward {
  models::MilOutput out;
  torch::Tensor targets;
};
DeviceForward forward(models::MilModelImpl& model, const InputScaler& scaler, const Batch& batch, const Compute& c) {
  torch::Tensor feats = scaler.apply(batch.feats, batch.mask), mask = batch.mask, targets = batch.targets;
  if (!c.device.is_cpu()) {
    feats = feats.pin_memory().to(c.device, /*non_blocking=*/true);
    mask = mask.pin_memory().to(c.device, /*non_blocking=*/true);
    if (targets.defined()) targets = targets.to(c.device);
  }
  DeviceForward r;
  {
    models::AutocastScope autocast(c.device.type(), c.precision);
    r.out = model.forward(feats, mask);
  }
  r.out.logits = r.out.logits.to(torch::kFloat32);
  if (r.out.attention.defined()) r.out.attention = r.out.attention.to(torch::kFloat32);
  r.targets = targets;
  return r;
}

// Parameters and buffers, detached copies (early-stopping snapshot).
std::vector<torch::Tensor> snapshot(torch::nn::Module& m) {
  std::vector<torch::Tensor> out;
  for (const auto& p : m.parameters()) out.push_back(p.detach().clone());
  for (const auto& b : m.buffers()) out.push_back(b.detach().clone());
  return out;
}

void restore(torch::nn::Module& m, const std::vector<torch::Tensor>& snap) {
  torch::NoGradGuard ng;
  size_t i = 0;
  for (auto& p : m.parameters()) p.copy_(snap[i++]);
  for (auto& b : m.buffers()) b.copy_(snap[i++]);
}

}  // namespace

std::vector<float> pos_weights(const FeatureBank& bank, const std::vector<size_t>& idx,
                               const std::vector<std::string>& label_names) {
  std::vector<float> out(label_names.size(), 1.0f);
  for (size_t l = 0; l < label_names.size(); ++l) {
    double pos = 0, neg = 0;
    for (size_t i : idx) (bank.studies()[i].targets[l] > 0.5f ? pos : neg) += 1;
    if (pos == 0 || neg == 0) {
      spdlog::warn("label '{}' has {} positives and {} negatives among {} training studies; pos_weight 1",
                   label_names[l], pos, neg, idx.size());
      continue;
    }
    out[l] = static_cast<float>(neg / pos);
  }
  return out;
}

double evaluate_loss(models::MilModelImpl& model, const InputScaler& scaler, const FeatureBank& bank,
                     const std::vector<size_t>& idx,
                     const std::vector<float>& pos_weight, int64_t bag_size, int64_t batch_size, uint64_t seed,
                     const Compute& compute) {
  if (idx.empty()) return 0.0;
  torch::NoGradGuard ng;
  model.eval();
  const auto pw = torch::tensor(pos_weight).to(compute.device);
  double sum = 0.0;
  for (const auto& chunk : chunks(idx, batch_size)) {
    const auto batch = bank.make_batch(chunk, bag_size, seed);
    const auto f = forward(model, scaler, batch, compute);
    sum += bce(f.out.logits, f.targets, pw).item<double>() * static_cast<double>(chunk.size());
  }
  return sum / static_cast<double>(idx.size());
}

TrainResult train_mil(models::MilModelImpl& model, const InputScaler& scaler, const FeatureBank& bank,
                      const std::vector<size_t>& train_idx,
                      const std::vector<size_t>& valid_idx, const std::vector<float>& pos_weight,
                      const TrainOptions& o, const std::function<void(const EpochRecord&)>& on_epoch) {
  if (train_idx.empty()) throw InvalidArgument(fmt::format("{}: no training studies", o.label));
  torch::optim::AdamW opt(model.parameters(), torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));
  const auto pw = torch::tensor(pos_weight).to(o.compute.device);
  const uint64_t valid_seed = mix_seed(o.seed, 0xba9);
  TrainResult result;
  result.best_valid_loss = std::numeric_limits<double>::infinity();
  std::vector<torch::Tensor> best;
  int since_best = 0;
  std::vector<size_t> order = train_idx;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    const auto start = Clock::now();
    std::mt19937_64 rng(mix_seed(o.seed, static_cast<uint64_t>(epoch)));
    std::shuffle(order.begin(), order.end(), rng);
    model.train();
    const auto batches = chunks(order, o.batch_size);
    ProgressOptions po;
    po.label = fmt::format("{} epoch {}/{}", o.label, epoch, o.epochs);
    po.unit = "bags";
    po.enabled = o.progress;
    ProgressBar bar(static_cast<int64_t>(order.size()), po);
    double loss_sum = 0.0;
    for (size_t b = 0; b < batches.size(); ++b) {
      const auto batch = bank.make_batch(batches[b], o.bag_size, mix_seed(o.seed, epoch * 1000003ull + b));
      opt.zero_grad();
      const auto f = forward(model, scaler, batch, o.compute);
      const auto loss = bce(f.out.logits, f.targets, pw);
      loss.backward();
      opt.step();
      const double l = loss.item<double>();
      loss_sum += l * static_cast<double>(batches[b].size());
      bar.advance(static_cast<int64_t>(batches[b].size()), fmt::format("loss {:.4f}", l));
    }
    bar.finish();
    EpochRecord rec;
    rec.epoch = epoch;
    rec.train_loss = loss_sum / static_cast<double>(order.size());
    // Without validation studies the training loss decides (documented fallback).
    rec.valid_loss = valid_idx.empty() ? rec.train_loss
                                       : evaluate_loss(model, scaler, bank, valid_idx, pos_weight, o.bag_size,
                                                       o.batch_size, valid_seed, o.compute);
    rec.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    rec.best = rec.valid_loss < result.best_valid_loss;
    if (rec.best) {
      result.best_valid_loss = rec.valid_loss;
      result.best_epoch = epoch;
      best = snapshot(model);
      since_best = 0;
    } else {
      ++since_best;
    }
    result.curve.push_back(rec);
    if (on_epoch) on_epoch(rec);
    if (since_best >= o.patience) {
      result.stopped_early = epoch < o.epochs;
      break;
    }
  }
  if (!best.empty()) restore(model, best);
  model.eval();
  return result;
}

std::vector<StudyPrediction> predict(models::MilModelImpl& model, const InputScaler& scaler, const FeatureBank& bank,
                                     const std::vector<size_t>& idx, int64_t bag_size, int64_t batch_size,
                                     uint64_t seed, const Compute& compute) {
  torch::NoGradGuard ng;
  model.eval();
  std::vector<StudyPrediction> out;
  for (const auto& chunk : chunks(idx, batch_size)) {
    const auto batch = bank.make_batch(chunk, bag_size, seed);
    const auto res = forward(model, scaler, batch, compute).out;
    const auto logits = res.logits.to(torch::kCPU).contiguous();
    const auto att = res.attention.to(torch::kCPU).contiguous();
    for (size_t i = 0; i < chunk.size(); ++i) {
      StudyPrediction p;
      p.study = chunk[i];
      const auto li = logits[static_cast<int64_t>(i)];
      p.logits.assign(li.data_ptr<float>(), li.data_ptr<float>() + li.numel());
      p.rows = batch.rows[i];
      const auto ai = att[static_cast<int64_t>(i)];
      p.attention.assign(ai.data_ptr<float>(), ai.data_ptr<float>() + p.rows.size());
      out.push_back(std::move(p));
    }
  }
  return out;
}

void save_mil_checkpoint(const std::filesystem::path& path, models::MilModelImpl& model, const InputScaler& scaler,
                         const std::vector<std::string>& label_names) {
  // Saved from the CPU, so that a model trained on a GPU loads anywhere.
  const auto params = model.parameters();
  const torch::Device device = params.empty() ? torch::Device(torch::kCPU) : params.front().device();
  if (!device.is_cpu()) model.to(torch::kCPU);
  torch::serialize::OutputArchive archive;
  model.save(archive);
  if (!device.is_cpu()) model.to(device);
  if (!scaler.identity()) {
    archive.write("radclear.input_mean", scaler.mean);
    archive.write("radclear.input_inv_std", scaler.inv_std);
  }
  const auto& o = model.options();
  archive.write("radclear.mil_kind", c10::IValue(std::string(models::mil_kind_name(o.kind))));
  archive.write("radclear.in_dim", c10::IValue(o.in_dim));
  archive.write("radclear.n_labels", c10::IValue(o.n_labels));
  archive.write("radclear.hidden", c10::IValue(o.hidden));
  archive.write("radclear.attention_dim", c10::IValue(o.attention_dim));
  archive.write("radclear.dropout", c10::IValue(o.dropout));
  archive.write("radclear.pma_heads", c10::IValue(o.pma_heads));
  archive.write("radclear.pma_seeds", c10::IValue(o.pma_seeds));
  archive.write("radclear.linear_hidden", c10::IValue(o.linear_hidden));
  archive.write("radclear.labels", c10::IValue(c10::List<std::string>(label_names)));
  // Through our own atomic file: after a failed write the rest is discarded
  // and reported here. (Given a file name, PyTorch's zip writer threw on the
  // failed write, and its destructor threw again: std::terminate.)
  AtomicOutputFile out(path, /*binary=*/true);
  std::ostream& stream = out.stream();
  int write_errno = 0;  // the first failed write's cause (EFBIG, ENOSPC, EIO)
  try {
    archive.save_to([&](const void* buf, size_t n) -> size_t {
      if (!stream) return n;
      errno = 0;
      stream.write(static_cast<const char*>(buf), static_cast<std::streamsize>(n));
      if (!stream) write_errno = errno;
      return n;
    });
  } catch (const c10::Error& e) {
    throw IoError(fmt::format("cannot write model {}: {}", path.string(), e.what_without_backtrace()));
  }
  if (!stream) {
    throw IoError(fmt::format("writing {} failed: {} (its temporary file is removed; the previous {} is untouched)",
                              path.string(), write_errno != 0 ? std::strerror(write_errno) : "unknown cause",
                              path.filename().string()));
  }
  out.commit();
}

LoadedMil load_mil_checkpoint(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw NotFound(fmt::format("model file {} does not exist", path.string()));
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path.string());
  } catch (const c10::Error& e) {
    throw CorruptData(fmt::format("{}: not a model file: {}", path.string(), e.what_without_backtrace()));
  }
  auto read = [&](const char* key) {
    c10::IValue v;
    if (!archive.try_read(key, v)) {
      throw CorruptData(fmt::format("{}: '{}' missing (not a radclear MIL model?)", path.string(), key));
    }
    return v;
  };
  models::MilOptions o;
  o.kind = models::parse_mil_kind(read("radclear.mil_kind").toStringRef());
  o.in_dim = read("radclear.in_dim").toInt();
  o.n_labels = read("radclear.n_labels").toInt();
  o.hidden = read("radclear.hidden").toInt();
  o.attention_dim = read("radclear.attention_dim").toInt();
  o.dropout = read("radclear.dropout").toDouble();
  o.pma_heads = read("radclear.pma_heads").toInt();
  o.pma_seeds = read("radclear.pma_seeds").toInt();
  o.linear_hidden = read("radclear.linear_hidden").toInt();
  LoadedMil out;
  for (const c10::IValue s : read("radclear.labels").toList()) out.label_names.push_back(s.toStringRef());
  torch::Tensor mean, inv_std;
  if (archive.try_read("radclear.input_mean", mean)) {
    if (!archive.try_read("radclear.input_inv_std", inv_std) || mean.numel() != o.in_dim ||
        inv_std.numel() != o.in_dim) {
      throw CorruptData(fmt::format("{}: input standardisation is incomplete or not {} wide", path.string(), o.in_dim));
    }
    out.scaler.mean = mean;
    out.scaler.inv_std = inv_std;
  }
  out.model = models::make_mil_model(o);
  try {
    out.model->load(archive);
  } catch (const c10::Error& e) {
    throw CorruptData(fmt::format("{}: weights do not fit a {} model: {}", path.string(), models::mil_kind_name(o.kind),
                                  e.what_without_backtrace()));
  }
  out.model->eval();
  return out;
}

}  // namespace radclear::crossval
