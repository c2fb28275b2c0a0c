#include "common/csv.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "common/check.h"

namespace radclear {

CsvReader::CsvReader(const std::filesystem::path& path, char separator)
    : path_(path), in_(path, std::ios::binary), separator_(separator) {
  if (separator == '"' || separator == '\n' || separator == '\r' || separator == '\0') {
    throw InvalidArgument(fmt::format("CSV {}: '{}' cannot separate fields", path.string(), separator));
  }
  if (!in_) throw NotFound(fmt::format("cannot open CSV {}: {}", path.string(), std::strerror(errno)));
  CsvRow row;
  if (!read_record(row)) throw CorruptData(fmt::format("{}: empty file, expected a header row", path.string()));
  header_ = std::move(row.fields);
  // Tolerate a UTF-8 byte order mark (spreadsheet exports).
  if (!header_.empty() && header_[0].rfind("\xEF\xBB\xBF", 0) == 0) header_[0].erase(0, 3);
}

std::optional<size_t> CsvReader::column(std::string_view name) const {
  for (size_t i = 0; i < header_.size(); ++i) {
    if (header_[i] == name) return i;
  }
  return std::nullopt;
}

size_t CsvReader::require_column(std::string_view name) const {
  if (auto c = column(name)) return *c;
  std::string have;
  for (const auto& h : header_) have += (have.empty() ? "" : ", ") + h;
  throw CorruptData(fmt::format("{}: missing column '{}' (header has: {})", path_.string(), name, have));
}

std::string CsvReader::where(const CsvRow& row) const { return fmt::format("{}:{}", path_.string(), row.line); }

bool CsvReader::next(CsvRow& row) {
  while (read_record(row)) {
    if (row.fields.size() == 1 && row.fields[0].empty()) continue;  // blank line
    return true;
  }
  return false;
}

bool CsvReader::read_record(CsvRow& row) {
  row.fields.clear();
  std::string field;
  bool in_quotes = false;
  bool any = false;
  row.line = line_ + 1;
  int c;
  while ((c = in_.get()) != EOF) {
    any = true;
    if (in_quotes) {
      if (c == '"') {
        if (in_.peek() == '"') {
          field.push_back('"');
          in_.get();
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line_;
        field.push_back(static_cast<char>(c));
      }
    } else if (c == '"') {
      in_quotes = true;
    } else if (c == separator_) {
      row.fields.push_back(std::move(field));
      field.clear();
    } else if (c == '\r') {
      // part of CRLF; dropped
    } else if (c == '\n') {
      ++line_;
      row.fields.push_back(std::move(field));
      return true;
    } else {
      field.push_back(static_cast<char>(c));
    }
  }
  if (in_quotes) throw CorruptData(fmt::format("{}:{}: unterminated quoted field", path_.string(), row.line));
  if (!any) return false;
  ++line_;
  row.fields.push_back(std::move(field));
  return true;
}

std::vector<std::string> split_csv_line(std::string_view line) {
  std::vector<std::string> out;
  std::string field;
  bool in_quotes = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_quotes) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else if (c == '"') {
        in_quotes = false;
      } else {
        field.push_back(c);
      }
    } else if (c == '"') {
      in_quotes = true;
    } else if (c == ',') {
      out.push_back(std::move(field));
      field.clear();
    } else if (c != '\r' && c != '\n') {
      field.push_back(c);
    }
  }
  out.push_back(std::move(field));
  return out;
}

std::string csv_escape(std::string_view field) {
  if (field.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += "\"\"";
    else out.push_back(c);
  }
  out += '"';
  return out;
}

std::string csv_join(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out.push_back(',');
    out += csv_escape(fields[i]);
  }
  return out;
}

static std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<double> parse_double(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  std::string buf(text);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(buf.c_str(), &end);
  if (end != buf.c_str() + buf.size() || errno == ERANGE || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<int64_t> parse_int(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  std::string buf(text);
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(buf.c_str(), &end, 10);
  if (end != buf.c_str() + buf.size() || errno == ERANGE) return std::nullopt;
  return v;
}

std::vector<double> parse_number_list(std::string_view text, size_t expected) {
  std::vector<double> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    const auto token = text.substr(start, comma - start);
    auto v = parse_double(token);
    if (!v) throw InvalidArgument(fmt::format("'{}' is not a number in \"{}\"", trim(token), text));
    out.push_back(*v);
    start = comma + 1;
  }
  if (expected > 0 && out.size() != expected) {
    throw InvalidArgument(fmt::format("expected {} numbers, got {} in \"{}\"", expected, out.size(), text));
  }
  return out;
}

std::optional<bool> parse_binary_label(std::string_view text) {
  std::string t(text);
  for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t == "yes" || t == "y" || t == "true") return true;
  if (t == "no" || t == "n" || t == "false") return false;
  const auto v = parse_double(t);
  if (v && (*v == 0.0 || *v == 1.0)) return *v == 1.0;
  return std::nullopt;
}

char parse_csv_separator(const std::string& text, const char* what) {
  if (text == "tab" || text == "\\t" || text == "\t") return '\t';
  if (text == "semicolon") return ';';
  if (text == "comma") return ',';
  if (text.size() == 1 && text[0] != '"' && text[0] != '\n' && text[0] != '\r') return text[0];
  throw InvalidArgument(fmt::format("{}: '{}' is not a CSV separator (one character such as ',' or ';', or 'tab')",
                                    what, text));
}

}  // namespace radclear
