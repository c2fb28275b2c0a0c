// Listing a data root: which files are slices of which study (the layouts
// of storage/ingest.h), and paths that must not escape the root.
#include "storage/ingest.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <mutex>

#include <fmt/format.h>

#include "common/check.h"
#include "common/parallel.h"

namespace radclear::storage {

namespace fs = std::filesystem;

// ---- paths -------------------------------------------------------------------

bool is_safe_relative_path(std::string_view rel) {
  if (rel.empty() || rel.front() == '/' || rel.find('\\') != std::string_view::npos) return false;
  if (rel.find('\0') != std::string_view::npos) return false;
  size_t start = 0;
  while (start <= rel.size()) {
    size_t slash = rel.find('/', start);
    if (slash == std::string_view::npos) slash = rel.size();
    const auto part = rel.substr(start, slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = slash + 1;
  }
  return true;
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

namespace {
bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}
}  // namespace

bool parse_deeplesion_folder(std::string_view dir, std::string_view parts[3]) {
  const size_t a = dir.find('_');
  if (a == std::string_view::npos) return false;
  const size_t b = dir.find('_', a + 1);
  if (b == std::string_view::npos) return false;
  parts[0] = dir.substr(0, a);
  parts[1] = dir.substr(a + 1, b - a - 1);
  parts[2] = dir.substr(b + 1);
  return all_digits(parts[0]) && all_digits(parts[1]) && all_digits(parts[2]);
}

namespace {



// Splits "stem.ext"; false when there is no extension of the layout's kinds.
bool split_image_name(std::string_view file, Layout layout, std::string_view* stem) {
  const size_t dot = file.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  const std::string ext = lower_ascii(file.substr(dot + 1));
  const bool ok = layout == Layout::kDeepLesion
                      ? ext == "png"
                      : (ext == "png" || ext == "jpg" || ext == "jpeg");
  if (!ok) return false;
  *stem = file.substr(0, dot);
  return true;
}

// The number formed by the trailing digits of `stem` (0 when none; clamped).
uint32_t trailing_number(std::string_view stem) {
  size_t i = stem.size();
  while (i > 0 && std::isdigit(static_cast<unsigned char>(stem[i - 1]))) --i;
  uint64_t v = 0;
  for (size_t k = i; k < stem.size(); ++k) {
    v = v * 10 + static_cast<uint64_t>(stem[k] - '0');
    if (v > std::numeric_limits<uint32_t>::max()) return std::numeric_limits<uint32_t>::max();
  }
  return static_cast<uint32_t>(v);
}



std::vector<std::string_view> split_path(std::string_view rel) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= rel.size()) {
    size_t slash = rel.find('/', start);
    if (slash == std::string_view::npos) slash = rel.size();
    parts.push_back(rel.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

}  // namespace

std::optional<SliceId> slice_id_from_path(std::string_view rel_path, Layout layout) {
  if (!is_safe_relative_path(rel_path)) return std::nullopt;
  auto parts = split_path(rel_path);
  SliceId id;
  std::string_view stem;
  if (layout == Layout::kDeepLesion) {
    // Images_png/<p>_<s>_<series>/<n>.png, or <p>_<s>_<series>/<n>.png when
    // the data root is the Images_png folder itself.
    if (parts.size() == 3 && parts[0] == kDeepLesionImages) parts.erase(parts.begin());
    if (parts.size() != 2) return std::nullopt;
    std::string_view folder[3];
    if (!parse_deeplesion_folder(parts[0], folder)) return std::nullopt;
    if (!split_image_name(parts[1], layout, &stem)) return std::nullopt;
    id.study_id.assign(parts[0]);
    id.series.assign(folder[2]);
  } else {
    if (parts.size() != 2) return std::nullopt;
    if (!split_image_name(parts[1], layout, &stem)) return std::nullopt;
    id.study_id.assign(parts[0]);
  }
  id.slice_number = trailing_number(stem);
  id.name.assign(stem);
  return id;
}

// ---- listing -----------------------------------------------------------------

Result<DataListing> list_data_root(const fs::path& root, LayoutChoice choice, int threads) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return Status::NotFound(fmt::format("data root {} is not a directory", root.string()));
  }
  DataListing listing;
  const fs::path images = root / std::string(kDeepLesionImages);
  const bool has_images = fs::is_directory(images, ec);
  listing.layout = choice == LayoutChoice::kDeepLesion ? Layout::kDeepLesion
                   : choice == LayoutChoice::kClear    ? Layout::kClear
                   : has_images                        ? Layout::kDeepLesion
                                                       : Layout::kClear;
  const bool prefix = listing.layout == Layout::kDeepLesion && has_images;
  const fs::path base = prefix ? images : root;
  const std::string rel_prefix = prefix ? std::string(kDeepLesionImages) + "/" : "";

  // Two levels: <folder>/<file>. Sorted so listings are reproducible.
  std::vector<fs::path> folders;
  for (fs::directory_iterator it(base, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code type_ec;
    if (it->is_directory(type_ec)) {
      folders.push_back(it->path());
    } else {
      ++listing.ignored;  // files at the top level (CSVs, READMEs) are not slices
    }
  }
  if (ec) return Status::IoError(fmt::format("cannot list {}: {}", base.string(), ec.message()));
  std::sort(folders.begin(), folders.end());
  // One folder per task: stat() dominates on a real data set (~1M files).
  struct FolderListing {
    std::vector<ListedFile> files;
    int64_t ignored = 0;
    std::string error;
  };
  std::vector<FolderListing> per_folder(folders.size());
  const Layout layout = listing.layout;
  parallel_for(static_cast<int64_t>(folders.size()), threads, [&](int64_t i) {
    const fs::path& folder = folders[static_cast<size_t>(i)];
    FolderListing& out = per_folder[static_cast<size_t>(i)];
    const std::string folder_name = folder.filename().string();
    std::error_code dir_ec;
    for (fs::directory_iterator it(folder, dir_ec), end; !dir_ec && it != end; it.increment(dir_ec)) {
      const std::string name = it->path().filename().string();
      if (name.empty() || name[0] == '.') continue;
      std::error_code type_ec;
      if (!it->is_regular_file(type_ec)) {
        ++out.ignored;
        continue;
      }
      std::string rel = rel_prefix + folder_name + "/" + name;
      if (!slice_id_from_path(rel, layout)) {
        ++out.ignored;
        continue;
      }
      const uint64_t size = it->file_size(type_ec);
      if (type_ec) {
        out.error = fmt::format("cannot stat {}: {}", it->path().string(), type_ec.message());
        return;
      }
      out.files.push_back({std::move(rel), size});
    }
    if (dir_ec) out.error = fmt::format("cannot list {}: {}", folder.string(), dir_ec.message());
    std::sort(out.files.begin(), out.files.end(),
              [](const ListedFile& a, const ListedFile& b) { return a.rel_path < b.rel_path; });
  });
  size_t total = 0;
  for (const auto& f : per_folder) {
    if (!f.error.empty()) return Status::IoError(f.error);
    total += f.files.size();
  }
  listing.files.reserve(total);
  for (auto& f : per_folder) {
    listing.ignored += f.ignored;
    for (auto& file : f.files) listing.files.push_back(std::move(file));
  }
  return listing;
}

}  // namespace radclear::storage
