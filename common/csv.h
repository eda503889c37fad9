// CSV as Firehose-bound pipelines and Kinesis Data Analytics write and read it:
// RFC 4180 quoting (a field holding the delimiter, a quote, CR or LF is
// wrapped in quotes, quotes doubled), one row per line ending in "\n".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"

namespace sluice::csv {

// Appends `field`, quoted only when it has to be.
void AppendField(std::string& out, std::string_view field,
                 char delimiter = ',');

// "a,\"b,c\",d\n" for {"a", "b,c", "d"}.
std::string FormatRow(const std::vector<std::string>& fields,
                      char delimiter = ',');

// A JSON value as a CSV field's text: strings unquoted, numbers as written in
// JSON, true/false, null as the empty field, objects and arrays as their JSON.
std::string FieldText(const json::Value& value);

// Splits one row (without its line ending) into fields, undoing the quoting
// above. A quote that does not close is kept as text rather than refused:
// hand-written CSV input is often loose and a column mapping decides later.
std::vector<std::string> SplitRow(std::string_view row, char delimiter = ',');

}  // namespace sluice::csv
