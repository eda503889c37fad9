// The delivery engine: turns what PutRecord(Batch) appended to a delivery
// stream's log into objects in the archive, as Firehose writes them to S3.
// An object is due when SizeInMBs of data is buffered or IntervalInSeconds
// have passed since its oldest record arrived, whichever comes first (the
// clock is injectable); Flush() makes everything buffered due now.
//
// Exactly once, across crashes: before an object is written its plan (record
// range, key, bucket, compression) is saved as the stream's planned_object;
// the object is written durably (object_writer.h); then the checkpoint moves
// past the range and the plan is cleared, in one catalog update. A restart
// finds the plan and rewrites the same key from the same records. With a
// Lambda processor the plan fixes two keys, the object's and its error
// object's; a redo runs the transform again and rewrites both (removing one
// that now gets no records), so each record lands in exactly one, once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "server/catalog/catalog.h"
#include "server/firehose/delivery_stream_manager.h"
#include "server/firehose/object_writer.h"
#include "server/firehose/transform.h"
#include "server/kinesis/stream_manager.h"
#include "server/storage/file_ops.h"

namespace sluice::firehose {

struct DeliveryEngineOptions {
  // How often the worker looks for objects that became due by time.
  std::chrono::milliseconds poll_interval{100};
  // How long a stream whose delivery failed waits before the next attempt.
  std::chrono::milliseconds retry_delay{1000};
  storage::FileOps* file_ops = &storage::FileOps::Posix();  // outlives us
  // Handler programs of Lambda processors (transform.h).
  LambdaOptions lambda;
};

// One object written to the archive.
struct DeliveredObject {
  std::string bucket;
  std::string key;
  uint64_t records = 0;
  // An error object of records a transform failed (processing-failed).
  bool error_output = false;
};

// Owned by Server. One worker thread (Start/Stop) delivers due objects of
// every stream; Flush() runs on the caller's thread. Both serialise per
// stream on LiveDeliveryStream::delivery_mu.
class DeliveryEngine {
 public:
  // `kinesis` serves KinesisStreamAsSource streams (kinesis_source.h); it
  // may be null when there are none.
  DeliveryEngine(DeliveryStreamManager& streams, catalog::Catalog& catalog,
                 kinesis::StreamManager* kinesis, ArchiveRoot& archive,
                 const Clock& clock, DeliveryEngineOptions options = {});
  ~DeliveryEngine();  // Stop()

  void Start();
  // Finishes the object in progress (killing a transform's handler program,
  // whose object is then redone at the next start), then joins the worker.
  // Idempotent.
  void Stop();
  // Kills the transform handler programs running now (a flush's or the
  // worker's) and starts no more until Start(): the objects they were for
  // stay planned and are redone at the next start. The first step of a
  // shutdown, so an in-flight flush does not hold it up.
  void CancelTransforms();
  // Makes the worker look now (a buffer reached its size).
  void Wake();

  // Delivers every record appended before the call (for a Kinesis source:
  // every record the source holds), in as many objects as the size hint
  // makes; waits for a delivery in progress.
  Result<std::vector<DeliveredObject>> Flush(LiveDeliveryStream& stream);

  // Delivers what is due on every stream now. The worker calls it each
  // poll; tests call it directly with a ManualClock.
  void RunOnce();

 private:
  // Delivers due objects of one stream (with `until`, every record below it
  // regardless of the hints). REQUIRES: stream.delivery_mu held.
  Result<std::vector<DeliveredObject>> DeliverLocked(
      LiveDeliveryStream& stream, std::optional<uint64_t> until);
  void Run();
  // Copies new source records into the stream's log (Kinesis source only).
  // REQUIRES: stream.delivery_mu held.
  Status PumpLocked(LiveDeliveryStream& stream);

  DeliveryStreamManager& streams_;
  catalog::Catalog& catalog_;
  kinesis::StreamManager* const kinesis_;
  ArchiveRoot& archive_;
  const Clock& clock_;
  const DeliveryEngineOptions options_;
  Transformer transformer_;

  std::mutex mu_;
  std::condition_variable wake_;
  bool woken_ = false;     // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::thread worker_;
};

}  // namespace sluice::firehose
