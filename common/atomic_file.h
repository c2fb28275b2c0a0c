#pragma once
// Outputs are written atomically: to a temporary file in the same
// directory, fsync'd, then renamed over the target (and the directory
// fsync'd), so a crash leaves either the old file or the new one.
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace radclear {

// A unique temporary path beside `target` (".<name>.tmp.<pid>.<n>").
std::filesystem::path temp_path_for(const std::filesystem::path& target);

// fsync(tmp), rename(tmp, target), fsync(parent dir). Throws IoError.
void commit_file(const std::filesystem::path& tmp, const std::filesystem::path& target);

// Writes `contents` to `target` atomically. Throws IoError naming the path.
void write_file_atomic(const std::filesystem::path& target, std::string_view contents);

// A stream whose contents replace `target` only when commit() is called;
// destroyed without commit, it removes its temporary file.
class AtomicOutputFile {
 public:
  explicit AtomicOutputFile(std::filesystem::path target, bool binary = false);
  ~AtomicOutputFile();
  AtomicOutputFile(const AtomicOutputFile&) = delete;
  AtomicOutputFile& operator=(const AtomicOutputFile&) = delete;

  std::ostream& stream() { return out_; }
  const std::filesystem::path& temp_path() const { return tmp_; }
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path tmp_;
  std::ofstream out_;
  bool committed_ = false;
};

}  // namespace radclear
