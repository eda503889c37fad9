#include "common/csv.h"

#include <gtest/gtest.h>

namespace sluice::csv {
namespace {

TEST(CsvTest, QuotesOnlyFieldsThatNeedIt) {
  EXPECT_EQ(FormatRow({"plain", "with,comma", "say \"hi\"", "two\nlines", ""}),
            "plain,\"with,comma\",\"say \"\"hi\"\"\",\"two\nlines\",\n");
}

TEST(CsvTest, OtherDelimiter) {
  EXPECT_EQ(FormatRow({"a,b", "c|d"}, '|'), "a,b|\"c|d\"\n");
}

TEST(CsvTest, FieldTextOfJsonValues) {
  json::Document doc;
  doc.Parse<json::kParseFlags>(
      R"({"s":"car 7","i":212,"d":0.1,"t":true,"n":null,"o":{"a":[1]}})");
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_EQ(FieldText(doc["s"]), "car 7");
  EXPECT_EQ(FieldText(doc["i"]), "212");
  EXPECT_EQ(FieldText(doc["d"]), "0.1");
  EXPECT_EQ(FieldText(doc["t"]), "true");
  EXPECT_EQ(FieldText(doc["n"]), "");
  EXPECT_EQ(FieldText(doc["o"]), R"({"a":[1]})");
}

TEST(CsvTest, SplitUndoesFormat) {
  std::vector<std::string> fields = {"plain", "with,comma", "say \"hi\"", "",
                                     "x"};
  std::string row = FormatRow(fields);
  row.pop_back();  // the line ending
  EXPECT_EQ(SplitRow(row), fields);
}

TEST(CsvTest, SplitKeepsLooseQuotesAsText) {
  EXPECT_EQ(SplitRow("a\"b,\"open"),
            (std::vector<std::string>{"a\"b", "open"}));
  EXPECT_EQ(SplitRow(""), (std::vector<std::string>{""}));
  EXPECT_EQ(SplitRow("1;2", ';'), (std::vector<std::string>{"1", "2"}));
}

}  // namespace
}  // namespace sluice::csv
