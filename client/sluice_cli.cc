// sluice-cli: drives a Sluice server (or anything speaking the Kinesis and
// Firehose JSON APIs) from the shell. One binary, subcommands, --help
// everywhere; the endpoint, region and credentials come from flags or the
// usual AWS environment variables.
//
// Exit codes: 0 done, 1 the server refused or failed, 2 bad usage.
#include <rapidjson/prettywriter.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "client/api_client.h"
#include "client/batch_calls.h"
#include "client/load_generator.h"
#include "client/stream_reader.h"
#include "common/base64.h"
#include "common/uuid.h"

namespace sluice::client {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// PutRecords and PutRecordBatch limits: records per call, bytes per call.
constexpr size_t kKinesisBatchRecords = 500;
constexpr size_t kKinesisBatchBytes = 5u << 20;
constexpr size_t kFirehoseBatchRecords = 500;
constexpr size_t kFirehoseBatchBytes = 4u << 20;
// How often a batch's failed entries are sent again before giving up.
constexpr int kEntryAttempts = 10;

constexpr std::string_view kUsage = R"(usage: sluice-cli [options] COMMAND ...

Commands:
  streams list                          names of the Kinesis streams
  streams create NAME [--shards N]      a stream (on demand without --shards)
  streams describe NAME                 DescribeStreamSummary, as JSON
  streams delete NAME
  put STREAM [--partition-key K] [--file PATH [--file-per-record]]
      [RECORD...]                       records, one per line of each file,
                                        or one per line of stdin
  tail STREAM [--from trim-horizon|latest|TIME] [--follow] [--count N]
       [--json] [--deaggregate]
                                        print records of every shard
  firehose list                         names of the delivery streams
  firehose describe NAME                DescribeDeliveryStream, as JSON
  firehose put NAME [--raw] [--file PATH [--file-per-record]] [RECORD...]
                                        records, of files, or lines of stdin
  firehose flush NAME                   deliver everything buffered now
  firehose tail NAME [--from trim-horizon|latest] [--follow] [--count N]
       [--json]                         print the records of its log
  consumers list                        in-process consumers: state, lag
  consumers describe|pause|resume|delete NAME
  consumers create JSON|@FILE           a CreateConsumer body
  apps list                             SQL applications: status, counts
  apps describe|delete NAME
  apps create JSON|@FILE                a CreateApplication body
  apps tail NAME [--from trim-horizon|latest] [--count N] [--json]
                                        follow an application's output
  metrics NAME [--table T] [--key K] [--sort-key S] [--limit N]
                                        a metrics consumer's counters
  load ecommerce|telemetry (--stream S | --delivery-stream D)
       [--records N | --duration SECONDS] [--rate R] ...
                                        generated load; rate and latencies
  gateway-keys create NAME --routes R[,R...] [--rate N] [--burst N]
                                        an API key of the ingestion gateway
  gateway-keys list | delete NAME
  call kinesis|firehose|admin OPERATION [JSON]
                                        any operation, answer as JSON

Options (before the command):
  --endpoint URL   http://host:port (default $AWS_ENDPOINT_URL_KINESIS,
                   $AWS_ENDPOINT_URL, else http://127.0.0.1:4567)
  --region R       default $AWS_REGION, $AWS_DEFAULT_REGION, else us-east-1
  --help           this text; `sluice-cli COMMAND --help` for one command
Credentials: $AWS_ACCESS_KEY_ID, $AWS_SECRET_ACCESS_KEY, $AWS_SESSION_TOKEN
(any values do for Sluice).
)";

const std::map<std::string, std::string, std::less<>>& CommandHelp() {
  static const auto* help = new std::map<std::string, std::string, std::less<>>{
      {"streams",
       "usage: sluice-cli streams list\n"
       "       sluice-cli streams create NAME [--shards N]\n"
       "       sluice-cli streams describe NAME\n"
       "       sluice-cli streams delete NAME\n"
       "create makes an ON_DEMAND stream, or a PROVISIONED one of N shards.\n"},
      {"put",
       "usage: sluice-cli put STREAM [--partition-key K]\n"
       "                           [--file PATH [--file-per-record]]\n"
       "                           [RECORD...]\n"
       "Puts each RECORD, then each line of each --file PATH (the flag may\n"
       "be given again), or with neither each line of stdin, without its\n"
       "newline, with PutRecords, 500 at a time; entries a partial failure\n"
       "refused are sent again. --file-per-record puts each file whole, as\n"
       "one record. Without --partition-key each record gets a random key,\n"
       "spreading records over the shards. Prints one line per record: its\n"
       "shard id and sequence number; on a terminal, progress on stderr\n"
       "for more than 10,000 records.\n"},
      {"firehose",
       "usage: sluice-cli firehose list\n"
       "       sluice-cli firehose describe NAME\n"
       "       sluice-cli firehose put NAME [--raw]\n"
       "                  [--file PATH [--file-per-record]] [RECORD...]\n"
       "       sluice-cli firehose flush NAME\n"
       "       sluice-cli firehose tail NAME [--from trim-horizon|latest]\n"
       "                                [--follow] [--count N] [--json]\n"
       "put sends each RECORD, then each line of each --file (or each file\n"
       "whole with --file-per-record), or else each line of stdin, with\n"
       "PutRecordBatch, with a newline appended unless --raw, since\n"
       "Firehose writes records back to back. flush is Sluice's\n"
       "SluiceAdmin.FlushDeliveryStream: it writes every buffered record to\n"
       "the archive now and prints each object as bucket/key and its\n"
       "record count.\n"
       "tail prints the records of the delivery stream's own log in put\n"
       "order (SluiceAdmin.ReadDeliveryStream), one line each, as `tail`\n"
       "does (a record's own trailing newline ends its line; --json:\n"
       "recordId, position, approximateArrivalTimestamp, base64 data\n"
       "as put). The log holds the records not yet delivered, and\n"
       "delivered ones only while a SQL application or consumer reading the\n"
       "delivery stream still needs them: --from trim-horizon (default)\n"
       "starts at the oldest record the log still holds; what was delivered\n"
       "and trimmed is in the archive only.\n"},
      {"tail",
       "usage: sluice-cli tail STREAM [--from trim-horizon|latest|TIME]\n"
       "                            [--follow] [--count N] [--json]\n"
       "                            [--deaggregate]\n"
       "Prints the records of every shard, one per line (the data as put;\n"
       "--json: a JSON object per record with shardId, sequenceNumber,\n"
       "partitionKey, approximateArrivalTimestamp and base64 data). It\n"
       "follows resharding: a shard is read only once its parents are read\n"
       "to their end, so records of one key come out in order. Reads from\n"
       "the oldest record (default), the tip, or the first record that\n"
       "arrived at or after TIME (2026-12-02T10:00:00Z, or seconds since\n"
       "1970); stops at the tip unless --follow; --count stops after N\n"
       "lines. --deaggregate prints each user record of a KPL aggregated\n"
       "record as a line of its own (--json adds its subSequenceNumber and\n"
       "explicitHashKey). Throttled reads back off; expired iterators are\n"
       "renewed after the last record printed.\n"},
      {"consumers",
       "usage: sluice-cli consumers list\n"
       "       sluice-cli consumers describe|pause|resume|delete NAME\n"
       "       sluice-cli consumers create JSON|@FILE\n"
       "The server's in-process consumers (docs/consumers.md). list prints\n"
       "one line per consumer: name, stream, handler type, state, the\n"
       "largest iterator age and how far behind the tip it is (ms).\n"
       "describe prints SluiceAdmin.DescribeConsumer's answer (per shard:\n"
       "position, checkpoint, iterator age). create takes a CreateConsumer\n"
       "body, inline or from a file.\n"},
      {"apps",
       "usage: sluice-cli apps list\n"
       "       sluice-cli apps describe|delete NAME\n"
       "       sluice-cli apps create JSON|@FILE\n"
       "       sluice-cli apps tail NAME [--from trim-horizon|latest]\n"
       "                                 [--count N] [--json]\n"
       "The server's SQL applications (docs/analytics.md). list prints one\n"
       "line per application: name, status, records read, rows emitted,\n"
       "unreadable rows. create takes a CreateApplication body, inline or\n"
       "from a file; SQL errors come back with their line and column.\n"
       "tail follows the application's first output as `tail --follow`\n"
       "(a Kinesis stream) or `firehose tail --follow` (a delivery stream)\n"
       "does, from the tip unless --from trim-horizon.\n"},
      {"metrics",
       "usage: sluice-cli metrics NAME [--table T] [--key K] [--sort-key S]\n"
       "                               [--limit N]\n"
       "Reads a metrics consumer's counters (SluiceAdmin.QueryMetrics):\n"
       "without --table a summary of its tables, with it the rows, as JSON.\n"},
      {"load",
       "usage: sluice-cli load ecommerce|telemetry\n"
       "           (--stream S | --delivery-stream D)\n"
       "           [--records N] [--duration SECONDS] [--rate R]\n"
       "           [--keys K] [--seed N] [--connections C] [--aggregate]\n"
       "Sends generated records: e-commerce events (page views, add to cart,\n"
       "purchases, errors; partition key = user) or vehicle telemetry\n"
       "(partition key = car), as pipelines.md describes them. To a stream\n"
       "through the batching producer (order per key kept), to a delivery\n"
       "stream with PutRecordBatch (a newline after each record). At R\n"
       "records/s, or as fast as the server takes them without --rate;\n"
       "until N records or SECONDS pass (at least one of the two). K users\n"
       "or cars (default 1000), C connections (default 4). Prints progress\n"
       "each second on stderr, then the achieved rate and the latency from\n"
       "handing a record over to its being stored (p50, p90, p99, max).\n"
       "--aggregate packs each key's records into KPL aggregated records\n"
       "(read them with `tail --deaggregate`, the KCL or Firehose).\n"
       "Exits 1 if any record was not stored.\n"},
      {"gateway-keys",
       "usage: sluice-cli gateway-keys create NAME --routes R[,R...]\n"
       "                                [--rate N] [--burst N]\n"
       "       sluice-cli gateway-keys list\n"
       "       sluice-cli gateway-keys delete NAME\n"
       "create makes an API key for the ingestion gateway's routes (each\n"
       "as \"METHOD /path\", or * for all), optionally limited to N\n"
       "requests/s with a burst; it prints {\"Name\", \"Key\"}: the key is\n"
       "shown this once, the server keeps only its SHA-256. list prints\n"
       "the keys (never their secrets); delete removes a key made here\n"
       "(keys declared in the config file stay). "
       "SluiceAdmin.CreateGatewayKey,\n"
       "ListGatewayKeys and DeleteGatewayKey.\n"},
      {"call",
       "usage: sluice-cli call kinesis|firehose|admin OPERATION [JSON]\n"
       "Calls OPERATION with the JSON body (default {}) and prints the\n"
       "answer as JSON, e.g.\n"
       "  sluice-cli call kinesis ListShards '{\"StreamName\":\"orders\"}'\n"},
  };
  return *help;
}

// A usage error: what was wrong, then the command's usage.
int UsageError(std::string_view command, std::string_view what) {
  std::cerr << "sluice-cli: " << what << "\n";
  auto help = CommandHelp().find(command);
  std::cerr << (help != CommandHelp().end() ? help->second
                                            : std::string(kUsage));
  return kExitUsage;
}

int Failed(const Status& status) {
  std::cerr << "sluice-cli: " << InfoFor(status.code()).aws_type << ": "
            << status.message() << "\n";
  return kExitFailed;
}

std::string Pretty(const json::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
  writer.SetIndent(' ', 2);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string NameBody(std::string_view member, std::string_view name) {
  return "{" + json::Quote(member) + ":" + json::Quote(name) + "}";
}

// Arguments after the command: positional ones, and --flag [value] pairs.
struct Arguments {
  std::vector<std::string> positional;
  std::map<std::string, std::string, std::less<>> flags;  // the last value
  // Every value of each valued flag, in order (for flags that repeat).
  std::map<std::string, std::vector<std::string>, std::less<>> repeated;
  bool help = false;
};

// Reads `args`; `valued` names the flags that take a value, `switches` the
// ones that do not. Returns an error text for anything else.
std::optional<std::string> Parse(const std::vector<std::string>& args,
                                 const std::vector<std::string>& valued,
                                 const std::vector<std::string>& switches,
                                 Arguments& out) {
  auto is = [](const std::vector<std::string>& names, const std::string& arg) {
    return std::find(names.begin(), names.end(), arg) != names.end();
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      out.help = true;
    } else if (is(valued, arg)) {
      if (i + 1 >= args.size()) return arg + " needs a value";
      out.flags[arg] = args[++i];
      out.repeated[arg].push_back(args[i]);
    } else if (is(switches, arg)) {
      out.flags[arg] = "";
    } else if (arg.size() > 2 && arg.rfind("--", 0) == 0) {
      return "unknown option " + arg;
    } else {
      out.positional.push_back(arg);
    }
  }
  return std::nullopt;
}

// The lines of `in`, each without its newline.
void AppendLines(std::istream& in, std::vector<std::string>& records) {
  for (std::string line; std::getline(in, line);) {
    records.push_back(std::move(line));
  }
}

// The records to put: the positional arguments after the first, then each
// line of each --file (with --file-per-record: each file whole, as it is);
// with neither, the lines of stdin. kInvalidArgument for a file that cannot
// be read.
Result<std::vector<std::string>> RecordsFrom(const Arguments& args) {
  std::vector<std::string> records(args.positional.begin() + 1,
                                   args.positional.end());
  auto files = args.repeated.find("--file");
  const bool whole = args.flags.count("--file-per-record") > 0;
  if (files == args.repeated.end()) {
    if (whole) {
      return Status(ErrorCode::kInvalidArgument,
                    "--file-per-record applies to --file");
    }
    if (records.empty()) AppendLines(std::cin, records);
    return records;
  }
  for (const std::string& path : files->second) {
    std::ifstream file(path, std::ios::binary);
    if (!file) {
      return Status(ErrorCode::kInvalidArgument, "cannot read " + path);
    }
    if (whole) {
      records.emplace_back(std::istreambuf_iterator<char>(file),
                           std::istreambuf_iterator<char>());
    } else {
      AppendLines(file, records);
    }
    if (file.bad()) {
      return Status(ErrorCode::kInvalidArgument, "cannot read " + path);
    }
  }
  return records;
}

// Sends `records` in batches of at most `max_records` and `max_bytes`;
// `send` puts the records of the indexes given and returns the indexes of
// those refused for now, which go again, after a backoff. Prints progress
// on a terminal. Returns the first error that retrying cannot cure.
template <class Send>
Status SendInBatches(const ClientOptions& options,
                     const std::vector<std::string>& records,
                     size_t max_records, size_t max_bytes, Send send) {
  const bool progress = isatty(STDERR_FILENO) && records.size() > 10000;
  size_t sent = 0;
  while (sent < records.size()) {
    size_t end = sent;
    size_t bytes = 0;
    while (end < records.size() && end - sent < max_records &&
           (end == sent || bytes + records[end].size() <= max_bytes)) {
      bytes += records[end].size();
      ++end;
    }
    std::vector<size_t> pending(end - sent);
    for (size_t i = 0; i < pending.size(); ++i) pending[i] = sent + i;
    for (int attempt = 1; !pending.empty(); ++attempt) {
      if (attempt > kEntryAttempts) {
        return Status(ErrorCode::kProvisionedThroughputExceeded,
                      std::to_string(pending.size()) +
                          " records were still refused after " +
                          std::to_string(kEntryAttempts) + " attempts");
      }
      if (attempt > 1) {
        std::this_thread::sleep_for(JitteredBackoff(options, attempt - 1));
      }
      auto failed = send(pending);
      if (!failed.ok()) return failed.status();
      pending = std::move(*failed);
    }
    sent = end;
    if (progress) std::cerr << "\rput " << sent << " of " << records.size();
  }
  if (progress) std::cerr << "\n";
  return Status::Ok();
}

// The records of `which` whose outcome is a refusal; prints the others'
// results with `print` (when given).
template <class Print>
Result<std::vector<size_t>> Refused(Result<std::vector<EntryOutcome>> outcomes,
                                    const std::vector<size_t>& which,
                                    Print print) {
  if (!outcomes.ok()) return outcomes.status();
  std::vector<size_t> refused;
  for (size_t i = 0; i < which.size(); ++i) {
    const EntryOutcome& outcome = (*outcomes)[i];
    if (outcome.status.ok()) {
      print(outcome);
    } else if (IsTransient(outcome.status.code())) {
      refused.push_back(which[i]);
    } else {
      return outcome.status;
    }
  }
  return refused;
}

int PutToStream(ApiClient& client, const Arguments& args) {
  if (args.positional.empty()) return UsageError("put", "STREAM is missing");
  const std::string& stream = args.positional.front();
  auto read = RecordsFrom(args);
  if (!read.ok()) return UsageError("put", read.status().message());
  const std::vector<std::string>& records = *read;
  std::vector<std::string> keys;
  if (auto it = args.flags.find("--partition-key"); it != args.flags.end()) {
    keys.assign(records.size(), it->second);
  } else {
    for (size_t i = 0; i < records.size(); ++i) keys.push_back(NewUuid());
  }
  Status status =
      SendInBatches(client.options(), records, kKinesisBatchRecords,
                    kKinesisBatchBytes, [&](const std::vector<size_t>& which) {
                      std::vector<KinesisEntry> entries;
                      for (size_t i : which)
                        entries.push_back({keys[i], records[i]});
                      return Refused(PutRecords(client, stream, entries), which,
                                     [](const EntryOutcome& stored) {
                                       std::cout << stored.shard_id << " "
                                                 << stored.id << "\n";
                                     });
                    });
  if (!status.ok()) return Failed(status);
  std::cerr << "put " << records.size() << " records to " << stream << "\n";
  return kExitOk;
}

int PutToDeliveryStream(ApiClient& client, const Arguments& args) {
  const std::string& name = args.positional.front();
  auto read = RecordsFrom(args);
  if (!read.ok()) return UsageError("firehose", read.status().message());
  std::vector<std::string>& records = *read;
  if (!args.flags.count("--raw")) {
    for (std::string& record : records) record += '\n';
  }
  Status status =
      SendInBatches(client.options(), records, kFirehoseBatchRecords,
                    kFirehoseBatchBytes, [&](const std::vector<size_t>& which) {
                      std::vector<std::string_view> batch;
                      for (size_t i : which) batch.push_back(records[i]);
                      return Refused(PutRecordBatch(client, name, batch), which,
                                     [](const EntryOutcome&) {});
                    });
  if (!status.ok()) return Failed(status);
  std::cerr << "put " << records.size() << " records to " << name << "\n";
  return kExitOk;
}

// Prints each string of the answer's array `member`, following the
// `has_more` flag with `start_member` set to the last name.
int ListNames(ApiClient& client, Api api, std::string_view operation,
              const char* member, const char* has_more,
              std::string_view start_member) {
  std::string body = "{}";
  while (true) {
    auto answer = client.Call(api, operation, body);
    if (!answer.ok()) return Failed(answer.status());
    auto names = answer->FindMember(member);
    if (names == answer->MemberEnd() || !names->value.IsArray()) {
      return Failed(Status(ErrorCode::kInternalFailure,
                           std::string("the answer has no ") + member));
    }
    std::string last;
    for (const json::Value& name : names->value.GetArray()) {
      if (!name.IsString()) continue;
      last = json::AsView(name);
      std::cout << last << "\n";
    }
    auto more = answer->FindMember(has_more);
    if (last.empty() || more == answer->MemberEnd() || !more->value.IsBool() ||
        !more->value.GetBool()) {
      return kExitOk;
    }
    body = NameBody(start_member, last);
  }
}

int PrintCall(ApiClient& client, Api api, std::string_view operation,
              const std::string& body) {
  auto answer = client.Call(api, operation, body);
  if (!answer.ok()) return Failed(answer.status());
  std::cout << Pretty(*answer) << "\n";
  return kExitOk;
}

int Streams(ApiClient& client, const std::vector<std::string>& raw) {
  Arguments args;
  if (auto error = Parse(raw, {"--shards"}, {}, args)) {
    return UsageError("streams", *error);
  }
  if (args.help) {
    std::cout << CommandHelp().at("streams");
    return kExitOk;
  }
  if (args.positional.empty()) return UsageError("streams", "what to do?");
  const std::string& verb = args.positional[0];
  if (verb == "list") {
    return ListNames(client, Api::kKinesis, "ListStreams", "StreamNames",
                     "HasMoreStreams", "ExclusiveStartStreamName");
  }
  if (args.positional.size() != 2) {
    return UsageError("streams", verb + " takes one NAME");
  }
  const std::string body = NameBody("StreamName", args.positional[1]);
  if (verb == "create") {
    std::string create = body.substr(0, body.size() - 1);
    if (auto shards = args.flags.find("--shards"); shards != args.flags.end()) {
      if (shards->second.empty() ||
          shards->second.find_first_not_of("0123456789") != std::string::npos) {
        return UsageError("streams", "--shards needs a whole number");
      }
      create += ",\"ShardCount\":" + shards->second;
    } else {
      create += ",\"StreamModeDetails\":{\"StreamMode\":\"ON_DEMAND\"}";
    }
    auto answer = client.Call(Api::kKinesis, "CreateStream", create + "}");
    if (!answer.ok()) return Failed(answer.status());
    return kExitOk;
  }
  if (verb == "describe") {
    return PrintCall(client, Api::kKinesis, "DescribeStreamSummary", body);
  }
  if (verb == "delete") {
    auto answer = client.Call(Api::kKinesis, "DeleteStream", body);
    if (!answer.ok()) return Failed(answer.status());
    return kExitOk;
  }
  return UsageError("streams", "unknown streams command " + verb);
}

int Put(ApiClient& client, const std::vector<std::string>& raw) {
  Arguments args;
  if (auto error = Parse(raw, {"--partition-key", "--file"},
                         {"--file-per-record"}, args)) {
    return UsageError("put", *error);
  }
  if (args.help) {
    std::cout << CommandHelp().at("put");
    return kExitOk;
  }
  return PutToStream(client, args);
}

// Prints one record as a line: its data as put, or with `as_json` an
// object of `identity` (members already in JSON, such as "shardId":"...")
// followed by approximateArrivalTimestamp and the base64 data. `tail`,
// `firehose tail` and `apps tail` print this way.
void PrintLine(std::string_view identity, double arrival_seconds,
               std::string_view data, bool as_json) {
  if (!as_json) {
    std::cout << data << "\n";
    return;
  }
  // Seconds with their milliseconds (the stream's default precision, six
  // digits, would print 1.76467e+09).
  char arrival[64];
  const char* arrival_end =
      std::to_chars(arrival, arrival + sizeof(arrival), arrival_seconds,
                    std::chars_format::fixed, 3)
          .ptr;
  std::cout << "{" << identity << ",\"approximateArrivalTimestamp\":"
            << std::string_view(arrival,
                                static_cast<size_t>(arrival_end - arrival))
            << ",\"data\":" << json::Quote(Base64Encode(data)) << "}\n";
}

// What `firehose tail` and `apps tail` read: a delivery stream's own record
// log, through SluiceAdmin.ReadDeliveryStream, a page at a time from a
// position. With --json a line carries the record's recordId (as PutRecord
// answered it) and position in the log.
struct DeliveryStreamTail {
  std::string name;
  bool from_latest = false;
  bool follow = false;
  bool as_json = false;
  uint64_t limit = std::numeric_limits<uint64_t>::max();
};

// How long a following delivery stream tail waits at the log's tip before
// asking again, as `tail --follow` waits at a shard's.
constexpr std::chrono::milliseconds kDeliveryStreamPollInterval{250};

int RunDeliveryStreamTail(ApiClient& client, const DeliveryStreamTail& tail) {
  const std::string name_member =
      "{\"DeliveryStreamName\":" + json::Quote(tail.name);
  std::optional<int64_t> position;
  if (tail.from_latest) {
    auto answer = client.Call(Api::kSluiceAdmin, "ReadDeliveryStream",
                              name_member + ",\"Limit\":0}");
    if (!answer.ok()) return Failed(answer.status());
    position = (*answer)["Tip"].GetInt64();
  }
  uint64_t printed = 0;
  while (printed < tail.limit) {
    std::string body = name_member + ",\"Limit\":";
    body += std::to_string(std::min<uint64_t>(tail.limit - printed, 10000));
    if (position) {
      body += ",\"Position\":";
      body += std::to_string(*position);
    }
    body += "}";
    auto answer = client.Call(Api::kSluiceAdmin, "ReadDeliveryStream", body);
    if (!answer.ok()) return Failed(answer.status());
    const json::Value& records = (*answer)["Records"];
    for (const json::Value& record : records.GetArray()) {
      const int64_t at = record["Position"].GetInt64();
      if (position && at > *position) {
        std::cerr << "sluice-cli: " << (at - *position)
                  << " records were delivered and trimmed before they were "
                     "read\n";
      }
      position = at + 1;
      std::string identity = "\"recordId\":";
      identity += json::Quote(json::AsView(record["RecordId"]));
      identity += ",\"position\":";
      identity += std::to_string(at);
      std::string data =
          Base64Decode(json::AsView(record["Data"])).value_or("");
      // Firehose records usually carry their own newline (`firehose put`,
      // an application's rows): in plain text it ends the line.
      if (!tail.as_json && !data.empty() && data.back() == '\n') {
        data.pop_back();
      }
      PrintLine(identity, record["ApproximateArrivalTimestamp"].GetDouble(),
                data, tail.as_json);
      ++printed;
    }
    std::cout.flush();
    position = (*answer)["NextPosition"].GetInt64();
    if (*position < (*answer)["Tip"].GetInt64()) continue;
    if (!tail.follow) break;
    if (records.Empty()) {
      std::this_thread::sleep_for(kDeliveryStreamPollInterval);
    }
  }
  return kExitOk;
}

template <class T>
bool ParseNumber(const std::string& text, T& out);

// `firehose tail NAME [--from trim-horizon|latest] [--follow] [--count N]
// [--json]`, its NAME the first positional argument.
int FirehoseTail(ApiClient& client, const Arguments& args) {
  DeliveryStreamTail tail;
  tail.name = args.positional[0];
  if (auto from = args.flags.find("--from"); from != args.flags.end()) {
    if (from->second != "trim-horizon" && from->second != "latest") {
      return UsageError("firehose", "--from is trim-horizon or latest");
    }
    tail.from_latest = from->second == "latest";
  }
  tail.follow = args.flags.count("--follow") || args.flags.count("-f");
  tail.as_json = args.flags.count("--json") > 0;
  if (auto count = args.flags.find("--count"); count != args.flags.end()) {
    if (!ParseNumber(count->second, tail.limit)) {
      return UsageError("firehose", "--count needs a whole number");
    }
  }
  return RunDeliveryStreamTail(client, tail);
}

int Firehose(ApiClient& client, const std::vector<std::string>& raw) {
  Arguments args;
  if (auto error = Parse(
          raw, {"--file", "--from", "--count"},
          {"--raw", "--file-per-record", "--follow", "-f", "--json"}, args)) {
    return UsageError("firehose", *error);
  }
  if (args.help) {
    std::cout << CommandHelp().at("firehose");
    return kExitOk;
  }
  if (args.positional.empty()) return UsageError("firehose", "what to do?");
  const std::string verb = args.positional[0];
  if (verb == "list") {
    return ListNames(client, Api::kFirehose, "ListDeliveryStreams",
                     "DeliveryStreamNames", "HasMoreDeliveryStreams",
                     "ExclusiveStartDeliveryStreamName");
  }
  if (args.positional.size() < 2) {
    return UsageError("firehose", verb + " needs a NAME");
  }
  const std::string body = NameBody("DeliveryStreamName", args.positional[1]);
  if (verb == "put") {
    Arguments rest = args;
    rest.positional.erase(rest.positional.begin());
    return PutToDeliveryStream(client, rest);
  }
  if (args.positional.size() != 2) {
    return UsageError("firehose", verb + " takes one NAME");
  }
  if (verb == "tail") {
    Arguments rest = args;
    rest.positional.erase(rest.positional.begin());
    return FirehoseTail(client, rest);
  }
  if (verb == "describe") {
    return PrintCall(client, Api::kFirehose, "DescribeDeliveryStream", body);
  }
  if (verb == "flush") {
    auto answer = client.Call(Api::kSluiceAdmin, "FlushDeliveryStream", body);
    if (!answer.ok()) return Failed(answer.status());
    auto objects = answer->FindMember("Objects");
    if (objects == answer->MemberEnd() || !objects->value.IsArray()) {
      return Failed(
          Status(ErrorCode::kInternalFailure, "the answer has no Objects"));
    }
    for (const json::Value& object : objects->value.GetArray()) {
      std::cout << json::AsView(object["Bucket"]) << "/"
                << json::AsView(object["Key"]) << " ("
                << object["Records"].GetInt64() << " records)\n";
    }
    std::cerr << "flushed " << args.positional[1] << ": "
              << objects->value.Size() << " objects\n";
    return kExitOk;
  }
  return UsageError("firehose", "unknown firehose command " + verb);
}

// A time given to `tail --from`: seconds since the epoch (a fraction
// allowed), or ISO 8601 in UTC ("2026-12-02T10:00:00Z", fraction allowed).
std::optional<double> ParseTime(const std::string& text) {
  char* end = nullptr;
  const double seconds = std::strtod(text.c_str(), &end);
  if (!text.empty() && std::isdigit(static_cast<unsigned char>(text[0])) &&
      *end == '\0') {
    return seconds;
  }
  std::tm parts{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &parts);
  if (rest == nullptr) return std::nullopt;
  double fraction = 0;
  if (*rest == '.') {
    fraction = std::strtod(rest, &end);
    rest = end;
  }
  if (std::string_view(rest) != "Z") return std::nullopt;
  return static_cast<double>(timegm(&parts)) + fraction;
}

// Prints one record as a line: its data as put, or with `as_json` an
// object with its shard, sequence number (and subSequenceNumber for a user
// record of a KPL aggregate), key, explicit hash key if any, arrival and
// base64 data.
void PrintRecord(const ReadRecord& record, bool as_json) {
  std::string identity = "\"shardId\":" + json::Quote(record.shard_id);
  identity += ",\"sequenceNumber\":";
  identity += json::Quote(record.sequence_number);
  if (record.subsequence_number) {
    identity += ",\"subSequenceNumber\":";
    identity += std::to_string(*record.subsequence_number);
  }
  identity += ",\"partitionKey\":";
  identity += json::Quote(record.partition_key);
  if (record.explicit_hash_key) {
    identity += ",\"explicitHashKey\":";
    identity += json::Quote(*record.explicit_hash_key);
  }
  PrintLine(identity, record.approximate_arrival_timestamp, record.data,
            as_json);
}

int Tail(ApiClient& client, const std::vector<std::string>& raw) {
  Arguments args;
  if (auto error = Parse(raw, {"--from", "--count"},
                         {"--follow", "-f", "--json", "--deaggregate"}, args)) {
    return UsageError("tail", *error);
  }
  if (args.help) {
    std::cout << CommandHelp().at("tail");
    return kExitOk;
  }
  if (args.positional.size() != 1) return UsageError("tail", "needs a STREAM");
  ReaderOptions options;
  if (auto from = args.flags.find("--from"); from != args.flags.end()) {
    if (from->second == "latest") {
      options.start = StartPosition::kLatest;
    } else if (from->second != "trim-horizon") {
      std::optional<double> time = ParseTime(from->second);
      if (!time) {
        return UsageError("tail",
                          "--from is trim-horizon, latest or a time "
                          "(2026-12-02T10:00:00Z, or seconds since 1970)");
      }
      options.start = StartPosition::kAtTimestamp;
      options.timestamp = *time;
    }
  }
  options.follow = args.flags.count("--follow") || args.flags.count("-f");
  options.deaggregate = args.flags.count("--deaggregate") > 0;
  const bool as_json = args.flags.count("--json") > 0;
  uint64_t limit = std::numeric_limits<uint64_t>::max();
  if (auto count = args.flags.find("--count"); count != args.flags.end()) {
    if (count->second.empty() ||
        count->second.find_first_not_of("0123456789") != std::string::npos) {
      return UsageError("tail", "--count needs a whole number");
    }
    limit = std::stoull(count->second);
  }
  if (limit == 0) return kExitOk;

  StreamReader reader(client, args.positional[0], options);
  uint64_t printed = 0;
  Status status = reader.Run([&](const ReadRecord& record) {
    PrintRecord(record, as_json);
    return ++printed < limit;
  });
  std::cout.flush();
  if (!status.ok()) return Failed(status);
  return kExitOk;
}

// A whole number (or, with `fraction`, a decimal) flag, into `out`.
template <class T>
bool ParseNumber(const std::string& text, T& out) {
  try {
    size_t used = 0;
    if constexpr (std::is_floating_point_v<T>) {
      out = static_cast<T>(std::stod(text, &used));
    } else {
      out = static_cast<T>(std::stoull(text, &used));
    }
    return used == text.size() && !text.empty() && text[0] != '-';
  } catch (const std::exception&) {
    return false;
  }
}

int Load(ApiClient& client, const std::vector<std::string>& raw) {
  Arguments args;
  if (auto error =
          Parse(raw,
                {"--stream", "--delivery-stream", "--records", "--duration",
                 "--rate", "--keys", "--seed", "--connections"},
                {"--aggregate"}, args)) {
    return UsageError("load", *error);
  }
  if (args.help) {
    std::cout << CommandHelp().at("load");
    return kExitOk;
  }
  if (args.positional.size() != 1) {
    return UsageError("load", "name one workload: ecommerce or telemetry");
  }
  LoadOptions options;
  options.workload = args.positional[0];
  auto flag = [&](const char* name) -> const std::string* {
    auto it = args.flags.find(name);
    return it == args.flags.end() ? nullptr : &it->second;
  };
  if (const std::string* stream = flag("--stream")) options.stream = *stream;
  if (const std::string* name = flag("--delivery-stream")) {
    options.delivery_stream = *name;
  }
  bool numbers_ok = true;
  if (const std::string* text = flag("--records")) {
    uint64_t records = 0;
    numbers_ok &= ParseNumber(*text, records);
    options.records = records;
  }
  if (const std::string* text = flag("--duration")) {
    double seconds = 0;
    numbers_ok &= ParseNumber(*text, seconds);
    options.duration =
        std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  }
  if (const std::string* text = flag("--rate")) {
    double rate = 0;
    numbers_ok &= ParseNumber(*text, rate) && rate > 0;
    options.rate = rate;
  }
  if (const std::string* text = flag("--keys")) {
    numbers_ok &= ParseNumber(*text, options.keys) && options.keys > 0;
  }
  if (const std::string* text = flag("--seed")) {
    numbers_ok &= ParseNumber(*text, options.seed);
  }
  if (const std::string* text = flag("--connections")) {
    numbers_ok &= ParseNumber(*text, options.connections) &&
                  options.connections > 0 && options.connections <= 64;
  }
  if (!numbers_ok) {
    return UsageError("load",
                      "--records, --duration, --rate, --keys, "
                      "--seed and --connections take positive numbers");
  }
  options.aggregate = args.flags.count("--aggregate") > 0;
  if (options.aggregate && options.stream.empty()) {
    return UsageError("load", "--aggregate applies to a --stream only");
  }
  auto report = RunLoad(client.options(), options, &std::cerr);
  if (!report.ok()) {
    if (report.status().code() == ErrorCode::kInvalidArgument) {
      return UsageError("load", report.status().message());
    }
    return Failed(report.status());
  }
  const std::string target = options.stream.empty()
                                 ? "delivery stream " + options.delivery_stream
                                 : "stream " + options.stream;
  std::printf(
      "%s to %s: %llu records in %.2f s, %.0f records/s (%s)\n"
      "latency, hand-over to stored: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, "
      "max %.2f ms\n"
      "not stored: %llu; entries sent again after a refusal: %llu\n",
      options.workload.c_str(), target.c_str(),
      static_cast<unsigned long long>(report->sent), report->seconds,
      report->RecordsPerSecond(),
      options.rate
          ? ("target " + std::to_string(static_cast<int64_t>(*options.rate)) +
             "/s")
                .c_str()
          : "as fast as possible",
      report->p50_ms, report->p90_ms, report->p99_ms, report->max_ms,
      static_cast<unsigned long long>(report->failed),
      static_cast<unsigned long long>(report->retried));
  return report->failed == 0 ? kExitOk : kExitFailed;
}

// A JSON body from the argument itself or, for "@path", from that file.
std::optional<std::string> BodyFrom(const std::string& argument) {
  if (argument.empty() || argument[0] != '@') return argument;
  std::ifstream file(argument.substr(1), std::ios::binary);
  if (!file) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(file), {});
}

int Consumers(ApiClient& client, const std::vector<std::string>& raw) {
  Arguments args;
  if (auto error = Parse(raw, {}, {}, args)) {
    return UsageError("consumers", *error);
  }
  if (args.help) {
    std::cout << CommandHelp().at("consumers");
    return kExitOk;
  }
  if (args.positional.empty()) return UsageError("consumers", "what to do?");
  const std::string& verb = args.positional[0];
  if (verb == "list" && args.positional.size() == 1) {
    auto answer = client.Call(Api::kSluiceAdmin, "ListConsumers", "{}");
    if (!answer.ok()) return Failed(answer.status());
    for (const json::Value& consumer : (*answer)["Consumers"].GetArray()) {
      // Lag comes with a description; a list entry is a summary.
      const std::string name(json::AsView(consumer["ConsumerName"]));
      auto described = client.Call(Api::kSluiceAdmin, "DescribeConsumer",
                                   NameBody("ConsumerName", name));
      if (!described.ok()) return Failed(described.status());
      const json::Value& full = (*described)["Consumer"];
      // The source: a Kinesis stream, or a delivery stream's own log.
      const json::Value* source = json::Member(full, "StreamName");
      if (source == nullptr) source = json::Member(full, "DeliveryStreamName");
      std::cout << name << "\t"
                << (source != nullptr && source->IsString()
                        ? json::AsView(*source)
                        : "?")
                << "\t" << json::AsView(full["HandlerType"]) << "\t"
                << json::AsView(full["State"])
                << "\titerator-age-ms=" << full["IteratorAgeMillis"].GetInt64()
                << "\tbehind-ms=" << full["MillisBehindLatest"].GetInt64()
                << "\n";
    }
    return kExitOk;
  }
  if (args.positional.size() != 2) {
    return UsageError("consumers", verb + " takes one argument");
  }
  if (verb == "create") {
    std::optional<std::string> body = BodyFrom(args.positional[1]);
    if (!body) {
      return UsageError("consumers", "cannot read " + args.positional[1]);
    }
    return PrintCall(client, Api::kSluiceAdmin, "CreateConsumer", *body);
  }
  static const std::map<std::string, std::string, std::less<>> kOperations{
      {"describe", "DescribeConsumer"},
      {"pause", "PauseConsumer"},
      {"resume", "ResumeConsumer"},
      {"delete", "DeleteConsumer"}};
  auto operation = kOperations.find(verb);
  if (operation == kOperations.end()) {
    return UsageError("consumers", "unknown consumers command " + verb);
  }
  return PrintCall(client, Api::kSluiceAdmin, operation->second,
                   NameBody("ConsumerName", args.positional[1]));
}

// The first output an application writes to: a Kinesis stream, or a
// delivery stream.
struct ApplicationOutput {
  bool delivery_stream = false;
  std::string name;
};

Result<ApplicationOutput> FirstApplicationOutput(ApiClient& client,
                                                 const std::string& name) {
  auto answer = client.Call(Api::kSluiceAdmin, "DescribeApplication",
                            NameBody("ApplicationName", name));
  if (!answer.ok()) return answer.status();
  const json::Value* detail = json::Member(*answer, "ApplicationDetail");
  const json::Value* definition =
      detail != nullptr ? json::Member(*detail, "Definition") : nullptr;
  const json::Value* outputs =
      definition != nullptr ? json::Member(*definition, "Outputs") : nullptr;
  if (outputs != nullptr && outputs->IsArray()) {
    for (const json::Value& output : outputs->GetArray()) {
      for (const bool delivery_stream : {false, true}) {
        const json::Value* target =
            json::Member(output, delivery_stream ? "KinesisFirehoseOutput"
                                                 : "KinesisStreamsOutput");
        if (target == nullptr) continue;
        for (const char* member :
             {"ResourceARN",
              delivery_stream ? "DeliveryStreamName" : "StreamName"}) {
          const json::Value* value = json::Member(*target, member);
          if (value == nullptr || !value->IsString()) continue;
          std::string text(json::AsView(*value));
          return ApplicationOutput{
              delivery_stream, text.substr(text.find('/') == std::string::npos
                                               ? 0
                                               : text.rfind('/') + 1)};
        }
      }
    }
  }
  return Status(ErrorCode::kInvalidArgument,
                "application " + name + " has no output to tail");
}

int Apps(ApiClient& client, const std::vector<std::string>& raw) {
  Arguments args;
  if (auto error = Parse(raw, {"--from", "--count"}, {"--json"}, args)) {
    return UsageError("apps", *error);
  }
  if (args.help) {
    std::cout << CommandHelp().at("apps");
    return kExitOk;
  }
  if (args.positional.empty()) return UsageError("apps", "what to do?");
  const std::string& verb = args.positional[0];
  if (verb == "list" && args.positional.size() == 1) {
    auto answer = client.Call(Api::kSluiceAdmin, "ListApplications", "{}");
    if (!answer.ok()) return Failed(answer.status());
    for (const json::Value& app :
         (*answer)["ApplicationSummaries"].GetArray()) {
      const std::string name(json::AsView(app["ApplicationName"]));
      auto described = client.Call(Api::kSluiceAdmin, "DescribeApplication",
                                   NameBody("ApplicationName", name));
      if (!described.ok()) return Failed(described.status());
      const json::Value& detail = (*described)["ApplicationDetail"];
      std::cout << name << "\t" << json::AsView(detail["ApplicationStatus"]);
      if (const json::Value* counts = json::Member(detail, "Counts")) {
        std::cout << "\trecords=" << (*counts)["Records"].GetInt64()
                  << "\temitted=" << (*counts)["Emitted"].GetInt64()
                  << "\terror-rows=" << (*counts)["ErrorRows"].GetInt64();
      }
      std::cout << "\n";
    }
    return kExitOk;
  }
  if (args.positional.size() != 2) {
    return UsageError("apps", verb + " takes one argument");
  }
  if (verb == "tail") {
    auto output = FirstApplicationOutput(client, args.positional[1]);
    if (!output.ok()) return Failed(output.status());
    const std::string from =
        args.flags.count("--from") ? args.flags.at("--from") : "latest";
    if (output->delivery_stream) {
      Arguments rest = args;
      rest.positional = {output->name};
      rest.flags["--from"] = from;
      rest.flags["--follow"] = "";
      return FirehoseTail(client, rest);
    }
    std::vector<std::string> tail = {output->name, "--follow", "--from", from};
    if (args.flags.count("--count")) {
      tail.push_back("--count");
      tail.push_back(args.flags.at("--count"));
    }
    if (args.flags.count("--json")) tail.push_back("--json");
    return Tail(client, tail);
  }
  if (verb == "create") {
    std::optional<std::string> body = BodyFrom(args.positional[1]);
    if (!body) return UsageError("apps", "cannot read " + args.positional[1]);
    return PrintCall(client, Api::kSluiceAdmin, "CreateApplication", *body);
  }
  static const std::map<std::string, std::string, std::less<>> kOperations{
      {"describe", "DescribeApplication"}, {"delete", "DeleteApplication"}};
  auto operation = kOperations.find(verb);
  if (operation == kOperations.end()) {
    return UsageError("apps", "unknown apps command " + verb);
  }
  return PrintCall(client, Api::kSluiceAdmin, operation->second,
                   NameBody("ApplicationName", args.positional[1]));
}

int Metrics(ApiClient& client, const std::vector<std::string>& raw) {
  Arguments args;
  if (auto error =
          Parse(raw, {"--table", "--key", "--sort-key", "--limit"}, {}, args)) {
    return UsageError("metrics", *error);
  }
  if (args.help) {
    std::cout << CommandHelp().at("metrics");
    return kExitOk;
  }
  if (args.positional.size() != 1) {
    return UsageError("metrics", "name one consumer");
  }
  std::string body = "{\"ConsumerName\":" + json::Quote(args.positional[0]);
  for (const auto& [flag, member] :
       {std::pair{"--table", "Table"}, std::pair{"--key", "Key"},
        std::pair{"--sort-key", "SortKey"}}) {
    if (auto it = args.flags.find(flag); it != args.flags.end()) {
      body += "," + json::Quote(member) + ":" + json::Quote(it->second);
    }
  }
  if (auto it = args.flags.find("--limit"); it != args.flags.end()) {
    uint64_t limit = 0;
    if (!ParseNumber(it->second, limit)) {
      return UsageError("metrics", "--limit takes a whole number");
    }
    body += ",\"Limit\":" + std::to_string(limit);
  }
  return PrintCall(client, Api::kSluiceAdmin, "QueryMetrics", body + "}");
}

int GatewayKeys(ApiClient& client, const std::vector<std::string>& raw) {
  Arguments args;
  if (auto error = Parse(raw, {"--routes", "--rate", "--burst"}, {}, args)) {
    return UsageError("gateway-keys", *error);
  }
  if (args.help) {
    std::cout << CommandHelp().at("gateway-keys");
    return kExitOk;
  }
  if (args.positional.empty()) return UsageError("gateway-keys", "what to do?");
  const std::string verb = args.positional[0];
  if (verb == "list" && args.positional.size() == 1) {
    return PrintCall(client, Api::kSluiceAdmin, "ListGatewayKeys", "{}");
  }
  if (args.positional.size() != 2) {
    return UsageError("gateway-keys", verb + " takes one NAME");
  }
  const std::string& name = args.positional[1];
  if (verb == "delete") {
    return PrintCall(client, Api::kSluiceAdmin, "DeleteGatewayKey",
                     NameBody("Name", name));
  }
  if (verb != "create") {
    return UsageError("gateway-keys", "unknown gateway-keys command " + verb);
  }
  auto routes = args.flags.find("--routes");
  if (routes == args.flags.end()) {
    return UsageError("gateway-keys", "create needs --routes");
  }
  std::string body = "{\"Name\":" + json::Quote(name) + ",\"Routes\":[";
  std::string_view list = routes->second;
  for (bool first = true; !list.empty(); first = false) {
    std::string_view route = list.substr(0, list.find(','));
    list.remove_prefix(std::min(list.size(), route.size() + 1));
    body += (first ? "" : ",") + json::Quote(route);
  }
  body += "]";
  if (auto rate = args.flags.find("--rate"); rate != args.flags.end()) {
    // Numbers are checked by the server; here they only must be numbers.
    char* end = nullptr;
    double value = std::strtod(rate->second.c_str(), &end);
    if (*end != '\0')
      return UsageError("gateway-keys", "--rate needs a number");
    body += ",\"RateLimit\":{\"RequestsPerSecond\":" + std::to_string(value);
    if (auto burst = args.flags.find("--burst"); burst != args.flags.end()) {
      double b = std::strtod(burst->second.c_str(), &end);
      if (*end != '\0') {
        return UsageError("gateway-keys", "--burst needs a number");
      }
      body += ",\"Burst\":" + std::to_string(b);
    }
    body += "}";
  }
  body += "}";
  return PrintCall(client, Api::kSluiceAdmin, "CreateGatewayKey", body);
}

int Call(ApiClient& client, const std::vector<std::string>& raw) {
  Arguments args;
  if (auto error = Parse(raw, {}, {}, args)) return UsageError("call", *error);
  if (args.help) {
    std::cout << CommandHelp().at("call");
    return kExitOk;
  }
  if (args.positional.size() < 2 || args.positional.size() > 3) {
    return UsageError("call", "needs an API and an OPERATION");
  }
  static const std::map<std::string, Api, std::less<>> kApis{
      {"kinesis", Api::kKinesis},
      {"firehose", Api::kFirehose},
      {"admin", Api::kSluiceAdmin}};
  auto api = kApis.find(args.positional[0]);
  if (api == kApis.end()) {
    return UsageError("call", "unknown API " + args.positional[0]);
  }
  return PrintCall(client, api->second, args.positional[1],
                   args.positional.size() == 3 ? args.positional[2] : "{}");
}

int Main(std::vector<std::string> args) {
  ClientOptions options = ClientOptions::FromEnvironment();
  // Global options come before the command.
  while (!args.empty() && args.front().rfind("--", 0) == 0) {
    const std::string flag = args.front();
    args.erase(args.begin());
    if (flag == "--help") {
      std::cout << kUsage;
      return kExitOk;
    }
    if ((flag == "--endpoint" || flag == "--region") && !args.empty()) {
      (flag == "--endpoint" ? options.endpoint : options.region) = args.front();
      args.erase(args.begin());
      continue;
    }
    return UsageError("", "unknown option or missing value: " + flag);
  }
  if (args.empty()) return UsageError("", "no command given");
  const std::string command = args.front();
  args.erase(args.begin());

  using Command = int (*)(ApiClient&, const std::vector<std::string>&);
  static const std::map<std::string, Command, std::less<>> kCommands{
      {"streams", Streams},   {"put", Put},
      {"tail", Tail},         {"load", Load},
      {"firehose", Firehose}, {"consumers", Consumers},
      {"metrics", Metrics},   {"gateway-keys", GatewayKeys},
      {"apps", Apps},         {"call", Call}};
  auto found = kCommands.find(command);
  if (found == kCommands.end()) {
    return UsageError("", "unknown command " + command);
  }
  auto client = ApiClient::Create(options);
  if (!client.ok()) {
    std::cerr << "sluice-cli: " << client.status().message() << "\n";
    return kExitUsage;
  }
  return found->second(**client, args);
}

}  // namespace
}  // namespace sluice::client

int main(int argc, char** argv) {
  return sluice::client::Main(std::vector<std::string>(argv + 1, argv + argc));
}
