// Stream and account settings: retention, capacity mode, maximum record size,
// warm throughput, DescribeLimits and the account's billing commitment.
#include "server/kinesis/kinesis_api.h"
#include "server/model/service_model.h"

namespace sluice::kinesis {
namespace {

inline constexpr int kMinRetentionHours = 24;
inline constexpr int kMaxRetentionHours = 8760;  // 365 days
// On-demand streams per account and region.
inline constexpr uint32_t kOnDemandStreamCountLimit = 50;
// An on-demand stream scales to at most 10 GiB/s.
inline constexpr int64_t kMaxWarmThroughputMiBps = 10240;

// The retention bounds AWS checks itself; the model gives the member no
// range.
Status CheckRetentionRange(int64_t hours) {
  if (hours < kMinRetentionHours) {
    return Status(ErrorCode::kInvalidArgument,
                  "Minimum allowed retention period is 24 hours. Requested "
                  "retention period (" +
                      std::to_string(hours) + " hours) is too short.");
  }
  if (hours > kMaxRetentionHours) {
    return Status(ErrorCode::kInvalidArgument,
                  "Maximum allowed retention period is 8760 hours. Requested "
                  "retention period (" +
                      std::to_string(hours) + " hours) is too long.");
  }
  return Status::Ok();
}

Status CheckActive(const catalog::StreamRecord& stream) {
  if (stream.status != catalog::StreamStatus::kActive)
    return StreamNotActive(stream);
  return Status::Ok();
}

void WriteWarmThroughput(Encoder& out, const LiveStream& stream) {
  out.Key("WarmThroughput");
  out.StartObject();
  if (stream.warm_target_mibps) {
    out.Key("TargetMiBps");
    out.Int(*stream.warm_target_mibps);
  }
  if (stream.warm_current_mibps) {
    out.Key("CurrentMiBps");
    out.Int(*stream.warm_current_mibps);
  }
  out.EndObject();
}

void WriteCommitment(Encoder& out, const BillingCommitment& commitment) {
  out.StartObject();
  out.Key("MinimumThroughputBillingCommitment");
  out.StartObject();
  out.Key("Status");
  out.String(ToString(commitment.status));
  if (commitment.started_at) {
    out.Key("StartedAt");
    out.Timestamp(*commitment.started_at);
  }
  if (commitment.ended_at) {
    out.Key("EndedAt");
    out.Timestamp(*commitment.ended_at);
  }
  if (commitment.earliest_allowed_end_at) {
    out.Key("EarliestAllowedEndAt");
    out.Timestamp(*commitment.earliest_allowed_end_at);
  }
  out.EndObject();
  out.EndObject();
}

Status CommitmentRequired(const std::string& account_id) {
  return Status(ErrorCode::kInvalidArgument,
                "Warm throughput requires MinimumThroughputBillingCommitment "
                "to be enabled for account " +
                    account_id + ".");
}

}  // namespace

Status KinesisApi::ChangeRetention(const Context& context,
                                   const json::Value& input, bool increase) {
  auto key = ResolveStream(context, input);
  if (!key.ok()) return key.status();
  int64_t hours = model::GetInteger(input, "RetentionPeriodHours").value_or(0);
  Status changed = streams_.UpdateStream(
      *key, /*through_updating=*/true,
      [&](catalog::StreamRecord& stream) -> Status {
        if (Status s = CheckRetentionRange(hours); !s.ok()) return s;
        if (Status s = CheckActive(stream); !s.ok()) return s;
        std::string requested = "Requested retention period (" +
                                std::to_string(hours) + " hours) for stream " +
                                stream.name;
        std::string existing = " existing retention period (" +
                               std::to_string(stream.retention_hours) +
                               " hours).";
        if (increase && hours < stream.retention_hours) {
          return Status(ErrorCode::kInvalidArgument,
                        requested + " can not be shorter than" + existing +
                            " Use DecreaseRetentionPeriod API.");
        }
        if (!increase && hours > stream.retention_hours) {
          return Status(ErrorCode::kInvalidArgument,
                        requested + " can not be longer than" + existing +
                            " Use IncreaseRetentionPeriod API.");
        }
        stream.retention_hours = static_cast<int>(hours);
        return Status::Ok();
      });
  if (!changed.ok()) return changed;
  // Data older than the new period is gone at once, not at the next
  // maintenance run.
  if (!increase) return streams_.ApplyRetention(*key);
  return Status::Ok();
}

Status KinesisApi::IncreaseStreamRetentionPeriod(const Context& context,
                                                 const json::Value& input,
                                                 Encoder& /*output*/) {
  return ChangeRetention(context, input, /*increase=*/true);
}

Status KinesisApi::DecreaseStreamRetentionPeriod(const Context& context,
                                                 const json::Value& input,
                                                 Encoder& /*output*/) {
  return ChangeRetention(context, input, /*increase=*/false);
}

Status KinesisApi::UpdateStreamMode(const Context& context,
                                    const json::Value& input,
                                    Encoder& /*output*/) {
  auto key = ResolveStream(context, input);
  if (!key.ok()) return key.status();
  auto details = input.FindMember("StreamModeDetails");
  // The model has checked that StreamModeDetails.StreamMode is there.
  std::optional<catalog::StreamMode> target = catalog::ParseStreamMode(
      details != input.MemberEnd() && details->value.IsObject()
          ? model::GetString(details->value, "StreamMode").value_or("")
          : "");
  if (!target) {
    return Status(ErrorCode::kInvalidArgument, "StreamMode must be provided.");
  }
  std::optional<int64_t> warm = model::GetInteger(input, "WarmThroughputMiBps");
  bool on_demand = *target == catalog::StreamMode::kOnDemand;
  if (warm && !on_demand) {
    return Status(ErrorCode::kInvalidArgument,
                  "WarmThroughputMiBps can only be specified when updating the "
                  "stream mode to ON_DEMAND.");
  }
  auto stream = streams_.Find(*key);
  if (!stream.ok()) return stream.status();
  if (warm) {
    if (*warm > kMaxWarmThroughputMiBps) {
      return Status(ErrorCode::kInvalidArgument,
                    "WarmThroughputMiBps " + std::to_string(*warm) +
                        " exceeds the maximum of " +
                        std::to_string(kMaxWarmThroughputMiBps) + " MiBps.");
    }
    if (!account_settings_
             .Get(key->account_id, key->region, streams_.clock().NowMillis())
             .Active()) {
      return CommitmentRequired(key->account_id);
    }
  }
  if (on_demand && streams_.OnDemandStreamCount(key->account_id, key->region) >=
                       kOnDemandStreamCountLimit) {
    return Status(ErrorCode::kLimitExceeded,
                  "Account " + key->account_id + " in " + key->region +
                      " already has " +
                      std::to_string(kOnDemandStreamCountLimit) +
                      " on-demand streams, the most allowed.");
  }
  Status changed = streams_.UpdateStream(
      *key, /*through_updating=*/true,
      [&](catalog::StreamRecord& record) -> Status {
        if (Status s = CheckActive(record); !s.ok()) return s;
        if (record.mode == *target) {
          return Status(ErrorCode::kInvalidArgument,
                        "Stream " + record.name + " under account " +
                            record.account_id + " is already in " +
                            std::string(catalog::ToString(*target)) + " mode.");
        }
        record.mode = *target;
        return Status::Ok();
      });
  if (!changed.ok()) return changed;
  // Warm throughput exists only on on-demand streams.
  LiveStream& live = **stream;
  std::unique_lock lock(live.mu);
  live.warm_target_mibps = warm;
  if (!on_demand || live.record.status == catalog::StreamStatus::kActive) {
    live.warm_current_mibps = live.warm_target_mibps;
  }
  return Status::Ok();
}

Status KinesisApi::UpdateMaxRecordSize(const Context& context,
                                       const json::Value& input,
                                       Encoder& /*output*/) {
  auto key = ResolveStream(context, input);
  if (!key.ok()) return key.status();
  // The model has checked 1024..10240.
  int64_t kib = model::GetInteger(input, "MaxRecordSizeInKiB").value_or(1024);
  return streams_.UpdateStream(*key, /*through_updating=*/false,
                               [&](catalog::StreamRecord& stream) -> Status {
                                 if (Status s = CheckActive(stream); !s.ok())
                                   return s;
                                 stream.max_record_size_kib =
                                     static_cast<int>(kib);
                                 return Status::Ok();
                               });
}

Status KinesisApi::UpdateStreamWarmThroughput(const Context& context,
                                              const json::Value& input,
                                              Encoder& output) {
  auto key = ResolveStream(context, input);
  if (!key.ok()) return key.status();
  int64_t mibps = model::GetInteger(input, "WarmThroughputMiBps").value_or(0);
  auto stream = streams_.Find(*key);
  if (!stream.ok()) return stream.status();
  if (mibps > kMaxWarmThroughputMiBps) {
    return Status(ErrorCode::kInvalidArgument,
                  "WarmThroughputMiBps " + std::to_string(mibps) +
                      " exceeds the maximum of " +
                      std::to_string(kMaxWarmThroughputMiBps) + " MiBps.");
  }
  bool committed =
      account_settings_
          .Get(key->account_id, key->region, streams_.clock().NowMillis())
          .Active();
  Status changed = streams_.UpdateStream(
      *key, /*through_updating=*/true,
      [&](catalog::StreamRecord& record) -> Status {
        if (Status s = CheckActive(record); !s.ok()) return s;
        // Provisioned streams have no warm throughput, whatever the account.
        if (record.mode != catalog::StreamMode::kOnDemand) {
          return Status(ErrorCode::kValidation,
                        "Request is invalid. Stream " + record.name +
                            " under account " + record.account_id +
                            " is in Provisioned mode.");
        }
        if (!committed) return CommitmentRequired(record.account_id);
        return Status::Ok();
      });
  if (!changed.ok()) return changed;

  LiveStream& live = **stream;
  std::unique_lock lock(live.mu);
  live.warm_target_mibps = mibps;
  // With no update delay the stream is ACTIVE again already: scaled.
  if (live.record.status == catalog::StreamStatus::kActive) {
    live.warm_current_mibps = mibps;
  }
  output.StartObject();
  output.Key("StreamARN");
  output.String(live.record.Arn());
  output.Key("StreamName");
  output.String(live.record.name);
  WriteWarmThroughput(output, live);
  output.EndObject();
  return Status::Ok();
}

Status KinesisApi::DescribeLimits(const Context& context,
                                  const json::Value& /*input*/,
                                  Encoder& output) {
  output.StartObject();
  output.Key("ShardLimit");
  output.Int(streams_.options().shard_limit);
  output.Key("OpenShardCount");
  output.Int(streams_.OpenShardCount(context.account_id, context.region));
  output.Key("OnDemandStreamCount");
  output.Int(streams_.OnDemandStreamCount(context.account_id, context.region));
  output.Key("OnDemandStreamCountLimit");
  output.Int(kOnDemandStreamCountLimit);
  output.EndObject();
  return Status::Ok();
}

Status KinesisApi::DescribeAccountSettings(const Context& context,
                                           const json::Value& /*input*/,
                                           Encoder& output) {
  WriteCommitment(output,
                  account_settings_.Get(context.account_id, context.region,
                                        streams_.clock().NowMillis()));
  return Status::Ok();
}

Status KinesisApi::UpdateAccountSettings(const Context& context,
                                         const json::Value& input,
                                         Encoder& output) {
  auto commitment = input.FindMember("MinimumThroughputBillingCommitment");
  // The model has checked the member and its Status (ENABLED or DISABLED).
  bool enable =
      commitment != input.MemberEnd() && commitment->value.IsObject() &&
      model::GetString(commitment->value, "Status").value_or("") == "ENABLED";
  WriteCommitment(
      output, account_settings_.Update(context.account_id, context.region,
                                       enable, streams_.clock().NowMillis()));
  return Status::Ok();
}

void WriteWarmThroughputIfAny(Encoder& out, const LiveStream& stream) {
  if (stream.record.mode == catalog::StreamMode::kOnDemand &&
      stream.warm_target_mibps) {
    WriteWarmThroughput(out, stream);
  }
}

}  // namespace sluice::kinesis
