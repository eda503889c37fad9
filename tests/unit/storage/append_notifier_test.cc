#include "server/storage/append_notifier.h"

#include <gtest/gtest.h>

#include <thread>

namespace sluice::storage {
namespace {

using std::chrono::steady_clock;

TEST(AppendNotifierTest, WakesEveryRegisteredReader) {
  AppendNotifier notifier;
  Wakeup first;
  Wakeup second;
  notifier.Add(&first);
  notifier.Add(&second);
  notifier.Notify();
  // Already set: the waits return at once, with no deadline to speak of.
  EXPECT_TRUE(first.WaitUntil(steady_clock::now()));
  EXPECT_TRUE(second.WaitUntil(steady_clock::now()));
}

TEST(AppendNotifierTest, ANotifyBeforeTheWaitIsNotLost) {
  AppendNotifier notifier;
  Wakeup reader;
  notifier.Add(&reader);
  notifier.Notify();  // between the reader's read and its wait
  EXPECT_TRUE(reader.WaitUntil(steady_clock::now() + std::chrono::hours(1)));
}

TEST(AppendNotifierTest, AWaitConsumesTheNotification) {
  AppendNotifier notifier;
  Wakeup reader;
  notifier.Add(&reader);
  notifier.Notify();
  EXPECT_TRUE(reader.WaitUntil(steady_clock::now()));
  EXPECT_FALSE(reader.WaitUntil(steady_clock::now()));
}

TEST(AppendNotifierTest, RemovedReadersAreNotWoken) {
  AppendNotifier notifier;
  Wakeup reader;
  notifier.Add(&reader);
  notifier.Remove(&reader);
  notifier.Notify();
  EXPECT_FALSE(reader.WaitUntil(steady_clock::now()));
}

TEST(AppendNotifierTest, WakesAReaderBlockedOnAnotherThread) {
  AppendNotifier notifier;
  Wakeup reader;
  notifier.Add(&reader);
  bool woken = false;
  std::thread waiter([&] {
    woken = reader.WaitUntil(steady_clock::now() + std::chrono::hours(1));
  });
  notifier.Notify();
  waiter.join();  // returns only because of the notification
  EXPECT_TRUE(woken);
}

}  // namespace
}  // namespace sluice::storage
