"""SubscribeToShard end to end with boto3's subscribe_to_shard over HTTP/1.1:
the initial response, records pushed as they are put, every starting
position, ContinuationSequenceNumber that resumes without loss, ChildShards at
the end of a split parent, the subscription lifetime, one subscription per
consumer and shard, and the errors before and inside the stream."""

import datetime
import unittest

import boto3
import botocore.config
from botocore.exceptions import ClientError, EventStreamError

from sluice_process import poll_until, start_server, stop_cleanly

ACCOUNT = "000000000000"
# Idle events often, so an iteration never waits long for the next event.
IDLE_EVENT_MS = "200"


def kinesis_client(server):
    config = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"},
                                    read_timeout=15)
    return boto3.client("kinesis", endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="y", config=config)


def shard_id(index):
    return "shardId-%012d" % index


class Subscriber:
    """One subscription: yields SubscribeToShardEvents, closes when done."""

    def __init__(self, kinesis, consumer_arn, shard, position):
        self.response = kinesis.subscribe_to_shard(
            ConsumerARN=consumer_arn, ShardId=shard, StartingPosition=position)
        self.events = iter(self.response["EventStream"])

    def next_event(self):
        """The next event, or None when the stream ended."""
        for event in self.events:
            return event["SubscribeToShardEvent"]
        return None

    def records_until(self, count):
        """Reads events until `count` records came; returns them and the
        last event."""
        records, event = [], None
        for _ in range(1000):  # bounded: idle events come every 200 ms
            event = self.next_event()
            if event is None:
                break
            records += event["Records"]
            if len(records) >= count:
                break
        return records, event

    def close(self):
        self.response["EventStream"].close()


class SubscribeTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        # Deregistered consumers stay DELETING for a minute: "not ACTIVE".
        cls.server = start_server(cls, "--subscription-idle-event-ms", IDLE_EVENT_MS,
                                  "--delete-stream-delay-ms", "60000")

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.server)

    def setUp(self):
        self.kinesis = kinesis_client(self.server)

    def create_stream(self, name, shards=1):
        self.kinesis.create_stream(StreamName=name, ShardCount=shards)
        poll_until(lambda: self.kinesis.describe_stream_summary(StreamName=name)
                   ["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE",
                   30, f"{name} ACTIVE")
        return self.kinesis.describe_stream_summary(StreamName=name)[
            "StreamDescriptionSummary"]["StreamARN"]

    def register(self, stream_arn, name):
        arn = self.kinesis.register_stream_consumer(
            StreamARN=stream_arn, ConsumerName=name)["Consumer"]["ConsumerARN"]
        poll_until(lambda: self.kinesis.describe_stream_consumer(ConsumerARN=arn)
                   ["ConsumerDescription"]["ConsumerStatus"] == "ACTIVE",
                   30, f"{name} ACTIVE")
        return arn

    def subscribe(self, consumer_arn, shard, position):
        subscriber = Subscriber(self.kinesis, consumer_arn, shard, position)
        self.addCleanup(subscriber.close)
        return subscriber

    def put(self, stream, *payloads, key="k"):
        return [self.kinesis.put_record(StreamName=stream, Data=p, PartitionKey=key)
                ["SequenceNumber"] for p in payloads]

    def assertErrorCode(self, code, call, **kwargs):
        with self.assertRaises(ClientError) as raised:
            call(**kwargs)
        self.assertEqual(raised.exception.response["Error"]["Code"], code)
        return raised.exception.response["Error"]["Message"]

    # --- delivery ------------------------------------------------------------

    def test_records_put_after_subscribing_are_pushed(self):
        arn = self.create_stream("pushed")
        consumer = self.register(arn, "live")
        subscriber = self.subscribe(consumer, shard_id(0), {"Type": "LATEST"})
        self.assertEqual(subscriber.response["ResponseMetadata"]["HTTPHeaders"]
                         ["content-type"], "application/vnd.amazon.eventstream")
        payloads = [f"event-{i}".encode() for i in range(5)]
        sequences = self.put("pushed", *payloads)
        records, last = subscriber.records_until(5)
        self.assertEqual([r["Data"] for r in records], payloads)
        self.assertEqual([r["SequenceNumber"] for r in records], sequences)
        self.assertEqual({r["PartitionKey"] for r in records}, {"k"})
        self.assertIsInstance(records[0]["ApproximateArrivalTimestamp"], datetime.datetime)
        self.assertEqual(last["ContinuationSequenceNumber"], sequences[-1])
        self.assertEqual(last["MillisBehindLatest"], 0)
        self.assertNotIn("ChildShards", last)

    def test_every_starting_position(self):
        arn = self.create_stream("positions")
        before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=2)
        sequences = self.put("positions", b"a", b"b", b"c")
        cases = [
            ("trim", {"Type": "TRIM_HORIZON"}, [b"a", b"b", b"c"]),
            ("at", {"Type": "AT_SEQUENCE_NUMBER", "SequenceNumber": sequences[1]},
             [b"b", b"c"]),
            ("after", {"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": sequences[1]},
             [b"c"]),
            ("time", {"Type": "AT_TIMESTAMP", "Timestamp": before}, [b"a", b"b", b"c"]),
        ]
        for name, position, expected in cases:
            with self.subTest(name):
                subscriber = self.subscribe(self.register(arn, name), shard_id(0), position)
                records, _ = subscriber.records_until(len(expected))
                self.assertEqual([r["Data"] for r in records], expected)
        latest = self.subscribe(self.register(arn, "latest"), shard_id(0), {"Type": "LATEST"})
        first = latest.next_event()
        self.assertEqual(first["Records"], [])
        self.put("positions", b"d")
        records, _ = latest.records_until(1)
        self.assertEqual([r["Data"] for r in records], [b"d"])

    def test_continuation_resumes_without_loss_or_duplicates(self):
        arn = self.create_stream("resume")
        first = self.subscribe(self.register(arn, "first"), shard_id(0), {"Type": "LATEST"})
        # Nothing delivered yet: the continuation still marks the position.
        empty = first.next_event()
        self.assertEqual(empty["Records"], [])
        before_any = empty["ContinuationSequenceNumber"]
        first.close()
        self.put("resume", b"one", b"two")
        second = self.subscribe(self.register(arn, "second"), shard_id(0),
                                {"Type": "AFTER_SEQUENCE_NUMBER",
                                 "SequenceNumber": before_any})
        records, last = second.records_until(2)
        self.assertEqual([r["Data"] for r in records], [b"one", b"two"])
        continuation = last["ContinuationSequenceNumber"]
        second.close()
        self.put("resume", b"three")
        third = self.subscribe(self.register(arn, "third"), shard_id(0),
                               {"Type": "AFTER_SEQUENCE_NUMBER",
                                "SequenceNumber": continuation})
        records, _ = third.records_until(1)
        self.assertEqual([r["Data"] for r in records], [b"three"])

    def test_a_split_parent_ends_with_its_children(self):
        arn = self.create_stream("split")
        consumer = self.register(arn, "follower")
        keys = [f"key-{i}" for i in range(20)]
        for k in keys[:10]:
            self.put("split", f"before-{k}".encode(), key=k)
        parent = self.subscribe(consumer, shard_id(0), {"Type": "TRIM_HORIZON"})
        records, _ = parent.records_until(10)
        self.kinesis.split_shard(StreamName="split", ShardToSplit=shard_id(0),
                                 NewStartingHashKey=str(2**127))
        poll_until(lambda: self.kinesis.describe_stream_summary(StreamName="split")
                   ["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE",
                   30, "split ACTIVE")
        for k in keys[10:]:
            self.put("split", f"after-{k}".encode(), key=k)
        # The parent's stream: maybe idle events, then ChildShards, then the end.
        last = None
        for _ in range(1000):
            event = parent.next_event()
            if event is None:
                break
            records += event["Records"]
            last = event
        self.assertIsNotNone(last)
        self.assertNotIn("ContinuationSequenceNumber", last)
        children = last["ChildShards"]
        self.assertEqual([c["ShardId"] for c in children], [shard_id(1), shard_id(2)])
        for child in children:
            self.assertEqual(child["ParentShards"], [shard_id(0)])
        self.assertEqual(children[1]["HashKeyRange"]["StartingHashKey"], str(2**127))
        # Then the children, from their start: every record exactly once.
        for child in children:
            subscriber = self.subscribe(consumer, child["ShardId"], {"Type": "TRIM_HORIZON"})
            while True:
                event = subscriber.next_event()
                self.assertIsNotNone(event)
                records += event["Records"]
                if event["MillisBehindLatest"] == 0 and not event["Records"]:
                    break
        data = sorted(r["Data"] for r in records)
        expected = sorted([f"before-{k}".encode() for k in keys[:10]] +
                          [f"after-{k}".encode() for k in keys[10:]])
        self.assertEqual(data, expected)

    # --- one subscription per consumer and shard -------------------------------

    def test_a_second_subscription_within_five_seconds_is_refused_then_takes_over(self):
        arn = self.create_stream("twice")
        consumer = self.register(arn, "twice")
        old = self.subscribe(consumer, shard_id(0), {"Type": "LATEST"})
        old.next_event()
        message = self.assertErrorCode(
            "ResourceInUseException", self.kinesis.subscribe_to_shard,
            ConsumerARN=consumer, ShardId=shard_id(0), StartingPosition={"Type": "LATEST"})
        self.assertIn(consumer, message)

        def take_over():
            try:
                return self.subscribe(consumer, shard_id(0), {"Type": "LATEST"})
            except ClientError as e:
                if e.response["Error"]["Code"] != "ResourceInUseException":
                    raise
                return None
        new = poll_until(take_over, 30, "the 5 s to pass")
        # The old subscription ends with ResourceInUse inside its stream.
        with self.assertRaises(EventStreamError) as raised:
            for _ in range(1000):
                if old.next_event() is None:
                    break
        self.assertEqual(raised.exception.response["Error"]["Code"], "ResourceInUseException")
        self.assertEqual(new.next_event()["Records"], [])

    # --- errors before the stream ------------------------------------------------

    def test_errors_before_the_stream_starts(self):
        arn = self.create_stream("errors")
        consumer = self.register(arn, "errors")
        unknown = arn + "/consumer/nobody:1700000000"
        self.assertErrorCode("ResourceNotFoundException", self.kinesis.subscribe_to_shard,
                             ConsumerARN=unknown, ShardId=shard_id(0),
                             StartingPosition={"Type": "LATEST"})
        self.assertErrorCode("ResourceNotFoundException", self.kinesis.subscribe_to_shard,
                             ConsumerARN=consumer, ShardId=shard_id(7),
                             StartingPosition={"Type": "LATEST"})
        self.assertErrorCode("InvalidArgumentException", self.kinesis.subscribe_to_shard,
                             ConsumerARN=consumer, ShardId=shard_id(0),
                             StartingPosition={"Type": "AT_SEQUENCE_NUMBER"})
        self.assertErrorCode("ValidationException", self.kinesis.subscribe_to_shard,
                             ConsumerARN=consumer, ShardId=shard_id(0),
                             StartingPosition={"Type": "SOMEWHERE"})

    def test_a_consumer_that_is_not_active_is_resource_in_use(self):
        arn = self.create_stream("leaving")
        consumer = self.register(arn, "leaving")
        self.kinesis.deregister_stream_consumer(ConsumerARN=consumer)  # DELETING
        description = self.kinesis.describe_stream_consumer(
            ConsumerARN=consumer)["ConsumerDescription"]
        self.assertEqual(description["ConsumerStatus"], "DELETING")
        message = self.assertErrorCode(
            "ResourceInUseException", self.kinesis.subscribe_to_shard,
            ConsumerARN=consumer, ShardId=shard_id(0), StartingPosition={"Type": "LATEST"})
        created = int(description["ConsumerCreationTimestamp"].timestamp())
        self.assertEqual(message, f"Consumer leaving with creation timestamp {created} "
                                  f"under stream: leaving , account {ACCOUNT} is not in "
                                  "ACTIVE status.")

    def test_deregistering_the_consumer_ends_its_subscription(self):
        arn = self.create_stream("dropped")
        consumer = self.register(arn, "dropped")
        subscriber = self.subscribe(consumer, shard_id(0), {"Type": "LATEST"})
        subscriber.next_event()
        self.kinesis.deregister_stream_consumer(ConsumerARN=consumer)
        with self.assertRaises(EventStreamError) as raised:
            for _ in range(1000):
                if subscriber.next_event() is None:
                    break
        self.assertEqual(raised.exception.response["Error"]["Code"],
                         "ResourceInUseException")


class LifetimeTest(unittest.TestCase):
    """A shortened lifetime (AWS: 5 minutes) ends the stream cleanly."""

    def test_the_stream_ends_after_its_lifetime(self):
        server = start_server(self, "--subscription-lifetime-ms", "1000",
                              "--subscription-idle-event-ms", IDLE_EVENT_MS)
        kinesis = kinesis_client(server)
        kinesis.create_stream(StreamName="short", ShardCount=1)
        poll_until(lambda: kinesis.describe_stream_summary(StreamName="short")
                   ["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE", 30, "ACTIVE")
        arn = kinesis.describe_stream_summary(StreamName="short")[
            "StreamDescriptionSummary"]["StreamARN"]
        consumer = kinesis.register_stream_consumer(
            StreamARN=arn, ConsumerName="short")["Consumer"]["ConsumerARN"]
        poll_until(lambda: kinesis.describe_stream_consumer(ConsumerARN=consumer)
                   ["ConsumerDescription"]["ConsumerStatus"] == "ACTIVE", 30, "consumer")
        subscriber = Subscriber(kinesis, consumer, shard_id(0), {"Type": "TRIM_HORIZON"})
        self.addCleanup(subscriber.close)
        kinesis.put_record(StreamName="short", Data=b"x", PartitionKey="k")
        events = 0
        for _ in range(1000):  # ends without an exception
            event = subscriber.next_event()
            if event is None:
                break
            events += 1
        self.assertIsNone(subscriber.next_event())
        self.assertGreaterEqual(events, 1)
        stop_cleanly(server)

    def test_shutdown_ends_a_live_subscription(self):
        server = start_server(self, "--subscription-idle-event-ms", IDLE_EVENT_MS)
        kinesis = kinesis_client(server)
        kinesis.create_stream(StreamName="live", ShardCount=1)
        poll_until(lambda: kinesis.describe_stream_summary(StreamName="live")
                   ["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE", 30, "ACTIVE")
        arn = kinesis.describe_stream_summary(StreamName="live")[
            "StreamDescriptionSummary"]["StreamARN"]
        consumer = kinesis.register_stream_consumer(
            StreamARN=arn, ConsumerName="live")["Consumer"]["ConsumerARN"]
        poll_until(lambda: kinesis.describe_stream_consumer(ConsumerARN=consumer)
                   ["ConsumerDescription"]["ConsumerStatus"] == "ACTIVE", 30, "consumer")
        subscriber = Subscriber(kinesis, consumer, shard_id(0), {"Type": "LATEST"})
        self.addCleanup(subscriber.close)
        subscriber.next_event()
        # A graceful stop must not wait for the subscription's 5 minutes.
        stop_cleanly(server)


if __name__ == "__main__":
    unittest.main()
