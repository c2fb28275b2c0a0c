#include "worker/extract/study_reader.h"

#include <filesystem>

#include <fmt/format.h>
#include <opencv2/core.hpp>

#include "common/check.h"
#include "data/scanner_decode.h"
#include "data/transforms.h"
#include "data/window.h"

namespace radclear::worker {

struct StudyChunkReader::Luts {
  std::vector<data::WindowLut> windows;
};

StudyChunkReader::StudyChunkReader(std::vector<ExtractStudy> studies, StudyReaderSpec spec)
    : studies_(std::move(studies)), spec_(std::move(spec)), luts_(std::make_unique<Luts>()) {
  if (spec_.windows.empty()) throw InvalidArgument("extract: at least one CT window is needed");
  if (spec_.slices_per_chunk < 1 || spec_.image_size < 1 || spec_.threads < 1 || spec_.prefetch_chunks < 1) {
    throw InvalidArgument(fmt::format("extract reader: slices_per_chunk {}, image_size {}, threads {}, prefetch {} "
                                      "must all be >= 1",
                                      spec_.slices_per_chunk, spec_.image_size, spec_.threads,
                                      spec_.prefetch_chunks));
  }
  for (const auto& w : spec_.windows) luts_->windows.emplace_back(data::parse_ct_window(w));
  for (size_t s = 0; s < studies_.size(); ++s) {
    const auto n = static_cast<int64_t>(studies_[s].slices.size());
    for (int64_t first = 0; first < n; first += spec_.slices_per_chunk) {
      const int64_t count = std::min(spec_.slices_per_chunk, n - first);
      plan_.push_back({s, first, count, first + count == n});
    }
  }
  skipped_.assign(studies_.size(), false);
  const int threads = std::max(1, std::min<int>(spec_.threads, static_cast<int>(plan_.size())));
  for (int t = 0; t < threads && !plan_.empty(); ++t) workers_.emplace_back([this] { worker_loop(); });
}

StudyChunkReader::~StudyChunkReader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void StudyChunkReader::skip_study(size_t study) {
  std::lock_guard<std::mutex> lock(mu_);
  skipped_.at(study) = true;
  work_cv_.notify_all();
}

void StudyChunkReader::worker_loop() {
  const auto ahead = static_cast<size_t>(spec_.prefetch_chunks);
  while (true) {
    size_t idx = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return stop_ || (hand_ < plan_.size() && hand_ < consume_ + ahead); });
      if (stop_) return;
      idx = hand_++;
      if (skipped_[plan_[idx].study]) {
        StudyChunk dropped;
        dropped.study = plan_[idx].study;
        ready_.emplace(idx, std::move(dropped));
        ready_cv_.notify_all();
        continue;
      }
    }
    StudyChunk chunk = fill(plan_[idx]);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ready_.emplace(idx, std::move(chunk));
    }
    ready_cv_.notify_all();
  }
}

StudyChunk StudyChunkReader::fill(const Planned& p) const {
  StudyChunk c;
  c.study = p.study;
  c.first_slice = p.first;
  c.slices = p.count;
  c.last = p.last;
  const ExtractStudy& study = studies_[p.study];
  const int size = static_cast<int>(spec_.image_size);
  std::vector<cv::Mat> rows;  // eval-transformed 8-bit images in row order
  try {
    for (int64_t k = 0; k < p.count; ++k) {
      const ExtractSlice& slice = study.slices[p.first + k];
      const std::string path = (std::filesystem::path(spec_.data_root) / slice.rel_path).string();
      const data::DecodedImage img = data::decode_slice_source(path, slice.source, slice.frame);
      const int per_slice =
          img.kind == data::PixelKind::kHounsfield ? static_cast<int>(luts_->windows.size()) : 1;
      if (c.rows_per_slice == 0) {
        c.rows_per_slice = per_slice;
        c.windowed = img.kind == data::PixelKind::kHounsfield;
      } else if (c.windowed != (img.kind == data::PixelKind::kHounsfield)) {
        throw CorruptData(fmt::format("{}: study {} mixes 16-bit CT and 8-bit slices ({} is {})", path,
                                      study.study_id, slice.name, data::pixel_kind_name(img.kind)));
      }
      if (img.kind == data::PixelKind::kHounsfield) {
        for (const auto& lut : luts_->windows) rows.push_back(data::eval_transform(data::to_8bit(img, lut), size));
      } else {
        rows.push_back(data::eval_transform(img.pixels, size));
      }
    }
  } catch (const Error& e) {
    c.error = e.what();
    return c;
  } catch (const cv::Exception& e) {
    c.error = fmt::format("study {}: OpenCV: {}", study.study_id, e.what());
    return c;
  }
  c.images = torch::empty({static_cast<int64_t>(rows.size()), 3, size, size}, torch::kFloat32);
  float* dst = c.images.data_ptr<float>();
  const int64_t stride = 3LL * size * size;
  const data::Normalization norm;
  for (size_t r = 0; r < rows.size(); ++r) data::write_normalized(rows[r], norm, false, dst + r * stride);
  return c;
}

std::optional<StudyChunk> StudyChunkReader::next() {
  std::unique_lock<std::mutex> lock(mu_);
  while (consume_ < plan_.size()) {
    ready_cv_.wait(lock, [&] { return ready_.count(consume_) > 0; });
    auto node = ready_.extract(consume_);
    ++consume_;
    work_cv_.notify_all();
    StudyChunk chunk = std::move(node.mapped());
    if (skipped_[chunk.study]) continue;
    return chunk;
  }
  return std::nullopt;
}

}  // namespace radclear::worker
