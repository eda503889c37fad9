"""Kinesis data plane and stream management end to end, driven by boto3:
streams, routing, every iterator type, GetRecords paging, errors with AWS's
exact messages, restarts, throttling and concurrent producers and readers."""

import datetime
import http.client
import json
import shutil
import tempfile
import threading
import time
import unittest

import boto3
import botocore.config
from botocore.exceptions import ClientError

from sluice_process import poll_until, signed_headers, start_server, stop_cleanly

ACCOUNT = "000000000000"


def kinesis_client(server, region="us-east-1", validate=True):
    config = botocore.config.Config(
        retries={"max_attempts": 1, "mode": "standard"},
        parameter_validation=validate,
    )
    return boto3.client("kinesis", endpoint_url=server.endpoint, region_name=region,
                        aws_access_key_id="x", aws_secret_access_key="y", config=config)


def drain_shard(kinesis, stream, shard_id, iterator_type="TRIM_HORIZON", **extra):
    """Every record from the iterator position to the tip of one shard."""
    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard_id,
                                          ShardIteratorType=iterator_type,
                                          **extra)["ShardIterator"]
    records = []
    for _ in range(1000):  # bounded: each call moves forward or reaches the tip
        page = kinesis.get_records(ShardIterator=iterator, Limit=10000)
        records += page["Records"]
        iterator = page.get("NextShardIterator")
        if not page["Records"] and page["MillisBehindLatest"] == 0:
            return records
    raise AssertionError(f"{shard_id} did not reach its tip")


def as_int(sequence_number):
    return int(sequence_number)


class ErrorAssertions:
    def assertClientError(self, code, message, call, *args, **kwargs):
        with self.assertRaises(ClientError) as caught:
            call(*args, **kwargs)
        error = caught.exception.response["Error"]
        self.assertEqual(error["Code"], code)
        if message is not None:
            self.assertEqual(error["Message"], message)
        self.assertEqual(caught.exception.response["ResponseMetadata"]["HTTPStatusCode"],
                         400)


class DataPlaneTest(unittest.TestCase, ErrorAssertions):
    @classmethod
    def setUpClass(cls):
        cls.server = start_server(cls)
        cls.kinesis = kinesis_client(cls.server)
        cls.raw = kinesis_client(cls.server, validate=False)

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.server)

    def create(self, name, shards):
        self.kinesis.create_stream(StreamName=name, ShardCount=shards)
        self.addCleanup(self.kinesis.delete_stream, StreamName=name)

    def test_records_land_once_in_the_shard_put_reported_in_order(self):
        self.create("routing", 4)
        sent = {}
        for batch in range(4):
            entries = [{"Data": f"record-{batch}-{i}".encode(),
                        "PartitionKey": f"user-{(batch * 50 + i) % 37}"}
                       for i in range(50)]
            result = self.kinesis.put_records(StreamName="routing", Records=entries)
            self.assertEqual(result["FailedRecordCount"], 0)
            self.assertEqual(len(result["Records"]), 50)
            for entry, outcome in zip(entries, result["Records"]):
                sent[entry["Data"]] = (outcome["ShardId"], outcome["SequenceNumber"],
                                       entry["PartitionKey"])
        shards = self.kinesis.describe_stream(
            StreamName="routing")["StreamDescription"]["Shards"]
        self.assertEqual(len(shards), 4)
        seen = {}
        for shard in shards:
            records = drain_shard(self.kinesis, "routing", shard["ShardId"])
            numbers = [as_int(r["SequenceNumber"]) for r in records]
            self.assertEqual(numbers, sorted(numbers))
            self.assertEqual(len(set(numbers)), len(numbers))
            for record in records:
                self.assertNotIn(record["Data"], seen)
                seen[record["Data"]] = (shard["ShardId"], record["SequenceNumber"],
                                        record["PartitionKey"])
                self.assertIsInstance(record["ApproximateArrivalTimestamp"],
                                      datetime.datetime)
        self.assertEqual(seen, sent)

    def test_partition_key_a_goes_to_the_first_of_four_shards(self):
        # MD5("a") = 16955237001963240173058271559858726497 < 2^128 / 4.
        self.create("md5", 4)
        result = self.kinesis.put_record(StreamName="md5", Data=b"x", PartitionKey="a")
        self.assertEqual(result["ShardId"], "shardId-000000000000")
        result = self.kinesis.put_record(
            StreamName="md5", Data=b"x", PartitionKey="a",
            ExplicitHashKey="340282366920938463463374607431768211455")
        self.assertEqual(result["ShardId"], "shardId-000000000003")

    def test_every_iterator_type(self):
        self.create("iterators", 1)
        shard = "shardId-000000000000"
        first = self.kinesis.put_record(StreamName="iterators", Data=b"1", PartitionKey="k")
        second = self.kinesis.put_record(StreamName="iterators", Data=b"2", PartitionKey="k")

        def data_from(iterator_type, **extra):
            return [r["Data"] for r in drain_shard(self.kinesis, "iterators", shard,
                                                   iterator_type, **extra)]

        self.assertEqual(data_from("TRIM_HORIZON"), [b"1", b"2"])
        self.assertEqual(data_from("AT_SEQUENCE_NUMBER",
                                   StartingSequenceNumber=second["SequenceNumber"]), [b"2"])
        self.assertEqual(data_from("AFTER_SEQUENCE_NUMBER",
                                   StartingSequenceNumber=first["SequenceNumber"]), [b"2"])

        latest = self.kinesis.get_shard_iterator(StreamName="iterators", ShardId=shard,
                                                 ShardIteratorType="LATEST")["ShardIterator"]
        self.assertEqual(self.kinesis.get_records(ShardIterator=latest)["Records"], [])
        self.kinesis.put_record(StreamName="iterators", Data=b"3", PartitionKey="k")
        self.assertEqual([r["Data"] for r in
                          self.kinesis.get_records(ShardIterator=latest)["Records"]], [b"3"])

    def test_at_timestamp_with_the_whole_seconds_boto3_sends(self):
        self.create("clock", 1)
        shard = "shardId-000000000000"
        self.kinesis.put_record(StreamName="clock", Data=b"before", PartitionKey="k")
        start_second = int(time.time())
        # Wait for the next wall-clock second so the two records' arrivals
        # fall in different seconds; boto3 sends whole seconds.
        poll_until(lambda: int(time.time()) > start_second, 5, "the next second")
        self.kinesis.put_record(StreamName="clock", Data=b"after", PartitionKey="k")
        records = drain_shard(self.kinesis, "clock", shard, "TRIM_HORIZON")
        after_arrival = records[1]["ApproximateArrivalTimestamp"]
        at = after_arrival.replace(microsecond=0)
        self.assertEqual([r["Data"] for r in drain_shard(
            self.kinesis, "clock", shard, "AT_TIMESTAMP", Timestamp=at)], [b"after"])
        long_ago = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
        self.assertEqual([r["Data"] for r in drain_shard(
            self.kinesis, "clock", shard, "AT_TIMESTAMP", Timestamp=long_ago)],
            [b"before", b"after"])

    def test_far_off_timestamps_are_read_as_far_off_not_a_crash(self):
        # 1e300 seconds overflows a conversion to integer milliseconds; the
        # server clamps it rather than invoking undefined behaviour. boto3
        # cannot send it, so the request is written by hand.
        self.create("far-clock", 1)
        self.kinesis.put_record(StreamName="far-clock", Data=b"x", PartitionKey="k")

        def call(operation, body):
            connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
            self.addCleanup(connection.close)
            connection.request("POST", "/", json.dumps(body), signed_headers(operation))
            response = connection.getresponse()
            return response.status, json.loads(response.read())

        status, answer = call("GetShardIterator", {
            "StreamName": "far-clock", "ShardId": "shardId-000000000000",
            "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": 1e300})
        self.assertEqual(status, 200, answer)
        status, page = call("GetRecords", {"ShardIterator": answer["ShardIterator"]})
        self.assertEqual((status, page["Records"]), (200, []))
        status, answer = call("GetShardIterator", {
            "StreamName": "far-clock", "ShardId": "shardId-000000000000",
            "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": -1e300})
        self.assertEqual(status, 200, answer)
        status, page = call("GetRecords", {"ShardIterator": answer["ShardIterator"]})
        self.assertEqual([r["PartitionKey"] for r in page["Records"]], ["k"])
        status, answer = call("ListShards", {
            "StreamName": "far-clock",
            "ShardFilter": {"Type": "AT_TIMESTAMP", "Timestamp": 1e300}})
        self.assertEqual(status, 200, answer)
        self.assertEqual([s["ShardId"] for s in answer["Shards"]], ["shardId-000000000000"])

    def test_get_records_pages_by_limit_and_reports_how_far_behind(self):
        self.create("paging", 1)
        entries = [{"Data": str(i).encode(), "PartitionKey": "k"} for i in range(25)]
        self.kinesis.put_records(StreamName="paging", Records=entries)
        iterator = self.kinesis.get_shard_iterator(
            StreamName="paging", ShardId="shardId-000000000000",
            ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        page = self.kinesis.get_records(ShardIterator=iterator, Limit=10)
        self.assertEqual([r["Data"] for r in page["Records"]],
                         [str(i).encode() for i in range(10)])
        self.assertGreaterEqual(page["MillisBehindLatest"], 0)
        rest = self.kinesis.get_records(ShardIterator=page["NextShardIterator"], Limit=100)
        self.assertEqual(len(rest["Records"]), 15)
        self.assertEqual(rest["MillisBehindLatest"], 0)
        self.assertIn("NextShardIterator", rest)

    def test_iterator_errors_are_worded_as_aws_words_them(self):
        self.create("iterrors", 2)
        put = self.kinesis.put_record(StreamName="iterrors", Data=b"x", PartitionKey="a")
        self.assertClientError(
            "InvalidArgumentException",
            "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
            "StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no "
            "StartingSequenceNumber. Request specified TRIM_HORIZON and also a "
            "StartingSequenceNumber.",
            self.kinesis.get_shard_iterator, StreamName="iterrors",
            ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON",
            StartingSequenceNumber=put["SequenceNumber"])
        self.assertClientError(
            "InvalidArgumentException",
            "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
            "StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no "
            "StartingSequenceNumber. Request specified AT_SEQUENCE_NUMBER and no "
            "StartingSequenceNumber.",
            self.kinesis.get_shard_iterator, StreamName="iterrors",
            ShardId="shardId-000000000000", ShardIteratorType="AT_SEQUENCE_NUMBER")
        other_shard = "shardId-000000000001" if put["ShardId"].endswith("0") \
            else "shardId-000000000000"
        self.assertClientError(
            "InvalidArgumentException",
            f"Invalid StartingSequenceNumber. It encodes {put['ShardId']}, while it was "
            f"used in a call to a shard with {other_shard}",
            self.kinesis.get_shard_iterator, StreamName="iterrors", ShardId=other_shard,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            StartingSequenceNumber=put["SequenceNumber"])
        self.assertClientError(
            "ResourceNotFoundException",
            f"Shard shardId-000000000007 in stream iterrors under account {ACCOUNT} "
            "does not exist",
            self.kinesis.get_shard_iterator, StreamName="iterrors",
            ShardId="shardId-000000000007", ShardIteratorType="LATEST")
        self.assertClientError("InvalidArgumentException", "Invalid ShardIterator.",
                               self.kinesis.get_records,
                               ShardIterator="AAAAAAAAAAFnotarealiteratoratall0000000000")

    def test_put_errors_are_worded_as_aws_words_them(self):
        self.create("puterrors", 1)
        self.assertClientError(
            "ResourceNotFoundException",
            f"Stream nosuch under account {ACCOUNT} not found.",
            self.kinesis.put_record, StreamName="nosuch", Data=b"x", PartitionKey="k")
        self.assertClientError(
            "InvalidArgumentException",
            "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: "
            "[0, 2^128-1]. Specified value was 340282366920938463463374607431768211456",
            self.kinesis.put_record, StreamName="puterrors", Data=b"x", PartitionKey="k",
            ExplicitHashKey="340282366920938463463374607431768211456")
        self.assertClientError(
            "ResourceInUseException",
            f"Stream puterrors under account {ACCOUNT} already exists.",
            self.kinesis.create_stream, StreamName="puterrors", ShardCount=1)
        self.assertClientError(
            "ValidationException",
            "1 validation error detected: Value '' at 'partitionKey' failed to satisfy "
            "constraint: Member must have length greater than or equal to 1",
            self.raw.put_record, StreamName="puterrors", Data=b"x", PartitionKey="")

    def test_pagination_of_streams_and_shards(self):
        for name in ("page-a", "page-b", "page-c"):
            self.create(name, 3)
        first = self.kinesis.list_streams(Limit=2)
        self.assertTrue(first["HasMoreStreams"])
        names = list(first["StreamNames"])
        second = self.kinesis.list_streams(Limit=100, NextToken=first["NextToken"])
        names += second["StreamNames"]
        self.assertEqual([n for n in names if n.startswith("page-")],
                         ["page-a", "page-b", "page-c"])
        self.assertEqual(len(names), len(set(names)))
        described = self.kinesis.describe_stream(StreamName="page-a", Limit=2)
        self.assertTrue(described["StreamDescription"]["HasMoreShards"])
        rest = self.kinesis.describe_stream(StreamName="page-a",
                                            ExclusiveStartShardId="shardId-000000000001")
        self.assertEqual([s["ShardId"] for s in rest["StreamDescription"]["Shards"]],
                         ["shardId-000000000002"])
        self.assertFalse(rest["StreamDescription"]["HasMoreShards"])

    def test_on_demand_streams_start_with_four_shards(self):
        self.kinesis.create_stream(StreamName="ondemand",
                                   StreamModeDetails={"StreamMode": "ON_DEMAND"})
        self.addCleanup(self.kinesis.delete_stream, StreamName="ondemand")
        summary = self.kinesis.describe_stream_summary(
            StreamName="ondemand")["StreamDescriptionSummary"]
        self.assertEqual(summary["StreamModeDetails"]["StreamMode"], "ON_DEMAND")
        self.assertEqual(summary["OpenShardCount"], 4)
        with self.assertRaises(ClientError) as caught:
            self.kinesis.create_stream(StreamName="ondemand2", ShardCount=2,
                                       StreamModeDetails={"StreamMode": "ON_DEMAND"})
        self.assertIn("ShardCount is not expected when StreamMode=ON_DEMAND",
                      caught.exception.response["Error"]["Message"])

    def test_stream_arn_works_wherever_stream_name_does(self):
        self.create("by-arn", 1)
        arn = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/by-arn"
        put = self.kinesis.put_record(StreamARN=arn, Data=b"x", PartitionKey="k")
        self.assertEqual(put["ShardId"], "shardId-000000000000")
        summary = self.kinesis.describe_stream_summary(StreamARN=arn)
        self.assertEqual(summary["StreamDescriptionSummary"]["StreamARN"], arn)

    def test_regions_and_accounts_are_separate(self):
        self.create("shared-name", 1)
        elsewhere = kinesis_client(self.server, region="eu-west-1")
        self.assertNotIn("shared-name", elsewhere.list_streams()["StreamNames"])
        other_account = boto3.client(
            "kinesis", endpoint_url=self.server.endpoint, region_name="us-east-1",
            aws_access_key_id="111122223333", aws_secret_access_key="y")
        self.assertNotIn("shared-name", other_account.list_streams()["StreamNames"])
        other_account.create_stream(StreamName="shared-name", ShardCount=1)
        arn = other_account.describe_stream_summary(
            StreamName="shared-name")["StreamDescriptionSummary"]["StreamARN"]
        self.assertEqual(arn, "arn:aws:kinesis:us-east-1:111122223333:stream/shared-name")
        other_account.delete_stream(StreamName="shared-name")

    def test_many_producers_and_readers_lose_and_duplicate_nothing(self):
        self.create("busy", 3)
        producers, per_producer = 6, 150
        expected = {f"{p}:{i}".encode() for p in range(producers)
                    for i in range(per_producer)}
        errors = []

        def produce(p):
            client = kinesis_client(self.server)
            try:
                for i in range(per_producer):
                    client.put_record(StreamName="busy", Data=f"{p}:{i}".encode(),
                                      PartitionKey=f"key-{p}-{i % 11}")
            except Exception as e:  # reported below, not swallowed
                errors.append(e)

        seen = {}
        lock = threading.Lock()

        def read(shard_id):
            client = kinesis_client(self.server)
            iterator = client.get_shard_iterator(
                StreamName="busy", ShardId=shard_id,
                ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            deadline = time.monotonic() + 60
            last = -1
            while time.monotonic() < deadline:
                page = client.get_records(ShardIterator=iterator)
                for record in page["Records"]:
                    number = as_int(record["SequenceNumber"])
                    if number <= last:
                        errors.append(AssertionError(f"{shard_id} went backwards"))
                    last = number
                    with lock:
                        seen.setdefault(record["Data"], 0)
                        seen[record["Data"]] += 1
                iterator = page["NextShardIterator"]
                with lock:
                    if len(seen) >= len(expected):
                        return

        threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
        threads += [threading.Thread(target=read, args=(f"shardId-00000000000{s}",))
                    for s in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
        self.assertEqual(errors, [])
        self.assertEqual(set(seen), expected)
        self.assertEqual({n for n in seen.values()}, {1})


class StateTest(unittest.TestCase, ErrorAssertions):
    def test_creating_streams_refuse_records_until_active(self):
        server = start_server(self, "--create-stream-delay-ms", "400")
        kinesis = kinesis_client(server)
        kinesis.create_stream(StreamName="slow", ShardCount=1)
        status = kinesis.describe_stream_summary(
            StreamName="slow")["StreamDescriptionSummary"]["StreamStatus"]
        self.assertEqual(status, "CREATING")
        self.assertClientError("ResourceNotFoundException",
                               f"Stream slow under account {ACCOUNT} not found.",
                               kinesis.put_record, StreamName="slow", Data=b"x",
                               PartitionKey="k")
        poll_until(lambda: kinesis.describe_stream_summary(StreamName="slow")
                   ["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE",
                   10, "the stream to become ACTIVE")
        kinesis.put_record(StreamName="slow", Data=b"x", PartitionKey="k")

    def test_the_shard_limit_is_enforced_with_aws_words(self):
        server = start_server(self, "--shard-limit", "3")
        kinesis = kinesis_client(server)
        kinesis.create_stream(StreamName="two", ShardCount=2)
        self.assertClientError(
            "LimitExceededException",
            f"This request would exceed the shard limit for the account {ACCOUNT} in "
            "us-east-1. Current shard count for the account: 2. Limit: 3. Number of "
            "additional shards that would have resulted from this request: 2. Refer to "
            "the AWS Service Limits page "
            "(http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for "
            "current limits and how to request higher limits.",
            kinesis.create_stream, StreamName="more", ShardCount=2)

    def test_enforced_limits_throttle_with_per_record_errors(self):
        server = start_server(self, "--enforce-limits")
        kinesis = kinesis_client(server)
        kinesis.create_stream(StreamName="narrow", ShardCount=1)
        entries = [{"Data": b"x", "PartitionKey": str(i)} for i in range(500)]
        failed = 0
        for _ in range(3):
            result = kinesis.put_records(StreamName="narrow", Records=entries)
            failed += result["FailedRecordCount"]
            for outcome in result["Records"]:
                if "ErrorCode" in outcome:
                    self.assertEqual(outcome["ErrorCode"],
                                     "ProvisionedThroughputExceededException")
                    self.assertEqual(
                        outcome["ErrorMessage"],
                        "Rate exceeded for shard shardId-000000000000 in stream narrow "
                        f"under account {ACCOUNT}.")
        self.assertGreater(failed, 0)


class RestartTest(unittest.TestCase):
    def test_streams_shards_records_and_sequence_numbers_survive_a_restart(self):
        data_dir = tempfile.mkdtemp(prefix="sluice-e2e-restart-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        server = start_server(self, "--data-dir", data_dir, in_memory=False)
        kinesis = kinesis_client(server)
        kinesis.create_stream(StreamName="durable", ShardCount=2)
        entries = [{"Data": f"r{i}".encode(), "PartitionKey": f"k{i}"} for i in range(40)]
        put = kinesis.put_records(StreamName="durable", Records=entries)
        before = kinesis.describe_stream(StreamName="durable")["StreamDescription"]["Shards"]
        self.assertEqual(server.stop(), 0)

        server = start_server(self, "--data-dir", data_dir, in_memory=False)
        kinesis = kinesis_client(server)
        after = kinesis.describe_stream(StreamName="durable")["StreamDescription"]["Shards"]
        self.assertEqual(after, before)
        stored = {}
        for shard in after:
            for record in drain_shard(kinesis, "durable", shard["ShardId"]):
                stored[record["Data"]] = record["SequenceNumber"]
        self.assertEqual(stored, {e["Data"]: o["SequenceNumber"]
                                  for e, o in zip(entries, put["Records"])})
        newest = max(as_int(o["SequenceNumber"]) for o in put["Records"]
                     if o["ShardId"] == "shardId-000000000000")
        again = kinesis.put_record(StreamName="durable", Data=b"new", PartitionKey="k",
                                   ExplicitHashKey="0")
        self.assertGreater(as_int(again["SequenceNumber"]), newest)


if __name__ == "__main__":
    unittest.main()
