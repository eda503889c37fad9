#include "server/consumers/alerts_handler.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>

#include "common/log.h"

namespace sluice::consumers {
namespace {

using catalog::Database;
using catalog::Statement;
using catalog::StatementUse;
using catalog::Transaction;
using std::chrono::milliseconds;
using SteadyTime = std::chrono::steady_clock::time_point;

constexpr milliseconds kDefaultTimeout{5000};
constexpr milliseconds kDefaultRetryFor{300000};
constexpr milliseconds kDefaultInitialBackoff{1000};
constexpr milliseconds kMaxBackoff{30000};
// Alerts read from the ledger per delivery step.
constexpr int kDeliveryChunk = 100;
constexpr milliseconds kNoWait = milliseconds::max();

Status Internal(std::string message) {
  return Status(ErrorCode::kInternalFailure, std::move(message));
}

Result<milliseconds> ParseSeconds(const json::Value& object,
                                  std::string_view name, milliseconds fallback,
                                  double max_seconds, std::string_view what) {
  const json::Value* value = Member(object, name);
  if (value == nullptr) return fallback;
  if (!value->IsNumber() || value->GetDouble() <= 0 ||
      value->GetDouble() > max_seconds) {
    return InvalidSetting(std::string(what) + "." + std::string(name),
                          "must be a number of seconds above 0, at most " +
                              std::to_string(static_cast<int>(max_seconds)));
  }
  return milliseconds(static_cast<int64_t>(value->GetDouble() * 1000));
}

bool IsRuleName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
  });
}

// Writes all of `bytes` to `fd`.
bool WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// A message template: the settings' JSON with each string a Template.
struct MessageNode {
  enum class Kind { kTemplate, kObject, kArray, kLiteral };
  Kind kind = Kind::kLiteral;
  std::optional<Template> text;     // kTemplate
  std::vector<std::string> names;   // kObject, with values
  std::vector<MessageNode> values;  // kObject, kArray
  std::string literal;              // kLiteral: JSON text
};

}  // namespace

struct AlertsHandler::Rule {
  std::string name;
  Condition match;
  Template subject;
  MessageNode message;
};

struct AlertsHandler::Output {
  enum class Kind { kJsonl, kWebhook, kStream, kDeliveryStream };
  Kind kind = Kind::kJsonl;
  std::string name;
  std::filesystem::path file;  // kJsonl
  WebhookUrl url;              // kWebhook
  HttpHeaders headers;
  std::string target;  // kStream, kDeliveryStream: the stream's name
  milliseconds timeout = kDefaultTimeout;
  milliseconds retry_for = kDefaultRetryFor;
  milliseconds initial_backoff = kDefaultInitialBackoff;

  // Delivery state, touched only by the delivery thread.
  int64_t delivered_id = 0;  // the last alert delivered or given up on
  int64_t file_size = 0;     // kJsonl: the file's length after that alert
  int attempts = 0;          // failed attempts at the next alert
  SteadyTime next_attempt{};
};

struct AlertsHandler::PendingAlert {
  int64_t id = 0;
  std::string alert_id;  // stable across deliveries: consumer/rule/shard/seq
  std::string line;      // the alert as one JSON object, no newline
  EpochMillis raised_millis = 0;
  std::string partition_key;
};

namespace {

Result<MessageNode> ParseMessage(const json::Value& value,
                                 const std::string& what) {
  MessageNode node;
  if (value.IsString()) {
    Result<Template> text = Template::Parse(json::AsView(value), what);
    if (!text.ok()) return text.status();
    node.kind = MessageNode::Kind::kTemplate;
    node.text = std::move(text).value();
  } else if (value.IsObject()) {
    node.kind = MessageNode::Kind::kObject;
    for (const auto& member : value.GetObject()) {
      const std::string name(json::AsView(member.name));
      Result<MessageNode> child = ParseMessage(member.value, what + "." + name);
      if (!child.ok()) return child.status();
      node.names.push_back(name);
      node.values.push_back(std::move(child).value());
    }
  } else if (value.IsArray()) {
    node.kind = MessageNode::Kind::kArray;
    for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
      Result<MessageNode> child =
          ParseMessage(value[i], what + "[" + std::to_string(i) + "]");
      if (!child.ok()) return child.status();
      node.values.push_back(std::move(child).value());
    }
  } else {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    value.Accept(writer);
    node.literal = std::string(buffer.GetString(), buffer.GetSize());
  }
  return node;
}

// Writes `node` for `record`; a placeholder with no present alternative
// becomes null, so a missing optional field never loses the alert.
void WriteMessage(const MessageNode& node, const RecordContext& record,
                  rapidjson::Writer<rapidjson::StringBuffer>& out) {
  switch (node.kind) {
    case MessageNode::Kind::kTemplate: {
      std::optional<TemplateValue> value = node.text->Evaluate(record, nullptr);
      if (!value) {
        out.Null();
        return;
      }
      switch (value->kind) {
        case TemplateValue::Kind::kText:
          out.String(value->text);
          return;
        case TemplateValue::Kind::kInt:
          out.Int64(value->int_value);
          return;
        case TemplateValue::Kind::kReal:
          out.Double(value->real_value);
          return;
        case TemplateValue::Kind::kBool:
          out.Bool(value->bool_value);
          return;
        case TemplateValue::Kind::kJson:
          out.RawValue(value->text.data(), value->text.size(),
                       rapidjson::kObjectType);
          return;
      }
      return;
    }
    case MessageNode::Kind::kObject:
      out.StartObject();
      for (size_t i = 0; i < node.names.size(); ++i) {
        out.Key(node.names[i].data(),
                static_cast<rapidjson::SizeType>(node.names[i].size()));
        WriteMessage(node.values[i], record, out);
      }
      out.EndObject();
      return;
    case MessageNode::Kind::kArray:
      out.StartArray();
      for (const MessageNode& child : node.values) {
        WriteMessage(child, record, out);
      }
      out.EndArray();
      return;
    case MessageNode::Kind::kLiteral:
      out.RawValue(node.literal.data(), node.literal.size(),
                   rapidjson::kObjectType);
      return;
  }
}

}  // namespace

AlertsHandler::AlertsHandler() = default;

AlertsHandler::~AlertsHandler() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (delivery_thread_.joinable()) delivery_thread_.join();
}

Result<std::unique_ptr<AlertsHandler>> AlertsHandler::Create(
    const HandlerSpec& spec) {
  const json::Value& settings = *spec.settings;
  const std::string what = "consumer " + spec.consumer + " handler";
  if (!settings.IsObject()) return InvalidSetting(what, "must be an object");
  Status known = CheckKnownMembers(
      settings,
      {"type", "database", "synchronous", "table", "rules", "outputs"}, what);
  if (!known.ok()) return known;

  std::unique_ptr<AlertsHandler> handler(new AlertsHandler());
  handler->consumer_ = spec.consumer;
  handler->clock_ = spec.environment->clock != nullptr
                        ? spec.environment->clock
                        : &SystemClock::Instance();
  handler->writer_ = spec.environment->writer;
  Result<std::string> synchronous = ParseSynchronous(settings, what);
  if (!synchronous.ok()) return synchronous.status();
  handler->synchronous_ = *synchronous;
  handler->table_ = "alerts";
  if (const json::Value* table = Member(settings, "table")) {
    if (!table->IsString() || !IsIdentifier(json::AsView(*table)) ||
        json::AsView(*table).substr(0, 7) == "sluice_") {
      return InvalidSetting(what + ".table",
                            "must be a name of letters, digits and '_' "
                            "(not starting with a digit or 'sluice_')");
    }
    handler->table_ = std::string(json::AsView(*table));
  }

  const json::Value* rules = Member(settings, "rules");
  if (rules == nullptr || !rules->IsArray() || rules->Empty()) {
    return InvalidSetting(what + ".rules", "must be a non-empty array");
  }
  std::set<std::string> names;
  for (rapidjson::SizeType i = 0; i < rules->Size(); ++i) {
    const json::Value& rule_json = (*rules)[i];
    const std::string rule_what = what + ".rules[" + std::to_string(i) + "]";
    if (!rule_json.IsObject()) {
      return InvalidSetting(rule_what, "must be an object");
    }
    Status rule_known = CheckKnownMembers(
        rule_json, {"name", "match", "subject", "message"}, rule_what);
    if (!rule_known.ok()) return rule_known;
    Rule rule;
    const json::Value* name = Member(rule_json, "name");
    if (name == nullptr || !name->IsString() ||
        !IsRuleName(json::AsView(*name))) {
      return InvalidSetting(rule_what + ".name",
                            "must be 1 to 64 letters, digits, '_', '-' or "
                            "'.'");
    }
    rule.name = std::string(json::AsView(*name));
    if (!names.insert(rule.name).second) {
      return InvalidSetting(rule_what + ".name",
                            "'" + rule.name + "' names another rule");
    }
    if (Member(rule_json, "match") == nullptr) {
      return InvalidSetting(rule_what + ".match",
                            "is required (an alert on every record is a "
                            "forward, not an alert)");
    }
    Result<Condition> match =
        Condition::Parse(Member(rule_json, "match"), rule_what + ".match");
    if (!match.ok()) return match.status();
    rule.match = std::move(match).value();
    const json::Value* subject = Member(rule_json, "subject");
    Result<Template> subject_template = Template::Parse(
        subject != nullptr && subject->IsString() ? json::AsView(*subject)
                                                  : std::string_view(rule.name),
        rule_what + ".subject");
    if (subject != nullptr && !subject->IsString()) {
      return InvalidSetting(rule_what + ".subject",
                            "must be a template string");
    }
    if (!subject_template.ok()) return subject_template.status();
    rule.subject = std::move(subject_template).value();
    if (const json::Value* message = Member(rule_json, "message")) {
      if (!message->IsObject()) {
        return InvalidSetting(rule_what + ".message",
                              "must be an object whose strings are templates");
      }
      Result<MessageNode> parsed =
          ParseMessage(*message, rule_what + ".message");
      if (!parsed.ok()) return parsed.status();
      rule.message = std::move(parsed).value();
    } else {
      rule.message.kind = MessageNode::Kind::kObject;
    }
    handler->rules_.push_back(std::move(rule));
  }

  Result<std::unique_ptr<HandlerFiles>> files =
      HandlerFiles::Make(*spec.environment);
  if (!files.ok()) return files.status();
  handler->files_ = std::move(files).value();

  if (const json::Value* outputs = Member(settings, "outputs")) {
    if (!outputs->IsArray()) {
      return InvalidSetting(what + ".outputs", "must be an array");
    }
    std::set<std::string> output_names;
    for (rapidjson::SizeType i = 0; i < outputs->Size(); ++i) {
      const json::Value& out_json = (*outputs)[i];
      const std::string out_what = what + ".outputs[" + std::to_string(i) + "]";
      if (!out_json.IsObject()) {
        return InvalidSetting(out_what, "must be an object");
      }
      auto output = std::make_unique<Output>();
      const json::Value* type = Member(out_json, "type");
      const std::string_view kind =
          type != nullptr && type->IsString() ? json::AsView(*type) : "";
      auto string_setting = [&](std::string_view name) -> const json::Value* {
        const json::Value* value = Member(out_json, name);
        return value != nullptr && value->IsString() && value->GetStringLength()
                   ? value
                   : nullptr;
      };
      Status out_known;
      if (kind == "jsonl") {
        output->kind = Output::Kind::kJsonl;
        out_known =
            CheckKnownMembers(out_json,
                              {"type", "name", "path", "retry_for_seconds",
                               "initial_backoff_seconds"},
                              out_what);
        const json::Value* path = string_setting("path");
        if (path == nullptr) {
          return InvalidSetting(out_what + ".path", "is required");
        }
        Result<std::filesystem::path> file =
            handler->files_->Resolve(json::AsView(*path), out_what + ".path");
        if (!file.ok()) return file.status();
        output->file = *file;
      } else if (kind == "webhook") {
        output->kind = Output::Kind::kWebhook;
        out_known = CheckKnownMembers(
            out_json,
            {"type", "name", "url", "headers", "timeout_seconds",
             "retry_for_seconds", "initial_backoff_seconds"},
            out_what);
        const json::Value* url = string_setting("url");
        Result<WebhookUrl> parsed = ParseWebhookUrl(
            url != nullptr ? json::AsView(*url) : "", out_what + ".url");
        if (!parsed.ok()) return parsed.status();
        output->url = *parsed;
        if (const json::Value* headers = Member(out_json, "headers")) {
          if (!headers->IsObject()) {
            return InvalidSetting(out_what + ".headers",
                                  "must be an object of name to string");
          }
          for (const auto& header : headers->GetObject()) {
            if (!header.value.IsString()) {
              return InvalidSetting(out_what + ".headers",
                                    "must be an object of name to string");
            }
            output->headers.emplace_back(json::AsView(header.name),
                                         json::AsView(header.value));
          }
        }
        Result<milliseconds> timeout = ParseSeconds(
            out_json, "timeout_seconds", kDefaultTimeout, 60, out_what);
        if (!timeout.ok()) return timeout.status();
        output->timeout = *timeout;
      } else if (kind == "stream" || kind == "delivery_stream") {
        output->kind = kind == "stream" ? Output::Kind::kStream
                                        : Output::Kind::kDeliveryStream;
        out_known =
            CheckKnownMembers(out_json,
                              {"type", "name", "stream", "retry_for_seconds",
                               "initial_backoff_seconds"},
                              out_what);
        const json::Value* stream = string_setting("stream");
        if (stream == nullptr) {
          return InvalidSetting(out_what + ".stream", "is required");
        }
        output->target = std::string(json::AsView(*stream));
        if (handler->writer_ == nullptr) {
          return InvalidSetting(out_what,
                                "this server gives handlers no stream writer");
        }
      } else {
        return InvalidSetting(out_what + ".type",
                              "must be \"jsonl\", \"webhook\", \"stream\" or "
                              "\"delivery_stream\"");
      }
      if (!out_known.ok()) return out_known;
      Result<milliseconds> retry_for =
          ParseSeconds(out_json, "retry_for_seconds", kDefaultRetryFor,
                       7 * 24 * 3600, out_what);
      if (!retry_for.ok()) return retry_for.status();
      output->retry_for = *retry_for;
      Result<milliseconds> backoff =
          ParseSeconds(out_json, "initial_backoff_seconds",
                       kDefaultInitialBackoff, 60, out_what);
      if (!backoff.ok()) return backoff.status();
      output->initial_backoff = *backoff;
      output->name = std::string(kind);
      if (const json::Value* name = Member(out_json, "name")) {
        if (!name->IsString() || !IsRuleName(json::AsView(*name))) {
          return InvalidSetting(out_what + ".name",
                                "must be 1 to 64 letters, digits, '_', '-' "
                                "or '.'");
        }
        output->name = std::string(json::AsView(*name));
      }
      if (!output_names.insert(output->name).second) {
        return InvalidSetting(out_what + ".name",
                              "two outputs are named '" + output->name +
                                  "'; give each a distinct \"name\"");
      }
      handler->outputs_.push_back(std::move(output));
    }
  }

  std::string database = "alerts/" + spec.consumer + ".db";
  if (const json::Value* path = Member(settings, "database")) {
    if (!path->IsString()) {
      return InvalidSetting(what + ".database", "must be a relative path");
    }
    database = std::string(json::AsView(*path));
  }
  Result<std::filesystem::path> resolved =
      handler->files_->Resolve(database, what + ".database");
  if (!resolved.ok()) return resolved.status();
  handler->path_ = *resolved;
  Status opened = handler->OpenDatabase();
  if (!opened.ok()) return opened;
  SLUICE_LOG(kInfo) << "consumer " << spec.consumer << ": alerts in "
                    << handler->path_.string() << " table " << handler->table_;
  if (!handler->outputs_.empty()) {
    handler->delivery_thread_ =
        std::thread([raw = handler.get()] { raw->DeliveryLoop(); });
  }
  return handler;
}

Status AlertsHandler::OpenDatabase() {
  Result<Database> db = OpenHandlerDatabase(path_, synchronous_);
  if (!db.ok()) return db.status();
  db_ = std::move(db).value();
  const std::string table = "\"" + table_ + "\"";
  // AUTOINCREMENT: ids are never reused, so an output's "delivered up to id"
  // stays true even if alerts are deleted by hand.
  Status tables = db_.Exec(
      "create alerts tables",
      "CREATE TABLE IF NOT EXISTS " + table +
          " (id INTEGER PRIMARY KEY AUTOINCREMENT,"
          " consumer TEXT NOT NULL, rule TEXT NOT NULL, subject TEXT NOT NULL,"
          " message TEXT NOT NULL, raised_at TEXT NOT NULL,"
          " raised_millis INTEGER NOT NULL, stream_arn TEXT NOT NULL,"
          " shard_id TEXT NOT NULL, sequence_number TEXT NOT NULL,"
          " partition_key TEXT NOT NULL, arrival_time TEXT NOT NULL,"
          " UNIQUE (consumer, rule, shard_id, sequence_number));"
          "CREATE TABLE IF NOT EXISTS sluice_alert_outputs ("
          " consumer TEXT NOT NULL, output TEXT NOT NULL,"
          " delivered_id INTEGER NOT NULL, file_size INTEGER NOT NULL,"
          " PRIMARY KEY (consumer, output)) WITHOUT ROWID;"
          "CREATE TABLE IF NOT EXISTS sluice_alert_undelivered ("
          " consumer TEXT NOT NULL, output TEXT NOT NULL,"
          " alert_id INTEGER NOT NULL, attempts INTEGER NOT NULL,"
          " last_error TEXT NOT NULL, given_up_at TEXT NOT NULL,"
          " PRIMARY KEY (consumer, output, alert_id)) WITHOUT ROWID;");
  if (!tables.ok()) return tables;
  Result<Statement> insert = db_.Prepare(
      "record alert",
      "INSERT OR IGNORE INTO " + table +
          " (consumer, rule, subject, message, raised_at, raised_millis,"
          " stream_arn, shard_id, sequence_number, partition_key,"
          " arrival_time) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
          " ?11)");
  if (!insert.ok()) return insert.status();
  insert_ = std::move(insert).value();

  // Each output resumes where it stopped; a new one starts after the alerts
  // already recorded (and, for a JSONL file, after what the file holds).
  for (auto& output : outputs_) {
    int64_t file_size = 0;
    if (output->kind == Output::Kind::kJsonl) {
      std::error_code error;
      const auto size = std::filesystem::file_size(output->file, error);
      if (!error) file_size = static_cast<int64_t>(size);
    }
    Result<Statement> add = db_.Prepare(
        "add alert output",
        "INSERT OR IGNORE INTO sluice_alert_outputs (consumer, output,"
        " delivered_id, file_size) VALUES (?1, ?2, (SELECT coalesce(max(id),"
        " 0) FROM " +
            table + " WHERE consumer = ?1), ?3)");
    if (!add.ok()) return add.status();
    add->BindText(1, consumer_);
    add->BindText(2, output->name);
    add->BindInt(3, file_size);
    Status added = add->Run();
    if (!added.ok()) return added;
    Result<Statement> read =
        db_.Prepare("read alert output",
                    "SELECT delivered_id, file_size FROM sluice_alert_outputs"
                    " WHERE consumer = ?1 AND output = ?2");
    if (!read.ok()) return read.status();
    read->BindText(1, consumer_);
    read->BindText(2, output->name);
    Result<bool> row = read->Step();
    if (!row.ok()) return row.status();
    if (!*row) return Internal("alert output " + output->name + " vanished");
    output->delivered_id = read->ColumnInt(0);
    output->file_size = read->ColumnInt(1);
  }
  if (!outputs_.empty()) {
    Result<Database> delivery = OpenHandlerDatabase(path_, synchronous_);
    if (!delivery.ok()) return delivery.status();
    delivery_db_ = std::move(delivery).value();
  }
  return Status::Ok();
}

HandlerResult AlertsHandler::Handle(const Batch& batch) {
  struct NewAlert {
    const Rule* rule;
    const ConsumerRecord* record;
    std::string subject;
    std::string message;
  };
  std::vector<NewAlert> alerts;
  RecordParser parser;
  for (const ConsumerRecord& record : batch.records) {
    const json::Value* json = parser.Parse(record.data);
    if (json == nullptr) continue;  // not JSON: no rule can match it
    const RecordContext context{*json, record, batch.shard_id};
    for (const Rule& rule : rules_) {
      if (!rule.match.Matches(*json)) continue;
      NewAlert alert{&rule, &record, {}, {}};
      // A subject placeholder with nothing present is left out.
      std::string_view missing;
      if (!rule.subject.Expand(context, alert.subject, &missing)) {
        alert.subject += "?";
      }
      rapidjson::StringBuffer buffer;
      rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
      WriteMessage(rule.message, context, writer);
      alert.message = std::string(buffer.GetString(), buffer.GetSize());
      alerts.push_back(std::move(alert));
    }
  }
  if (alerts.empty()) return HandlerResult::Success();

  const EpochMillis now = clock_->NowMillis();
  const std::string raised_at = FormatIsoMillis(now);
  int64_t recorded = 0;
  {
    std::lock_guard lock(write_mu_);
    Result<Transaction> transaction = Transaction::Begin(db_, "record alerts");
    if (!transaction.ok()) {
      return HandlerResult::FunctionError(transaction.status().message());
    }
    for (const NewAlert& alert : alerts) {
      StatementUse insert(insert_);
      insert->BindText(1, consumer_);
      insert->BindText(2, alert.rule->name);
      insert->BindText(3, alert.subject);
      insert->BindText(4, alert.message);
      insert->BindText(5, raised_at);
      insert->BindInt(6, now);
      insert->BindText(7, batch.stream_arn);
      insert->BindText(8, batch.shard_id);
      insert->BindText(9, alert.record->sequence_number);
      insert->BindText(10, alert.record->partition_key);
      insert->BindText(11, FormatIsoMillis(alert.record->arrival_millis));
      Status ran = insert->Run();
      if (!ran.ok()) return HandlerResult::FunctionError(ran.message());
      recorded += db_.Changes();  // 0 for an alert raised before
    }
    Status committed = transaction->Commit();
    if (!committed.ok())
      return HandlerResult::FunctionError(committed.message());
  }
  if (recorded > 0) {
    std::lock_guard lock(mu_);
    raised_ += static_cast<uint64_t>(recorded);
  }
  wake_.notify_all();
  return HandlerResult::Success();
}

bool AlertsHandler::WaitForDeliveries(milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (outputs_.empty()) return true;
  return wake_.wait_for(lock, timeout, [this] {
    return caught_up_ && raised_at_pass_ == raised_;
  });
}

void AlertsHandler::DeliveryLoop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    const uint64_t raised = raised_;
    lock.unlock();
    const milliseconds wait = DeliverDue();
    lock.lock();
    caught_up_ = wait == kNoWait;
    raised_at_pass_ = raised;
    ++passes_;
    wake_.notify_all();
    if (raised_ != raised) continue;  // alerts came in during the pass
    auto woken = [&] { return stop_ || raised_ != raised; };
    if (wait == kNoWait) {
      wake_.wait(lock, woken);
    } else {
      wake_.wait_for(lock, wait, woken);
    }
  }
}

milliseconds AlertsHandler::DeliverDue() {
  milliseconds wait = kNoWait;
  for (auto& output : outputs_) {
    {
      std::lock_guard lock(mu_);
      if (stop_) return wait;
    }
    const SteadyTime now = std::chrono::steady_clock::now();
    if (now < output->next_attempt) {
      wait = std::min(wait, std::chrono::duration_cast<milliseconds>(
                                output->next_attempt - now) +
                                milliseconds(1));
      continue;
    }
    bool caught_up = false;
    Status delivered = DeliverTo(*output, caught_up);
    if (!delivered.ok()) {
      // The ledger itself failed (disk full?); try again shortly.
      SLUICE_LOG(kWarn) << "consumer " << consumer_ << " alert output "
                        << output->name << ": " << delivered.message();
      output->next_attempt = now + output->initial_backoff;
    }
    if (!caught_up) {
      const SteadyTime after = std::chrono::steady_clock::now();
      wait = std::min(wait, output->next_attempt > after
                                ? std::chrono::duration_cast<milliseconds>(
                                      output->next_attempt - after) +
                                      milliseconds(1)
                                : milliseconds(0));
    }
  }
  return wait;
}

Status AlertsHandler::DeliverTo(Output& output, bool& caught_up) {
  const std::string table = "\"" + table_ + "\"";
  Result<Statement> pending = delivery_db_.Prepare(
      "read pending alerts",
      "SELECT id, rule, subject, message, raised_at, raised_millis,"
      " stream_arn, shard_id, sequence_number, partition_key, arrival_time"
      " FROM " +
          table + " WHERE consumer = ?1 AND id > ?2 ORDER BY id LIMIT " +
          std::to_string(kDeliveryChunk));
  if (!pending.ok()) return pending.status();
  Result<Statement> mark = delivery_db_.Prepare(
      "mark alerts delivered",
      "UPDATE sluice_alert_outputs SET delivered_id = ?3, file_size = ?4"
      " WHERE consumer = ?1 AND output = ?2");
  if (!mark.ok()) return mark.status();
  Result<Statement> undelivered = delivery_db_.Prepare(
      "record undelivered alert",
      "INSERT OR REPLACE INTO sluice_alert_undelivered (consumer, output,"
      " alert_id, attempts, last_error, given_up_at)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!undelivered.ok()) return undelivered.status();

  auto save_mark = [&](int64_t id, int64_t file_size) -> Status {
    StatementUse use(*mark);
    use->BindText(1, consumer_);
    use->BindText(2, output.name);
    use->BindInt(3, id);
    use->BindInt(4, file_size);
    Status ran = use->Run();
    if (!ran.ok()) return ran;
    output.delivered_id = id;
    output.file_size = file_size;
    output.attempts = 0;
    return Status::Ok();
  };
  // After a failed attempt at `alert`: back off, or give up on it once its
  // bound has passed.
  auto failed = [&](const PendingAlert& alert, const Status& why,
                    int64_t last_id, int64_t file_size) -> Status {
    ++output.attempts;
    const EpochMillis age = clock_->NowMillis() - alert.raised_millis;
    if (age < output.retry_for.count()) {
      milliseconds backoff = output.initial_backoff;
      for (int i = 1; i < output.attempts && backoff < kMaxBackoff; ++i) {
        backoff *= 2;
      }
      output.next_attempt =
          std::chrono::steady_clock::now() + std::min(backoff, kMaxBackoff);
      SLUICE_LOG(kInfo) << "consumer " << consumer_ << " alert output "
                        << output.name << ": attempt " << output.attempts
                        << " failed, retrying in "
                        << std::min(backoff, kMaxBackoff).count()
                        << " ms: " << why.message();
      return Status::Ok();
    }
    SLUICE_LOG(kWarn) << "consumer " << consumer_ << " alert output "
                      << output.name << ": giving up on alert " << alert.id
                      << " after " << output.attempts
                      << " attempts: " << why.message();
    Result<Transaction> transaction =
        Transaction::Begin(delivery_db_, "give up on alerts");
    if (!transaction.ok()) return transaction.status();
    Result<Statement> ids = delivery_db_.Prepare(
        "list given up alerts",
        "SELECT id FROM " + table +
            " WHERE consumer = ?1 AND id > ?2 AND id <= ?3 ORDER BY id");
    if (!ids.ok()) return ids.status();
    ids->BindText(1, consumer_);
    ids->BindInt(2, output.delivered_id);
    ids->BindInt(3, last_id);
    const int attempts = output.attempts;
    while (true) {
      Result<bool> row = ids->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      StatementUse use(*undelivered);
      use->BindText(1, consumer_);
      use->BindText(2, output.name);
      use->BindInt(3, ids->ColumnInt(0));
      use->BindInt(4, attempts);
      use->BindText(5, why.message());
      use->BindText(6, FormatIsoMillis(clock_->NowMillis()));
      Status ran = use->Run();
      if (!ran.ok()) return ran;
    }
    ids->Reset();
    Status saved = save_mark(last_id, file_size);
    if (!saved.ok()) return saved;
    return transaction->Commit();
  };

  while (true) {
    std::vector<PendingAlert> alerts;
    {
      StatementUse use(*pending);
      use->BindText(1, consumer_);
      use->BindInt(2, output.delivered_id);
      while (true) {
        Result<bool> row = use->Step();
        if (!row.ok()) return row.status();
        if (!*row) break;
        PendingAlert alert;
        alert.id = use->ColumnInt(0);
        alert.raised_millis = use->ColumnInt(5);
        alert.partition_key = use->ColumnText(9);
        rapidjson::StringBuffer buffer;
        rapidjson::Writer<rapidjson::StringBuffer> out(buffer);
        const std::string rule = use->ColumnText(1);
        const std::string shard_id = use->ColumnText(7);
        const std::string sequence_number = use->ColumnText(8);
        out.StartObject();
        alert.alert_id =
            consumer_ + "/" + rule + "/" + shard_id + "/" + sequence_number;
        out.Key("alert_id");
        out.String(alert.alert_id);
        out.Key("rule");
        out.String(rule);
        out.Key("subject");
        out.String(use->ColumnText(2));
        out.Key("message");
        const std::string message = use->ColumnText(3);
        out.RawValue(message.data(), message.size(), rapidjson::kObjectType);
        out.Key("time");
        out.String(use->ColumnText(4));
        out.Key("consumer");
        out.String(consumer_);
        out.Key("stream_arn");
        out.String(use->ColumnText(6));
        out.Key("shard_id");
        out.String(shard_id);
        out.Key("sequence_number");
        out.String(sequence_number);
        out.Key("partition_key");
        out.String(alert.partition_key);
        out.Key("arrival_time");
        out.String(use->ColumnText(10));
        out.EndObject();
        alert.line = std::string(buffer.GetString(), buffer.GetSize());
        alerts.push_back(std::move(alert));
      }
    }
    if (alerts.empty()) {
      caught_up = true;
      return Status::Ok();
    }
    if (output.kind == Output::Kind::kJsonl) {
      Status written = DeliverJsonl(output, alerts);
      if (!written.ok()) {
        return failed(alerts.front(), written, alerts.back().id,
                      output.file_size);
      }
      continue;
    }
    for (const PendingAlert& alert : alerts) {
      {
        std::lock_guard lock(mu_);
        if (stop_) return Status::Ok();
      }
      Status sent = DeliverOne(output, alert);
      if (!sent.ok()) {
        Status handled = failed(alert, sent, alert.id, 0);
        if (!handled.ok()) return handled;
        if (output.attempts > 0) return Status::Ok();  // backing off
        continue;                                      // gave up; next one
      }
      Status saved = save_mark(alert.id, 0);
      if (!saved.ok()) return saved;
    }
  }
}

Status AlertsHandler::DeliverJsonl(Output& output,
                                   const std::vector<PendingAlert>& alerts) {
  const std::string path = output.file.string();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Internal("open " + path + ": " + std::strerror(errno));
  }
  struct stat info {};
  Status status;
  if (::fstat(fd, &info) != 0) {
    status = Internal("stat " + path + ": " + std::strerror(errno));
  } else {
    if (info.st_size > output.file_size) {
      // Lines of alerts written before a crash that came before their
      // mark: they are in `alerts` again, so cut them off.
      if (::ftruncate(fd, output.file_size) != 0) {
        status = Internal("truncate " + path + ": " + std::strerror(errno));
      }
    } else if (info.st_size < output.file_size) {
      SLUICE_LOG(kWarn) << "consumer " << consumer_ << ": " << path
                        << " is shorter than Sluice wrote it (rotated?); "
                           "appending at its end";
      output.file_size = info.st_size;
    }
  }
  std::string lines;
  for (const PendingAlert& alert : alerts) {
    lines += alert.line;
    lines += '\n';
  }
  if (status.ok() && ::lseek(fd, output.file_size, SEEK_SET) < 0) {
    status = Internal("seek " + path + ": " + std::strerror(errno));
  }
  if (status.ok() && !WriteAll(fd, lines)) {
    status = Internal("write " + path + ": " + std::strerror(errno));
  }
  if (status.ok() && ::fsync(fd) != 0) {
    status = Internal("fsync " + path + ": " + std::strerror(errno));
  }
  ::close(fd);
  if (!status.ok()) return status;
  Result<Statement> mark = delivery_db_.Prepare(
      "mark alerts delivered",
      "UPDATE sluice_alert_outputs SET delivered_id = ?3, file_size = ?4"
      " WHERE consumer = ?1 AND output = ?2");
  if (!mark.ok()) return mark.status();
  const int64_t size = output.file_size + static_cast<int64_t>(lines.size());
  mark->BindText(1, consumer_);
  mark->BindText(2, output.name);
  mark->BindInt(3, alerts.back().id);
  mark->BindInt(4, size);
  Status ran = mark->Run();
  if (!ran.ok()) return ran;
  output.delivered_id = alerts.back().id;
  output.file_size = size;
  output.attempts = 0;
  return Status::Ok();
}

Status AlertsHandler::DeliverOne(Output& output, const PendingAlert& alert) {
  switch (output.kind) {
    case Output::Kind::kWebhook: {
      HttpHeaders headers = output.headers;
      // Lets a receiver drop the rare duplicate after a crash.
      headers.emplace_back("X-Sluice-Alert-Id", alert.alert_id);
      return PostJson(output.url, headers, alert.line, output.timeout);
    }
    case Output::Kind::kStream: {
      Result<std::string> put =
          writer_->PutToStream(output.target, alert.partition_key, alert.line);
      return put.ok() ? Status::Ok() : put.status();
    }
    case Output::Kind::kDeliveryStream: {
      Result<std::string> put =
          writer_->PutToDeliveryStream(output.target, alert.line + "\n");
      return put.ok() ? Status::Ok() : put.status();
    }
    case Output::Kind::kJsonl:
      break;
  }
  return Internal("JSONL outputs deliver in chunks");
}

}  // namespace sluice::consumers
