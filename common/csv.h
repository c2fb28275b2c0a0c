#pragma once
// A small RFC 4180 CSV reader (quoted fields, "" escapes, CRLF) that keeps
// line numbers so every error can say "file:line: field".
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace radclear {

struct CsvRow {
  std::vector<std::string> fields;
  int64_t line = 0;  // 1-based line where the row starts
};

class CsvReader {
 public:
  // Opens `path` and reads the header row; fields are separated by
  // `separator` (',' as RFC 4180; ';' or '\t' for pandas' `sep=`). Throws
  // NotFound / CorruptData.
  explicit CsvReader(const std::filesystem::path& path, char separator = ',');

  const std::vector<std::string>& header() const { return header_; }
  // Index of a header column, or nullopt.
  std::optional<size_t> column(std::string_view name) const;
  // Index of a header column; throws CorruptData naming the file and column.
  size_t require_column(std::string_view name) const;
  // Reads the next row; false at end of file. Blank lines are skipped.
  // Throws CorruptData on an unterminated quote.
  bool next(CsvRow& row);
  const std::filesystem::path& path() const { return path_; }
  // "file:line" for messages.
  std::string where(const CsvRow& row) const;

 private:
  bool read_record(CsvRow& row);
  std::filesystem::path path_;
  std::ifstream in_;
  char separator_ = ',';
  std::vector<std::string> header_;
  int64_t line_ = 0;
};

// Splits one CSV record held in memory (no embedded newlines needed).
std::vector<std::string> split_csv_line(std::string_view line);
// Quotes a field when it holds a comma, quote or newline.
std::string csv_escape(std::string_view field);
// Joins fields with commas, escaping as needed.
std::string csv_join(const std::vector<std::string>& fields);

// Parses "1.5, 2, 3" (DeepLesion's quoted number lists). Throws
// InvalidArgument describing the text when a token is not a number or the
// count differs from `expected` (when expected > 0).
std::vector<double> parse_number_list(std::string_view text, size_t expected = 0);

// Strict number parsing: the whole text must be a finite number.
std::optional<double> parse_double(std::string_view text);
std::optional<int64_t> parse_int(std::string_view text);

// A binary label: 0/1 (also 0.0/1.0), or no/yes, false/true, n/y in any
// case (CLEAR's true_labels tables); nullopt otherwise.
std::optional<bool> parse_binary_label(std::string_view text);

// The separator a `csv_separator` setting names: one character, or "tab",
// "\\t", "semicolon", "comma". Throws InvalidArgument naming `what`.
char parse_csv_separator(const std::string& text, const char* what);

}  // namespace radclear
