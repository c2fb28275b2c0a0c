#pragma once
// Build identity, filled in by CMake at configure time.
namespace radclear {
const char* version();          // "0.1.0"
const char* git_hash();         // short hash, "-dirty" when built from a modified tree
const char* version_string();   // "radclear 0.1.0 (git abc123)"
}  // namespace radclear
