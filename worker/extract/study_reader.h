#pragma once
// Streams the slices of a rank's studies, decoded, windowed and put through
// the eval transform, as ready-to-run chunks in study order. A pool of
// threads works a bounded number of chunks ahead of the model (prefetch), so
// decoding overlaps the forward passes; a chunk never spans two studies, so
// slices of a study are batched together.
//
// Rows: a 16-bit (HU) slice k of a chunk gives one row per CT window, rows
// k*W .. k*W+W-1 in window order (the reference's interleaving); an 8-bit
// slice gives one row (it is already windowed).
//
// Thread safety: one consumer thread calls next().
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <torch/types.h>

#include "data/slice_source.h"

namespace radclear::worker {

struct ExtractSlice {
  std::string rel_path;  // relative to the data root
  std::string name;      // file stem, stored as slice_names
  int32_t number = 0;    // slice number, stored in coords[:, 0]
  SliceSource source = SliceSource::kImageFile;  // how rel_path is decoded
  int32_t frame = 0;     // DICOM frame or NIfTI plane
};

struct ExtractStudy {
  std::string study_id;
  std::vector<ExtractSlice> slices;  // z order
};

struct StudyReaderSpec {
  std::string data_root;                // joined with ExtractSlice::rel_path
  std::vector<std::string> windows;     // CT windows (data/window.h names)
  int64_t image_size = 224;             // eval transform: resize shorter side, centre crop
  int64_t slices_per_chunk = 32;        // >= 1
  int threads = 1;                      // decode threads (>= 1)
  int prefetch_chunks = 4;              // chunks in flight ahead of the consumer
};

struct StudyChunk {
  size_t study = 0;           // index into the study list
  int64_t first_slice = 0;    // index of the chunk's first slice in the study
  int64_t slices = 0;
  bool last = false;          // the study's last chunk
  int rows_per_slice = 0;     // windows for HU slices, 1 for 8-bit slices
  bool windowed = false;      // HU slices: row w of a slice is CT window w
  torch::Tensor images;       // [slices * rows_per_slice, 3, S, S] float32, normalised
  std::string error;          // non-empty: unreadable (names the file); images undefined
};

class StudyChunkReader {
 public:
  // Throws InvalidArgument for a bad spec (unknown window, sizes < 1).
  StudyChunkReader(std::vector<ExtractStudy> studies, StudyReaderSpec spec);
  ~StudyChunkReader();
  StudyChunkReader(const StudyChunkReader&) = delete;
  StudyChunkReader& operator=(const StudyChunkReader&) = delete;

  // The next chunk in order; nullopt after the last.
  std::optional<StudyChunk> next();
  // Stops handing out the remaining chunks of `study` (after a failure);
  // next() skips them.
  void skip_study(size_t study);

  const std::vector<ExtractStudy>& studies() const { return studies_; }
  int64_t chunk_count() const { return static_cast<int64_t>(plan_.size()); }

 private:
  struct Planned {
    size_t study;
    int64_t first, count;
    bool last;
  };
  void worker_loop();
  StudyChunk fill(const Planned& p) const;

  std::vector<ExtractStudy> studies_;
  StudyReaderSpec spec_;
  struct Luts;
  std::unique_ptr<Luts> luts_;
  std::vector<Planned> plan_;

  std::mutex mu_;
  std::condition_variable work_cv_, ready_cv_;
  bool stop_ = false;
  size_t hand_ = 0;     // next chunk handed to a worker
  size_t consume_ = 0;  // next chunk next() returns
  std::vector<bool> skipped_;  // per study
  std::map<size_t, StudyChunk> ready_;
  std::vector<std::thread> workers_;
};

}  // namespace radclear::worker
