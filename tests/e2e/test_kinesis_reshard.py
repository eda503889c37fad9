"""Resharding end to end, driven by boto3: SplitShard, MergeShards and
UpdateShardCount while a producer writes, readers that follow closed parents
to their end (ChildShards, no NextShardIterator) and then their children,
ListShards filters over the lineage, a restart, and AWS's exact errors."""

import shutil
import tempfile
import threading
import unittest

import boto3
import botocore.config
from botocore.exceptions import ClientError

from sluice_process import poll_until, start_server, stop_cleanly

ACCOUNT = "000000000000"
MAX_HASH_KEY = 2**128 - 1


def kinesis_client(server):
    config = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"})
    return boto3.client("kinesis", endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="y", config=config)


def shard_id(index):
    return "shardId-%012d" % index


def even_ranges(count):
    step = 2**128 // count
    return [(str(i * step), str(MAX_HASH_KEY if i == count - 1 else (i + 1) * step - 1))
            for i in range(count)]


def open_ranges(kinesis, stream):
    shards = kinesis.list_shards(StreamName=stream,
                                 ShardFilter={"Type": "AT_LATEST"})["Shards"]
    ranges = [(s["HashKeyRange"]["StartingHashKey"], s["HashKeyRange"]["EndingHashKey"])
              for s in shards]
    return sorted(ranges, key=lambda r: int(r[0]))


def read_closed_shard(test, kinesis, stream, shard):
    """Every record of a closed shard, and the ChildShards of its last reply."""
    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = []
    for _ in range(10000):  # bounded: each reply moves forward
        page = kinesis.get_records(ShardIterator=iterator, Limit=25)
        records += page["Records"]
        if "NextShardIterator" not in page:
            test.assertTrue(page["ChildShards"], shard)
            return records, page["ChildShards"]
        test.assertNotIn("ChildShards", page)
        iterator = page["NextShardIterator"]
    test.fail(f"{shard} never ended")


def read_open_shard(test, kinesis, stream, shard):
    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = []
    for _ in range(10000):
        page = kinesis.get_records(ShardIterator=iterator, Limit=25)
        records += page["Records"]
        test.assertIn("NextShardIterator", page)
        if not page["Records"] and page["MillisBehindLatest"] == 0:
            return records
        iterator = page["NextShardIterator"]
    test.fail(f"{shard} never caught up")


class ReshardTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = start_server(cls)

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.server)

    def setUp(self):
        self.kinesis = kinesis_client(self.server)

    def wait_active(self, stream):
        poll_until(lambda: self.kinesis.describe_stream_summary(StreamName=stream)
                   ["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE",
                   30, f"{stream} ACTIVE")

    def assertError(self, call, code, message, **kwargs):
        with self.assertRaises(ClientError) as raised:
            call(**kwargs)
        self.assertEqual(raised.exception.response["Error"]["Code"], code)
        self.assertEqual(raised.exception.response["Error"]["Message"], message)

    def test_split_and_merge_under_load_lose_and_duplicate_nothing(self):
        kinesis = self.kinesis
        kinesis.create_stream(StreamName="busy", ShardCount=1)
        self.wait_active("busy")
        acked = {}  # data -> (shard id, sequence number)
        stop = threading.Event()
        errors = []

        def produce():
            producer = kinesis_client(self.server)
            i = 0
            try:
                while not stop.is_set():
                    data = f"r{i}".encode()
                    out = producer.put_record(StreamName="busy", Data=data,
                                              PartitionKey=f"key-{i}")
                    acked[data] = (out["ShardId"], out["SequenceNumber"])
                    i += 1
            except Exception as e:  # reported by the main thread
                errors.append(e)

        thread = threading.Thread(target=produce)
        thread.start()
        try:
            poll_until(lambda: len(acked) >= 50 or errors, 30, "records before the split")
            middle = str(2**127)
            kinesis.split_shard(StreamName="busy", ShardToSplit=shard_id(0),
                                NewStartingHashKey=middle)
            self.wait_active("busy")
            count = len(acked)
            poll_until(lambda: len(acked) >= count + 50 or errors, 30,
                       "records after the split")
            kinesis.merge_shards(StreamName="busy", ShardToMerge=shard_id(1),
                                 AdjacentShardToMerge=shard_id(2))
            self.wait_active("busy")
            count = len(acked)
            poll_until(lambda: len(acked) >= count + 50 or errors, 30,
                       "records after the merge")
        finally:
            stop.set()
            thread.join()
        self.assertEqual(errors, [])

        shards = {s["ShardId"]: s for s in kinesis.list_shards(StreamName="busy")["Shards"]}
        self.assertEqual(sorted(shards), [shard_id(i) for i in range(4)])
        self.assertEqual(shards[shard_id(1)]["ParentShardId"], shard_id(0))
        self.assertEqual(shards[shard_id(2)]["ParentShardId"], shard_id(0))
        self.assertEqual(shards[shard_id(1)]["HashKeyRange"]["EndingHashKey"],
                         str(2**127 - 1))
        self.assertEqual(shards[shard_id(2)]["HashKeyRange"]["StartingHashKey"], middle)
        self.assertEqual(shards[shard_id(3)]["ParentShardId"], shard_id(1))
        self.assertEqual(shards[shard_id(3)]["AdjacentParentShardId"], shard_id(2))
        for closed in range(3):
            self.assertIn("EndingSequenceNumber",
                          shards[shard_id(closed)]["SequenceNumberRange"])
        self.assertNotIn("EndingSequenceNumber", shards[shard_id(3)]["SequenceNumberRange"])

        # Follow the lineage from the first shard, as KCL does.
        read = {}
        records, children = read_closed_shard(self, kinesis, "busy", shard_id(0))
        read[shard_id(0)] = records
        self.assertEqual(
            children,
            [{"ShardId": shard_id(1), "ParentShards": [shard_id(0)],
              "HashKeyRange": shards[shard_id(1)]["HashKeyRange"]},
             {"ShardId": shard_id(2), "ParentShards": [shard_id(0)],
              "HashKeyRange": shards[shard_id(2)]["HashKeyRange"]}])
        for parent in (shard_id(1), shard_id(2)):
            records, children = read_closed_shard(self, kinesis, "busy", parent)
            read[parent] = records
            self.assertEqual(children, [{"ShardId": shard_id(3),
                                         "ParentShards": [shard_id(1), shard_id(2)],
                                         "HashKeyRange": shards[shard_id(3)]["HashKeyRange"]}])
        read[shard_id(3)] = read_open_shard(self, kinesis, "busy", shard_id(3))

        seen = {}
        for shard, records in read.items():
            for record in records:
                self.assertNotIn(record["Data"], seen)
                seen[record["Data"]] = (shard, record["SequenceNumber"])
        self.assertEqual(seen, acked)
        for shard, records in read.items():
            if records:
                ending = shards[shard]["SequenceNumberRange"].get("EndingSequenceNumber")
                if ending:
                    self.assertEqual(records[-1]["SequenceNumber"], ending)
        # Children's numbers sort above their parents'.
        self.assertGreater(
            min(int(r["SequenceNumber"]) for r in read[shard_id(3)]),
            max(int(r["SequenceNumber"]) for s in (0, 1, 2) for r in read[shard_id(s)]))

    def test_list_shards_filters_see_the_lineage(self):
        kinesis = self.kinesis
        kinesis.create_stream(StreamName="filtered", ShardCount=2)
        self.wait_active("filtered")
        kinesis.split_shard(StreamName="filtered", ShardToSplit=shard_id(0),
                            NewStartingHashKey="1000")
        kinesis.merge_shards(StreamName="filtered", ShardToMerge=shard_id(3),
                             AdjacentShardToMerge=shard_id(1))

        def ids(filter_=None):
            extra = {"ShardFilter": filter_} if filter_ else {}
            return [s["ShardId"] for s in
                    kinesis.list_shards(StreamName="filtered", **extra)["Shards"]]

        self.assertEqual(ids(), [shard_id(i) for i in range(5)])
        self.assertEqual(ids({"Type": "FROM_TRIM_HORIZON"}), [shard_id(i) for i in range(5)])
        self.assertEqual(ids({"Type": "AT_LATEST"}), [shard_id(2), shard_id(4)])
        self.assertEqual(ids({"Type": "AT_TRIM_HORIZON"}), [shard_id(0), shard_id(1)])
        self.assertEqual(ids({"Type": "AFTER_SHARD_ID", "ShardId": shard_id(2)}),
                         [shard_id(3), shard_id(4)])
        summary = kinesis.describe_stream_summary(StreamName="filtered")
        self.assertEqual(summary["StreamDescriptionSummary"]["OpenShardCount"], 2)

    def test_update_shard_count_scales_up_and_down_to_even_ranges(self):
        kinesis = self.kinesis
        kinesis.create_stream(StreamName="scaled", ShardCount=2)
        self.wait_active("scaled")
        current = 2
        for target in (4, 3, 6, 3, 2):
            answer = kinesis.update_shard_count(StreamName="scaled",
                                                TargetShardCount=target,
                                                ScalingType="UNIFORM_SCALING")
            self.assertEqual(answer["StreamName"], "scaled")
            self.assertEqual(answer["CurrentShardCount"], current)
            self.assertEqual(answer["TargetShardCount"], target)
            self.wait_active("scaled")
            self.assertEqual(open_ranges(kinesis, "scaled"), even_ranges(target))
            current = target
        # Records route to the open shards only.
        out = kinesis.put_record(StreamName="scaled", Data=b"x", PartitionKey="a")
        open_ids = [s["ShardId"] for s in kinesis.list_shards(
            StreamName="scaled", ShardFilter={"Type": "AT_LATEST"})["Shards"]]
        self.assertIn(out["ShardId"], open_ids)

    def test_errors_use_aws_wording(self):
        kinesis = self.kinesis
        kinesis.create_stream(StreamName="strict", ShardCount=3)
        self.wait_active("strict")
        self.assertError(
            kinesis.split_shard, "InvalidArgumentException",
            f"NewStartingHashKey 1 used in SplitShard() on shard {shard_id(0)} in stream "
            f"strict under account {ACCOUNT} is not both greater than one plus the shard's "
            "StartingHashKey 0 and less than the shard's EndingHashKey "
            f"{even_ranges(3)[0][1]}.",
            StreamName="strict", ShardToSplit=shard_id(0), NewStartingHashKey="1")
        self.assertError(
            kinesis.split_shard, "ResourceNotFoundException",
            f"Could not find shard {shard_id(9)} in stream strict under account {ACCOUNT}.",
            StreamName="strict", ShardToSplit=shard_id(9), NewStartingHashKey="100")
        self.assertError(
            kinesis.merge_shards, "InvalidArgumentException",
            f"Shards {shard_id(0)} and {shard_id(2)} in stream strict under account "
            f"{ACCOUNT} are not an adjacent pair of shards eligible for merging",
            StreamName="strict", ShardToMerge=shard_id(0), AdjacentShardToMerge=shard_id(2))
        kinesis.merge_shards(StreamName="strict", ShardToMerge=shard_id(0),
                             AdjacentShardToMerge=shard_id(1))
        self.wait_active("strict")
        self.assertError(
            kinesis.split_shard, "InvalidArgumentException",
            f"Shard {shard_id(0)} in stream strict under account {ACCOUNT} has already "
            "been merged or split, and thus is not eligible for merging or splitting.",
            StreamName="strict", ShardToSplit=shard_id(0), NewStartingHashKey="100")
        self.assertError(
            kinesis.update_shard_count, "LimitExceededException",
            "UpdateShardCount cannot scale up over double your current open shard count. "
            "Current open shard count: 2, Target shard count: 5",
            StreamName="strict", TargetShardCount=5, ScalingType="UNIFORM_SCALING")
        kinesis.create_stream(StreamName="wide", ShardCount=5)
        self.wait_active("wide")
        self.assertError(
            kinesis.update_shard_count, "LimitExceededException",
            "UpdateShardCount cannot scale down below half your current open shard count. "
            "Current open shard count: 5, Target shard count: 2",
            StreamName="wide", TargetShardCount=2, ScalingType="UNIFORM_SCALING")
        kinesis.create_stream(StreamName="elastic",
                              StreamModeDetails={"StreamMode": "ON_DEMAND"})
        self.wait_active("elastic")
        with self.assertRaises(ClientError) as raised:
            kinesis.split_shard(StreamName="elastic", ShardToSplit=shard_id(0),
                                NewStartingHashKey="100")
        self.assertEqual(raised.exception.response["Error"]["Code"], "ValidationException")


class ReshardRestartTest(unittest.TestCase):
    def test_restart_keeps_closed_shard_lineage(self):
        data_dir = tempfile.mkdtemp(prefix="sluice-e2e-reshard-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        server = start_server(self, "--data-dir", data_dir, in_memory=False)
        kinesis = kinesis_client(server)
        kinesis.create_stream(StreamName="kept", ShardCount=1)
        poll_until(lambda: kinesis.describe_stream_summary(StreamName="kept")
                   ["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE", 30, "ACTIVE")
        kinesis.put_record(StreamName="kept", Data=b"old", PartitionKey="a")
        kinesis.split_shard(StreamName="kept", ShardToSplit=shard_id(0),
                            NewStartingHashKey=str(2**127))
        poll_until(lambda: kinesis.describe_stream_summary(StreamName="kept")
                   ["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE", 30, "ACTIVE")
        new = kinesis.put_record(StreamName="kept", Data=b"new", PartitionKey="a")
        before = kinesis.list_shards(StreamName="kept")["Shards"]
        self.assertEqual(server.stop(), 0)

        server = start_server(self, "--data-dir", data_dir, in_memory=False)
        kinesis = kinesis_client(server)
        self.assertEqual(kinesis.list_shards(StreamName="kept")["Shards"], before)
        records, children = read_closed_shard(self, kinesis, "kept", shard_id(0))
        self.assertEqual([r["Data"] for r in records], [b"old"])
        self.assertEqual([c["ShardId"] for c in children], [shard_id(1), shard_id(2)])
        again = kinesis.put_record(StreamName="kept", Data=b"again", PartitionKey="a")
        self.assertEqual(again["ShardId"], new["ShardId"])
        self.assertGreater(int(again["SequenceNumber"]), int(new["SequenceNumber"]))


if __name__ == "__main__":
    unittest.main()
