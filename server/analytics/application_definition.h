// What a SQL application is (aws-behaviour.md section 6): one input (a
// Kinesis stream or a Firehose delivery stream, read into the in-application
// stream SOURCE_SQL_STREAM_001 through an input schema), the SQL code, and up
// to three outputs. One JSON object, in the shape of Kinesis Data Analytics'
// CreateApplication:
//
//   {"ApplicationName": "fast-laps",
//    "ApplicationCode": "CREATE OR REPLACE STREAM ...; CREATE OR REPLACE PUMP
//    ...", "Inputs": [{"NamePrefix": "SOURCE_SQL_STREAM",
//      "KinesisStreamsInput": {"ResourceARN":
//      "arn:aws:kinesis:...:stream/telemetry"}, "InputSchema": {"RecordFormat":
//      {"RecordFormatType": "JSON"},
//        "RecordColumns": [{"Name": "speed", "SqlType": "DOUBLE",
//                           "Mapping": "$.speed"}]}}],
//    "Outputs": [{"Name": "DESTINATION_SQL_STREAM",
//      "KinesisFirehoseOutput": {"ResourceARN":
//      "arn:aws:firehose:...:deliverystream/fast"}, "DestinationSchema":
//      {"RecordFormatType": "CSV"}}]}
//
// It is the body of SluiceAdmin.CreateApplication and an "applications" item
// of the config file. docs/analytics.md documents every member.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "server/analytics/sql_program.h"

namespace sluice::analytics {

inline constexpr size_t kMaxOutputs = 3;
inline constexpr size_t kMaxRecordColumns = 1000;
inline constexpr size_t kMaxApplicationNameLength = 64;
inline constexpr size_t kMaxCodeBytes = 100'000;
// The in-application stream that receives rows that could not be read
// (a record that is not JSON, a value of the wrong type), as KDA's
// error_stream; an output may name it.
inline constexpr std::string_view kErrorStream = "error_stream";

enum class RecordFormat { kJson, kCsv };

struct InputColumn {
  std::string name;
  SqlType type = SqlType::kVarchar;
  std::string sql_type;  // as written, e.g. "VARCHAR(8)"
  std::string mapping;   // "$.a.b" (JSON), unused for CSV
  // The mapping's steps: member names, or "[n]" for an array index.
  std::vector<std::string> path;
};

struct ApplicationOutput {
  enum class Kind { kStream, kDeliveryStream };
  std::string name;  // the in-application stream it reads
  Kind kind = Kind::kStream;
  std::string resource;  // the stream or delivery stream's name
  std::string resource_arn;
  RecordFormat format = RecordFormat::kJson;
};

struct ApplicationDefinition {
  std::string name;
  std::string description;
  // The source: a Kinesis stream (KinesisStreamsInput) or a Firehose
  // delivery stream (KinesisFirehoseInput), whose own record log the
  // application reads as one shard.
  enum class Source { kStream, kDeliveryStream };
  Source source_kind = Source::kStream;
  std::string stream_name;  // the source stream or delivery stream's name
  std::string stream_arn;   // as given, or empty
  std::string name_prefix = "SOURCE_SQL_STREAM";
  RecordFormat input_format = RecordFormat::kJson;
  char column_delimiter = ',';       // CSV
  std::string row_delimiter = "\n";  // CSV: rows within one record
  std::vector<InputColumn> columns;
  std::string code;
  std::vector<ApplicationOutput> outputs;

  // The in-application input stream: <NamePrefix>_001.
  std::string SourceStream() const { return name_prefix + "_001"; }
};

// Reads and checks a CreateApplication request: names, the input schema and
// the outputs (kInvalidArgument naming the member; kSerialization for a
// wrong JSON type), and the SQL's structure (ParseSqlProgram). The
// expressions are checked when the engine prepares them
// (Engine::Check).
Result<ApplicationDefinition> ParseApplicationDefinition(
    const json::Value& request);
Result<ApplicationDefinition> ParseApplicationDefinition(std::string_view text);

std::string_view ToString(RecordFormat format);

}  // namespace sluice::analytics
