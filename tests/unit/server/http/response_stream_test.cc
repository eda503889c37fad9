#include "server/http/response_stream.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace sluice::http {
namespace {

TEST(ResponseStreamTest, TakesWhatWasWrittenInOrder) {
  ResponseStream stream;
  EXPECT_TRUE(stream.Write("ab"));
  EXPECT_TRUE(stream.Write("cd"));
  ResponseStream::Taken taken = stream.Take();
  EXPECT_EQ(taken.bytes, "abcd");
  EXPECT_FALSE(taken.ended);
  EXPECT_EQ(stream.Take().bytes, "");
}

TEST(ResponseStreamTest, EndsAfterTheQueuedBytesOnceFinished) {
  ResponseStream stream;
  EXPECT_TRUE(stream.Write("last"));
  stream.Finish();
  EXPECT_FALSE(stream.Write("too late"));
  ResponseStream::Taken taken = stream.Take();
  EXPECT_EQ(taken.bytes, "last");
  EXPECT_TRUE(taken.ended);
}

TEST(ResponseStreamTest, CancelRefusesWritesAndRunsTheCancelCallback) {
  ResponseStream stream;
  int cancels = 0;
  stream.OnCancel([&] { ++cancels; });
  EXPECT_TRUE(stream.Write("queued"));
  stream.Cancel();
  stream.Cancel();
  EXPECT_EQ(cancels, 1);
  EXPECT_TRUE(stream.cancelled());
  EXPECT_FALSE(stream.Write("dropped"));
  ResponseStream::Taken taken = stream.Take();
  EXPECT_EQ(taken.bytes, "queued");  // what was queued still goes out
  EXPECT_TRUE(taken.ended);
  int late = 0;
  stream.OnCancel([&] { ++late; });  // registered after: runs at once
  EXPECT_EQ(late, 1);
}

TEST(ResponseStreamTest, TellsTheConnectionWhenThereIsSomethingToTake) {
  ResponseStream stream;
  EXPECT_TRUE(stream.Write("early"));
  int ready = 0;
  stream.OnReady([&] { ++ready; });  // something queued already: at once
  EXPECT_EQ(ready, 1);
  EXPECT_TRUE(stream.Write("more"));
  stream.Finish();
  EXPECT_EQ(ready, 3);
}

TEST(ResponseStreamTest, AFullQueueHoldsTheWriterUntilTheConnectionTakes) {
  ResponseStream stream(/*max_queued_bytes=*/4);
  EXPECT_TRUE(stream.Write("1234"));
  std::atomic<bool> second_written{false};
  std::thread writer([&] { second_written = stream.Write("5678"); });
  // The writer can only finish once the queue has room again.
  std::string received;
  while (received.size() < 8) received += stream.Take().bytes;
  writer.join();
  EXPECT_TRUE(second_written);
  EXPECT_EQ(received, "12345678");
}

TEST(ResponseStreamTest, CancelReleasesAWriterHeldByAFullQueue) {
  ResponseStream stream(/*max_queued_bytes=*/1);
  EXPECT_TRUE(stream.Write("x"));
  std::atomic<bool> result{true};
  std::thread writer([&] { result = stream.Write("y"); });
  stream.Cancel();
  writer.join();
  EXPECT_FALSE(result);
}

}  // namespace
}  // namespace sluice::http
