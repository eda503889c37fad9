// sluice-cli: drives a Sluice server (or anything speaking the Kinesis and
// Firehose JSON APIs) from the shell. One binary, subcommands, --help
// everywhere; the endpoint, region and credentials come from flags or the
// usual AWS environment variables.
//
// Exit codes: 0 done, 1 the server refused or failed, 2 bad usage.
#include <rapidjson/prettywriter.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "client/api_client.h"
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
// Less the newline `firehose put` may add to each of 500 records.
constexpr size_t kFirehoseBatchBytes = (4u << 20) - kFirehoseBatchRecords;
// How often a batch's failed entries are sent again before giving up.
constexpr int kEntryAttempts = 10;
// How long `tail --follow` waits at the tip of every shard before asking
// again (GetRecords allows 5 calls per second per shard).
constexpr std::chrono::milliseconds kTailPollInterval{250};

constexpr std::string_view kUsage = R"(usage: sluice-cli [options] COMMAND ...

Commands:
  streams list                          names of the Kinesis streams
  streams create NAME [--shards N]      a stream (on demand without --shards)
  streams describe NAME                 DescribeStreamSummary, as JSON
  streams delete NAME
  put STREAM [--partition-key K] [RECORD...]
                                        records, or one per line of stdin
  tail STREAM [--from trim-horizon|latest] [--follow] [--count N] [--json]
                                        print records of every shard
  firehose list                         names of the delivery streams
  firehose describe NAME                DescribeDeliveryStream, as JSON
  firehose put NAME [--raw] [RECORD...] records, or one per line of stdin
  firehose flush NAME                   deliver everything buffered now
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
       "usage: sluice-cli put STREAM [--partition-key K] [RECORD...]\n"
       "Puts each RECORD (or, with none, each line of stdin, without its\n"
       "newline) with PutRecords, 500 at a time; entries a partial failure\n"
       "refused are sent again. Without --partition-key each record gets a\n"
       "random key, spreading records over the shards. Prints one line per\n"
       "record: its shard id and sequence number.\n"},
      {"firehose",
       "usage: sluice-cli firehose list\n"
       "       sluice-cli firehose describe NAME\n"
       "       sluice-cli firehose put NAME [--raw] [RECORD...]\n"
       "       sluice-cli firehose flush NAME\n"
       "put sends each RECORD (or each line of stdin) with PutRecordBatch,\n"
       "with a newline appended unless --raw, since Firehose writes records\n"
       "back to back. flush is Sluice's SluiceAdmin.FlushDeliveryStream: it\n"
       "writes every buffered record to the archive now and prints each\n"
       "object as bucket/key and its record count.\n"},
      {"tail",
       "usage: sluice-cli tail STREAM [--from trim-horizon|latest] [--follow]\n"
       "                            [--count N] [--json]\n"
       "Prints the records of every shard, one per line (the data as put;\n"
       "--json: a JSON object per record with shardId, sequenceNumber,\n"
       "partitionKey, approximateArrivalTimestamp and base64 data). It\n"
       "follows resharding: a shard is read only once its parents are read\n"
       "to their end, so records of one key come out in order. Reads from\n"
       "the oldest record (default) or the tip; stops at the tip unless\n"
       "--follow; --count stops after N records.\n"},
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

// A JSON string literal of `text`.
std::string Quote(std::string_view text) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string NameBody(std::string_view member, std::string_view name) {
  return "{" + Quote(member) + ":" + Quote(name) + "}";
}

// Arguments after the command: positional ones, and --flag [value] pairs.
struct Arguments {
  std::vector<std::string> positional;
  std::map<std::string, std::string, std::less<>> flags;
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

// The records to put: the positional arguments after the first, else the
// lines of stdin.
std::vector<std::string> RecordsFrom(const Arguments& args) {
  std::vector<std::string> records(args.positional.begin() + 1,
                                   args.positional.end());
  if (records.empty()) {
    for (std::string line; std::getline(std::cin, line);) {
      records.push_back(std::move(line));
    }
  }
  return records;
}

// Sends `records` in batches of at most `max_records` and `max_bytes`;
// `send` puts one batch and returns, per record, its result or nullopt for
// a failed entry, which goes again in the next call. Prints progress on a
// terminal. Returns the first error that is not a partial failure.
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

// A PutRecords or PutRecordBatch body: {"<name_member>": name, "Records":
// [...]} with one entry per record of `which`, each written by `entry`.
template <class Entry>
std::string RecordsBody(std::string_view name_member, std::string_view name,
                        const std::vector<size_t>& which, Entry entry) {
  std::string body =
      "{" + Quote(name_member) + ":" + Quote(name) + ",\"Records\":[";
  for (size_t i = 0; i < which.size(); ++i) {
    if (i > 0) body += ',';
    body += entry(which[i]);
  }
  return body + "]}";
}

// The entries of a PutRecords / PutRecordBatch answer that failed.
Result<std::vector<size_t>> FailedEntries(const json::Document& answer,
                                          std::string_view array_member,
                                          const std::vector<size_t>& sent,
                                          bool print_sequence_numbers) {
  auto it = answer.FindMember(array_member.data());
  if (it == answer.MemberEnd() || !it->value.IsArray() ||
      it->value.Size() != sent.size()) {
    return Status(ErrorCode::kInternalFailure, "the answer has no " +
                                                   std::string(array_member) +
                                                   " entry for each record");
  }
  std::vector<size_t> failed;
  for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i) {
    const json::Value& entry = it->value[i];
    if (!entry.IsObject() || entry.HasMember("ErrorCode")) {
      failed.push_back(sent[i]);
    } else if (print_sequence_numbers && entry.HasMember("ShardId") &&
               entry.HasMember("SequenceNumber")) {
      std::cout << json::AsView(entry["ShardId"]) << " "
                << json::AsView(entry["SequenceNumber"]) << "\n";
    }
  }
  return failed;
}

int PutToStream(ApiClient& client, const Arguments& args) {
  if (args.positional.empty()) return UsageError("put", "STREAM is missing");
  const std::string& stream = args.positional.front();
  std::optional<std::string> key;
  if (auto it = args.flags.find("--partition-key"); it != args.flags.end()) {
    key = it->second;
  }
  const std::vector<std::string> records = RecordsFrom(args);
  Status status = SendInBatches(
      client.options(), records, kKinesisBatchRecords, kKinesisBatchBytes,
      [&](const std::vector<size_t>& which) -> Result<std::vector<size_t>> {
        auto answer = client.Call(
            Api::kKinesis, "PutRecords",
            RecordsBody("StreamName", stream, which, [&](size_t i) {
              return "{\"Data\":\"" + Base64Encode(records[i]) +
                     "\",\"PartitionKey\":" + Quote(key.value_or(NewUuid())) +
                     "}";
            }));
        if (!answer.ok()) return answer.status();
        return FailedEntries(*answer, "Records", which, true);
      });
  if (!status.ok()) return Failed(status);
  std::cerr << "put " << records.size() << " records to " << stream << "\n";
  return kExitOk;
}

int PutToDeliveryStream(ApiClient& client, const Arguments& args) {
  const std::string& name = args.positional.front();
  const std::string suffix = args.flags.count("--raw") ? "" : "\n";
  const std::vector<std::string> records = RecordsFrom(args);
  Status status = SendInBatches(
      client.options(), records, kFirehoseBatchRecords, kFirehoseBatchBytes,
      [&](const std::vector<size_t>& which) -> Result<std::vector<size_t>> {
        auto answer = client.Call(
            Api::kFirehose, "PutRecordBatch",
            RecordsBody("DeliveryStreamName", name, which, [&](size_t i) {
              return "{\"Data\":\"" + Base64Encode(records[i] + suffix) + "\"}";
            }));
        if (!answer.ok()) return answer.status();
        return FailedEntries(*answer, "RequestResponses", which, false);
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
  if (auto error = Parse(raw, {"--partition-key"}, {}, args)) {
    return UsageError("put", *error);
  }
  if (args.help) {
    std::cout << CommandHelp().at("put");
    return kExitOk;
  }
  return PutToStream(client, args);
}

int Firehose(ApiClient& client, const std::vector<std::string>& raw) {
  Arguments args;
  if (auto error = Parse(raw, {}, {"--raw"}, args)) {
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

// One shard as `tail` sees it.
struct TailShard {
  std::vector<std::string> parents;    // shard ids, those in the stream only
  bool closed = false;                 // when listed
  std::string start = "TRIM_HORIZON";  // the iterator type it starts with
  std::string iterator;                // empty until started
  bool started = false;
  bool drained = false;  // a closed shard read to its end
};

// The stream's shards (ListShards, every page) merged into `shards`: new
// ones are added, known ones kept as they are.
Status ListShardsInto(ApiClient& client, const std::string& stream,
                      std::map<std::string, TailShard>& shards) {
  std::string body = NameBody("StreamName", stream);
  struct Listed {
    std::string id;
    std::vector<std::string> parents;
    bool closed;
  };
  std::vector<Listed> listed;
  while (true) {
    auto answer = client.Call(Api::kKinesis, "ListShards", body);
    if (!answer.ok()) return answer.status();
    auto list = answer->FindMember("Shards");
    if (list == answer->MemberEnd() || !list->value.IsArray()) {
      return Status(ErrorCode::kInternalFailure, "ListShards has no Shards");
    }
    for (const json::Value& shard : list->value.GetArray()) {
      std::vector<std::string> parents;
      for (const char* member : {"ParentShardId", "AdjacentParentShardId"}) {
        if (shard.HasMember(member) && shard[member].IsString()) {
          parents.emplace_back(json::AsView(shard[member]));
        }
      }
      const json::Value& range = shard["SequenceNumberRange"];
      listed.push_back(
          {std::string(json::AsView(shard["ShardId"])), std::move(parents),
           range.IsObject() && range.HasMember("EndingSequenceNumber")});
    }
    auto token = answer->FindMember("NextToken");
    if (token == answer->MemberEnd() || !token->value.IsString()) break;
    body = NameBody("NextToken", json::AsView(token->value));
  }
  for (Listed& entry : listed) {
    if (shards.count(entry.id)) continue;
    TailShard& shard = shards[entry.id];
    shard.closed = entry.closed;
    for (std::string& parent : entry.parents) {
      // A parent past the retention period is gone: nothing to wait for.
      if (std::any_of(listed.begin(), listed.end(), [&](const Listed& other) {
            return other.id == parent;
          })) {
        shard.parents.push_back(std::move(parent));
      }
    }
  }
  return Status::Ok();
}

void PrintRecord(const std::string& shard_id, const json::Value& record,
                 bool as_json) {
  const std::string_view data64 = json::AsView(record["Data"]);
  if (as_json) {
    std::cout << "{\"shardId\":" << Quote(shard_id) << ",\"sequenceNumber\":"
              << Quote(json::AsView(record["SequenceNumber"]))
              << ",\"partitionKey\":"
              << Quote(json::AsView(record["PartitionKey"]))
              << ",\"approximateArrivalTimestamp\":"
              << record["ApproximateArrivalTimestamp"].GetDouble()
              << ",\"data\":" << Quote(data64) << "}\n";
    return;
  }
  std::cout << Base64Decode(data64).value_or("") << "\n";
}

int Tail(ApiClient& client, const std::vector<std::string>& raw) {
  Arguments args;
  if (auto error = Parse(raw, {"--from", "--count"},
                         {"--follow", "-f", "--json"}, args)) {
    return UsageError("tail", *error);
  }
  if (args.help) {
    std::cout << CommandHelp().at("tail");
    return kExitOk;
  }
  if (args.positional.size() != 1) return UsageError("tail", "needs a STREAM");
  const std::string& stream = args.positional[0];
  const std::string from =
      args.flags.count("--from") ? args.flags.at("--from") : "trim-horizon";
  if (from != "trim-horizon" && from != "latest") {
    return UsageError("tail", "--from is trim-horizon or latest");
  }
  const bool follow = args.flags.count("--follow") || args.flags.count("-f");
  const bool as_json = args.flags.count("--json") > 0;
  uint64_t limit = std::numeric_limits<uint64_t>::max();
  if (auto count = args.flags.find("--count"); count != args.flags.end()) {
    if (count->second.empty() ||
        count->second.find_first_not_of("0123456789") != std::string::npos) {
      return UsageError("tail", "--count needs a whole number");
    }
    limit = std::stoull(count->second);
  }

  std::map<std::string, TailShard> shards;
  if (Status s = ListShardsInto(client, stream, shards); !s.ok()) {
    return Failed(s);
  }
  // From the tip: the open shards start at their tip and closed ones, which
  // hold only the past, are skipped. Shards made later start at their first
  // record either way.
  if (from == "latest") {
    for (auto& [id, shard] : shards) {
      shard.start = "LATEST";
      shard.started = shard.drained = shard.closed;
    }
  }
  uint64_t printed = 0;
  while (printed < limit) {
    bool all_at_tip = true;
    bool new_shards = false;
    for (auto& [id, shard] : shards) {
      if (shard.drained && shard.started) continue;
      if (!shard.started) {
        const bool ready = std::all_of(
            shard.parents.begin(), shard.parents.end(), [&](const auto& p) {
              auto parent = shards.find(p);
              return parent == shards.end() || parent->second.drained;
            });
        if (!ready) continue;
        auto answer = client.Call(
            Api::kKinesis, "GetShardIterator",
            "{\"StreamName\":" + Quote(stream) + ",\"ShardId\":" + Quote(id) +
                ",\"ShardIteratorType\":\"" + shard.start + "\"}");
        if (!answer.ok()) return Failed(answer.status());
        shard.iterator = json::AsView((*answer)["ShardIterator"]);
        shard.started = true;
      }
      auto answer = client.Call(
          Api::kKinesis, "GetRecords",
          "{\"ShardIterator\":" + Quote(shard.iterator) + ",\"Limit\":10000}");
      if (!answer.ok()) return Failed(answer.status());
      const json::Value& records = (*answer)["Records"];
      for (const json::Value& record : records.GetArray()) {
        if (printed == limit) break;
        PrintRecord(id, record, as_json);
        ++printed;
      }
      auto next = answer->FindMember("NextShardIterator");
      if (next == answer->MemberEnd() || !next->value.IsString()) {
        shard.drained = true;  // closed and read to its end: children next
        new_shards = true;
        continue;
      }
      shard.iterator = json::AsView(next->value);
      auto behind = answer->FindMember("MillisBehindLatest");
      if (!records.Empty() ||
          (behind != answer->MemberEnd() && behind->value.GetInt64() > 0)) {
        all_at_tip = false;
      }
    }
    std::cout.flush();
    if (new_shards || follow) {
      // Resharding makes shards; a drained parent lets its children start.
      if (Status s = ListShardsInto(client, stream, shards); !s.ok()) {
        return Failed(s);
      }
    }
    if (new_shards) continue;
    if (all_at_tip) {
      if (!follow) break;
      std::this_thread::sleep_for(kTailPollInterval);
    }
  }
  return kExitOk;
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
      {"streams", Streams},
      {"put", Put},
      {"tail", Tail},
      {"firehose", Firehose},
      {"call", Call}};
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
