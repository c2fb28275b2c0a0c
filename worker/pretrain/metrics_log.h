#pragma once
// metrics.csv of a pretraining run: one row per logged step, appended and
// flushed as training goes, so a killed or failed run keeps every row
// written before it. No LibTorch.
#include <filesystem>
#include <fstream>
#include <string>

namespace radclear::worker {

class MetricsLog {
 public:
  // Opens `path` for appending. A new or empty file gets `header` as its
  // first row; a resumed run appends below the rows already there (no second
  // header), after cutting off a row torn by a crash or a failed write (no
  // final newline). Throws IoError naming the file.
  MetricsLog(std::filesystem::path path, const std::string& header);

  // Appends `row` and a newline, flushed. Throws IoError naming the file and
  // the cause (EFBIG, ENOSPC, EIO) when the write fails; the rows before it
  // stay, and the torn row is cut off when the run resumes.
  void append(const std::string& row);

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::ofstream out_;
};

}  // namespace radclear::worker
