#include "server/firehose/delivery_batch.h"

#include <algorithm>

#include "common/json_codec.h"
#include "common/kpl_aggregation.h"
#include "common/uuid.h"
#include "server/firehose/object_writer.h"
#include "server/firehose/s3_key.h"

namespace sluice::firehose {
namespace {

// Records and bytes read from a log at a time.
constexpr size_t kReadRecords = 10000;
constexpr size_t kReadBytes = 16u << 20;

}  // namespace

Result<DeliveryRange> ReadDeliveryRecords(storage::ShardLog& log, uint64_t from,
                                          uint64_t to, bool deaggregate) {
  DeliveryRange range;
  uint64_t at = from;
  while (at < to) {
    auto read =
        log.Read(at, std::min<uint64_t>(to - at, kReadRecords), kReadBytes);
    if (!read.ok()) return read.status();
    if (read->records.empty() || read->records.front().offset != at) {
      return Status(ErrorCode::kInternalFailure,
                    "delivery stream log lost record " + std::to_string(at) +
                        " before it was delivered");
    }
    for (storage::StoredRecord& record : read->records) {
      if (record.offset >= to) break;
      at = record.offset + 1;
      range.log_bytes += record.data.size();
      auto users = deaggregate ? kpl::Deaggregate(record.data) : std::nullopt;
      if (!users) {
        range.records.push_back({record.offset,
                                 record.arrival_millis,
                                 std::move(record.partition_key),
                                 std::move(record.data),
                                 std::nullopt,
                                 {}});
        continue;
      }
      for (size_t i = 0; i < users->size(); ++i) {
        kpl::UserRecord& user = (*users)[i];
        range.records.push_back({record.offset, record.arrival_millis,
                                 record.partition_key, std::move(user.data),
                                 static_cast<uint32_t>(i),
                                 std::move(user.partition_key)});
      }
    }
  }
  return range;
}

std::string ErrorRecordDocuments(std::span<const ErrorRecord> records) {
  std::string out;
  for (const ErrorRecord& record : records) {
    std::unique_ptr<Encoder> doc = NewJsonEncoder();
    doc->StartObject();
    doc->Key("attemptsMade");
    doc->Int(record.attempts_made);
    doc->Key("arrivalTimestamp");
    doc->Int(record.arrival);
    doc->Key("errorCode");
    doc->String(record.error_code);
    doc->Key("errorMessage");
    doc->String(record.error_message);
    doc->Key("attemptEndingTimestamp");
    doc->Int(record.attempt_ending);
    doc->Key("rawData");
    doc->Blob(record.raw_data);
    if (record.lambda_arn) {
      doc->Key("lambdaArn");
      doc->String(*record.lambda_arn);
    }
    doc->EndObject();
    out += doc->Take();
    out += '\n';
  }
  return out;
}

Result<std::string> ErrorObjectKey(const S3Destination& destination,
                                   std::string_view error_output_type,
                                   std::string_view stream_name,
                                   int64_t version_id,
                                   EpochMillis first_arrival) {
  KeyContext context{first_arrival, nullptr};
  auto prefix = EvaluateErrorPrefix(
      destination.prefix.value_or(""),
      destination.error_output_prefix.value_or(""), error_output_type, context);
  if (!prefix.ok()) return prefix.status();
  return *prefix + ObjectName(stream_name, version_id, first_arrival, NewUuid(),
                              destination.Extension());
}

Status WriteArchiveObject(const std::filesystem::path& bucket_dir,
                          const S3Destination& destination,
                          std::string_view key, std::string body,
                          storage::FileOps& ops) {
  return WriteCompressedObject(ObjectPath(bucket_dir, key),
                               destination.compression, key, std::move(body),
                               ops);
}

}  // namespace sluice::firehose
