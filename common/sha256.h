#pragma once
// SHA-256 (OpenSSL) for checkpoint and feature-file identities.
#include <filesystem>
#include <string>
#include <string_view>

namespace radclear {

// Lower-case hex digest of `data`.
std::string sha256_hex(std::string_view data);
// Lower-case hex digest of a file's bytes; throws NotFound / IoError naming it.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace radclear
