// Helpers shared by the handler unit tests: batches of records as the
// consumer runtime hands them over, handler specs from JSON text, and reads
// of a handler's SQLite database.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/json.h"
#include "common/sequence_number.h"
#include "server/catalog/sqlite.h"
#include "server/consumers/handler.h"

namespace sluice::consumers::test {

// 2026-12-02T07:05:09.042Z
inline constexpr EpochMillis kArrival = 1796195109042;
inline constexpr uint64_t kShardCreated = 1796190000;

inline ConsumerRecord MakeRecord(uint64_t offset, std::string data,
                                 EpochMillis arrival = kArrival,
                                 std::string partition_key = "pk",
                                 uint64_t shard_created = kShardCreated) {
  ConsumerRecord record;
  record.offset = offset;
  record.sequence_number = EncodeSequenceNumber(SequenceNumberParts{
      shard_created, 0, offset, static_cast<uint64_t>(arrival / 1000)});
  record.partition_key = std::move(partition_key);
  record.data = std::move(data);
  record.arrival_millis = arrival;
  return record;
}

// Records `datas` at offsets first, first + 1, ... of shardId-000000000000.
inline Batch MakeBatch(const std::vector<std::string>& datas,
                       uint64_t first = 0, EpochMillis arrival = kArrival) {
  Batch batch;
  batch.consumer = "shop";
  batch.stream_arn = "arn:aws:kinesis:us-east-1:000000000000:stream/events";
  batch.shard_id = "shardId-000000000000";
  for (size_t i = 0; i < datas.size(); ++i) {
    batch.records.push_back(MakeRecord(first + i, datas[i], arrival));
  }
  return batch;
}

// Records every put; refuses the put numbered `refuse_at` (from 0) as
// Kinesis refuses a throttled one.
class RecordingWriter : public StreamWriter {
 public:
  Result<std::string> PutToStream(std::string_view stream,
                                  std::string_view partition_key,
                                  std::string_view data) override {
    std::lock_guard lock(mu_);
    if (attempts_++ == refuse_at_) {
      return Status(ErrorCode::kProvisionedThroughputExceeded,
                    "Rate exceeded for shard");
    }
    puts_.push_back(std::string(stream) + " " + std::string(partition_key) +
                    " " + std::string(data));
    return std::string("4960");
  }
  Result<std::string> PutToDeliveryStream(std::string_view delivery_stream,
                                          std::string_view data) override {
    std::lock_guard lock(mu_);
    if (attempts_++ == refuse_at_) {
      return Status(ErrorCode::kServiceUnavailable, "Slow down.");
    }
    puts_.push_back("firehose " + std::string(delivery_stream) + " " +
                    std::string(data));
    return std::string("record-id");
  }
  std::vector<std::string> puts() {
    std::lock_guard lock(mu_);
    return puts_;
  }
  void RefuseAt(int attempt) {
    std::lock_guard lock(mu_);
    attempts_ = 0;
    refuse_at_ = attempt;
  }

 private:
  std::mutex mu_;
  int attempts_ = 0;
  int refuse_at_ = -1;
  std::vector<std::string> puts_;
};

// Keeps a settings document alive with the spec that points into it.
struct SpecHolder {
  json::Document settings;
  HandlerEnvironment environment;
  HandlerSpec spec;
};

inline std::unique_ptr<SpecHolder> MakeSpec(std::string_view type,
                                            std::string_view settings,
                                            const std::string& data_dir,
                                            const Clock* clock) {
  auto holder = std::make_unique<SpecHolder>();
  holder->settings.Parse(settings.data(), settings.size());
  EXPECT_FALSE(holder->settings.HasParseError()) << settings;
  holder->environment.clock = clock;
  holder->environment.data_dir = data_dir;
  holder->environment.region = "us-east-1";
  holder->environment.account_id = "000000000000";
  holder->spec = HandlerSpec{"shop", std::string(type), &holder->settings,
                             &holder->environment};
  return holder;
}

// Every row of `sql` as "col=value|col=value" strings (NULL as "NULL").
inline std::vector<std::string> Rows(const std::string& database,
                                     const std::string& sql) {
  std::vector<std::string> rows;
  Result<catalog::Database> db = catalog::Database::Open(database);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  if (!db.ok()) return rows;
  Result<catalog::Statement> select = db->Prepare("test query", sql);
  EXPECT_TRUE(select.ok()) << select.status().ToString();
  if (!select.ok()) return rows;
  while (true) {
    Result<bool> row = select->Step();
    EXPECT_TRUE(row.ok()) << row.status().ToString();
    if (!row.ok() || !*row) break;
    std::string text;
    for (int c = 0; c < select->ColumnCount(); ++c) {
      if (c > 0) text += '|';
      text += select->ColumnName(c) + "=";
      text += select->TypeOf(c) == catalog::Statement::ColumnType::kNull
                  ? "NULL"
                  : select->ColumnText(c);
    }
    rows.push_back(std::move(text));
  }
  return rows;
}

}  // namespace sluice::consumers::test
