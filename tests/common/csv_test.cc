#include "common/csv.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/check.h"

namespace radclear {
namespace {

std::filesystem::path write_temp(const std::string& name, const std::string& text) {
  auto p = std::filesystem::temp_directory_path() / ("radclear_csv_" + std::to_string(::getpid()) + name);
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

TEST(Csv, ReadsQuotedFieldsAndLineNumbers) {
  auto p = write_temp("a.csv", "a,b,c\r\n1,\"2, 3\",x\n\n4,\"he said \"\"hi\"\"\",\"multi\nline\"\n5,6,7");
  CsvReader r(p);
  EXPECT_EQ(r.header(), (std::vector<std::string>{"a", "b", "c"}));
  CsvRow row;
  ASSERT_TRUE(r.next(row));
  EXPECT_EQ(row.fields, (std::vector<std::string>{"1", "2, 3", "x"}));
  EXPECT_EQ(row.line, 2);
  ASSERT_TRUE(r.next(row));
  EXPECT_EQ(row.fields[1], "he said \"hi\"");
  EXPECT_EQ(row.fields[2], "multi\nline");
  EXPECT_EQ(row.line, 4);
  ASSERT_TRUE(r.next(row));
  EXPECT_EQ(row.fields, (std::vector<std::string>{"5", "6", "7"}));
  EXPECT_EQ(row.line, 6);
  EXPECT_FALSE(r.next(row));
  EXPECT_EQ(r.require_column("c"), 2u);
  try {
    r.require_column("zzz");
    FAIL() << "expected an error";
  } catch (const CorruptData& e) {
    EXPECT_NE(std::string(e.what()).find("missing column 'zzz'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos);
  }
  std::filesystem::remove(p);
}

// pandas' read_csv(sep=...) tables, as CLEAR reads them.
TEST(Csv, OtherSeparators) {
  auto p = write_temp("semi.csv", "image;lesion_present\n\"a;b.png\";1\nc,d.png;0\n");
  CsvReader r(p, ';');
  EXPECT_EQ(r.header(), (std::vector<std::string>{"image", "lesion_present"}));
  CsvRow row;
  ASSERT_TRUE(r.next(row));
  EXPECT_EQ(row.fields, (std::vector<std::string>{"a;b.png", "1"}));
  ASSERT_TRUE(r.next(row));
  EXPECT_EQ(row.fields, (std::vector<std::string>{"c,d.png", "0"}));
  EXPECT_EQ(parse_csv_separator(";", "x"), ';');
  EXPECT_EQ(parse_csv_separator("tab", "x"), '\t');
  EXPECT_EQ(parse_csv_separator("\\t", "x"), '\t');
  EXPECT_THROW(parse_csv_separator(";;", "x"), InvalidArgument);
  EXPECT_THROW(parse_csv_separator("\"", "x"), InvalidArgument);
  std::filesystem::remove(p);
}

// CLEAR's true_labels option: yes/no beside 0/1.
TEST(Csv, BinaryLabels) {
  EXPECT_EQ(parse_binary_label("yes"), true);
  EXPECT_EQ(parse_binary_label("No"), false);
  EXPECT_EQ(parse_binary_label("TRUE"), true);
  EXPECT_EQ(parse_binary_label("1.0"), true);
  EXPECT_EQ(parse_binary_label("0"), false);
  EXPECT_EQ(parse_binary_label("2"), std::nullopt);
  EXPECT_EQ(parse_binary_label("maybe"), std::nullopt);
  EXPECT_EQ(parse_binary_label(""), std::nullopt);
}

TEST(Csv, UnterminatedQuoteIsAnError) {
  auto p = write_temp("b.csv", "a,b\n1,\"oops\n");
  CsvReader r(p);
  CsvRow row;
  EXPECT_THROW(r.next(row), CorruptData);
  std::filesystem::remove(p);
}

TEST(Csv, MissingFileNamesThePath) {
  try {
    CsvReader r("/nonexistent/x.csv");
    FAIL();
  } catch (const NotFound& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.csv"), std::string::npos);
  }
}

TEST(Csv, EscapeRoundTrips) {
  const std::vector<std::string> fields = {"plain", "with,comma", "with \"quote\"", ""};
  EXPECT_EQ(split_csv_line(csv_join(fields)), fields);
}

TEST(Csv, NumberLists) {
  EXPECT_EQ(parse_number_list("1.5, 2, -3e1", 3), (std::vector<double>{1.5, 2, -30}));
  EXPECT_THROW(parse_number_list("1, x, 3"), InvalidArgument);
  EXPECT_THROW(parse_number_list("1, 2", 4), InvalidArgument);
  EXPECT_FALSE(parse_double("nan").has_value());
  EXPECT_FALSE(parse_double("").has_value());
  EXPECT_FALSE(parse_int("12a").has_value());
  EXPECT_EQ(parse_int(" 42 ").value(), 42);
}

}  // namespace
}  // namespace radclear
