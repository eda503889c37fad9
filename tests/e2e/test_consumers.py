"""In-process consumers end to end: boto3 produces into the real binary, a
consumer with the `exec` handler runs handlers/record_handler.py once per
batch, and each test reads what the handler recorded to show one
event-source-mapping setting at work: batch sizes, the batching window,
order per partition key under ParallelizationFactor, retries then the
on-failure record (exact shape), bisecting down to one poison record,
ReportBatchItemFailures re-delivering from the failed item, pause and
resume, a restart resuming from the checkpoint, a split shard while
consuming, the admin API's errors and the config file's "consumers"."""

import json
import os
import re
import shutil
import signal
import sys
import tempfile
import unittest

import boto3
import botocore.config

from sluice_process import SluiceProcess, poll_until, start_server, stop_cleanly

ADMIN = "SluiceAdmin."
DEADLINE_S = 30
HANDLER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "handlers",
                       "record_handler.py")
ISO_MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def kinesis_client(server):
    config = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"})
    return boto3.client("kinesis", endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="y", config=config)


def admin(server, operation, body, expect=200):
    response, answer = server.call(operation, json.dumps(body), api=ADMIN)
    if response.status != expect:
        raise AssertionError(f"{operation} answered {response.status} {answer}")
    return answer


def calls(path):
    """Every call the handler recorded, in order; a line still being written
    (no newline yet) is left for the next look."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.endswith("\n")]


def delivered(path):
    """Data of the records of successful calls, in order."""
    return [r["data"] for c in calls(path) if c["outcome"] == "ok" for r in c["records"]]


class ConsumerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="sluice-consumers-")
        cls.addClassCleanup(shutil.rmtree, cls.root, True)
        cls.server = start_server(cls, "--consumer-root", cls.root)
        cls.kinesis = kinesis_client(cls.server)

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.server)

    def setUp(self):
        self.name = self.id().rsplit(".", 1)[-1].replace("test_", "")[:60]
        self.out = os.path.join(self.root, self.name + ".calls.jsonl")

    def make_stream(self, shards=1):
        self.kinesis.create_stream(StreamName=self.name, ShardCount=shards)
        return self.kinesis.describe_stream_summary(
            StreamName=self.name)["StreamDescriptionSummary"]["StreamARN"]

    def put(self, *datas, key="k"):
        seqs = []
        for data in datas:
            seqs.append(self.kinesis.put_record(StreamName=self.name, Data=data.encode(),
                                                PartitionKey=key)["SequenceNumber"])
        return seqs

    def consumer(self, *handler_args, **settings):
        body = {"ConsumerName": self.name, "StreamName": self.name,
                "StartingPosition": "TRIM_HORIZON",
                "Handler": {"type": "exec", "timeout_seconds": 30,
                            "command": [sys.executable, HANDLER, "--out", self.out,
                                        *handler_args]}}
        body.update(settings)
        return admin(self.server, "CreateConsumer", body)

    def wait_delivered(self, count):
        return poll_until(lambda: len(delivered(self.out)) >= count and delivered(self.out),
                          DEADLINE_S, f"{count} records delivered to {self.name}")

    def describe(self):
        return admin(self.server, "DescribeConsumer", {"ConsumerName": self.name})["Consumer"]

    # --- settings ------------------------------------------------------------

    def test_batch_size_caps_each_call(self):
        self.make_stream()
        datas = [f"r{i}" for i in range(25)]
        self.kinesis.put_records(StreamName=self.name, Records=[
            {"Data": d.encode(), "PartitionKey": "k"} for d in datas])
        self.consumer(BatchSize=10)
        self.assertEqual(self.wait_delivered(25), datas)
        self.assertEqual([len(c["records"]) for c in calls(self.out)], [10, 10, 5])

    def test_event_is_lambdas_kinesis_event(self):
        arn = self.make_stream()
        seq, = self.put("héllo")
        self.consumer()
        self.wait_delivered(1)
        record = calls(self.out)[0]["event"]["Records"][0]
        self.assertEqual(set(record), {"kinesis", "eventSource", "eventVersion", "eventID",
                                       "eventName", "invokeIdentityArn", "awsRegion",
                                       "eventSourceARN"})
        self.assertEqual(set(record["kinesis"]), {"kinesisSchemaVersion", "partitionKey",
                                                  "sequenceNumber", "data",
                                                  "approximateArrivalTimestamp"})
        self.assertEqual(record["kinesis"]["kinesisSchemaVersion"], "1.0")
        self.assertEqual(record["kinesis"]["sequenceNumber"], seq)
        self.assertEqual(record["kinesis"]["partitionKey"], "k")
        self.assertIsInstance(record["kinesis"]["approximateArrivalTimestamp"], float)
        self.assertEqual(record["eventSource"], "aws:kinesis")
        self.assertEqual(record["eventVersion"], "1.0")
        self.assertEqual(record["eventName"], "aws:kinesis:record")
        self.assertEqual(record["eventID"], f"shardId-000000000000:{seq}")
        self.assertEqual(record["awsRegion"], "us-east-1")
        self.assertEqual(record["eventSourceARN"], arn)
        self.assertEqual(delivered(self.out), ["héllo"])

    def test_batching_window_gathers_records_into_one_call(self):
        self.make_stream()
        self.consumer(BatchSize=100, MaximumBatchingWindowInSeconds=3)
        datas = [f"w{i}" for i in range(5)]
        self.put(*datas)  # one PutRecord each, well inside the window
        self.assertEqual(self.wait_delivered(5), datas)
        self.assertEqual([len(c["records"]) for c in calls(self.out)], [5])

    def test_parallelization_keeps_order_per_key(self):
        self.make_stream()
        keys = [f"user-{k}" for k in range(8)]
        self.kinesis.put_records(StreamName=self.name, Records=[
            {"Data": f"{keys[i % 8]}:{i // 8}".encode(), "PartitionKey": keys[i % 8]}
            for i in range(200)])
        self.consumer(BatchSize=5, ParallelizationFactor=4)
        got = self.wait_delivered(200)
        self.assertEqual(len(got), 200)
        self.assertEqual(len(set(got)), 200)
        for key in keys:
            numbers = [int(d.split(":")[1]) for d in got if d.startswith(key + ":")]
            self.assertEqual(numbers, list(range(25)), key)
        # Keys that share a batch share a lane: with one lane every batch of
        # five consecutive puts would mix five of the eight keys and join them
        # all; with four lanes the keys fall into separate groups.
        groups = {k: {k} for k in keys}
        for call in calls(self.out):
            batch_keys = {r["key"] for r in call["records"]}
            self.assertLessEqual(len(call["records"]), 5)
            merged = set().union(*(groups[k] for k in batch_keys))
            for k in merged:
                groups[k] = merged
        self.assertGreater(len({frozenset(g) for g in groups.values()}), 1)

    def test_retries_then_the_on_failure_record(self):
        arn = self.make_stream()
        seqs = self.put("a", "poison", "b")
        self.consumer("--crash-on", "poison", BatchSize=10, MaximumRetryAttempts=2,
                      DestinationConfig={"OnFailure": {
                          "Destination": f"file:failures/{self.name}.jsonl"}})
        failures = os.path.join(self.root, "failures", self.name + ".jsonl")
        poll_until(lambda: os.path.exists(failures), DEADLINE_S, "the on-failure record")
        self.assertEqual([c["outcome"] for c in calls(self.out)], ["crash"] * 3)
        with open(failures) as f:
            lines = [json.loads(line) for line in f]
        self.assertEqual(len(lines), 1)
        record = lines[0]
        self.assertEqual(set(record), {"requestContext", "responseContext", "version",
                                       "timestamp", "KinesisBatchInfo"})
        self.assertEqual(set(record["requestContext"]),
                         {"requestId", "functionArn", "condition", "approximateInvokeCount"})
        self.assertEqual(record["requestContext"]["condition"], "RetryAttemptsExhausted")
        self.assertEqual(record["requestContext"]["approximateInvokeCount"], 3)
        self.assertEqual(record["requestContext"]["functionArn"],
                         f"arn:aws:lambda:us-east-1:000000000000:function:{self.name}")
        self.assertEqual(record["responseContext"],
                         {"statusCode": 200, "executedVersion": "$LATEST",
                          "functionError": "Unhandled"})
        self.assertEqual(record["version"], "1.0")
        self.assertRegex(record["timestamp"], ISO_MILLIS)
        info = record["KinesisBatchInfo"]
        self.assertEqual(info["shardId"], "shardId-000000000000")
        self.assertEqual(info["startSequenceNumber"], seqs[0])
        self.assertEqual(info["endSequenceNumber"], seqs[2])
        self.assertEqual(info["batchSize"], 3)
        self.assertEqual(info["streamArn"], arn)
        self.assertRegex(info["approximateArrivalOfFirstRecord"], ISO_MILLIS)
        self.assertRegex(info["approximateArrivalOfLastRecord"], ISO_MILLIS)
        # The shard moved on past the discarded batch.
        self.put("c")
        self.assertEqual(self.wait_delivered(1), ["c"])
        self.assertEqual(self.describe()["Counts"]["DiscardedBatches"], 1)

    def test_on_failure_to_a_kinesis_stream(self):
        arn = self.make_stream()
        dlq = self.name + "-dlq"
        self.kinesis.create_stream(StreamName=dlq, ShardCount=1)
        dlq_arn = self.kinesis.describe_stream_summary(
            StreamName=dlq)["StreamDescriptionSummary"]["StreamARN"]
        seq, = self.put("poison")
        self.consumer("--crash-on", "poison", MaximumRetryAttempts=0,
                      DestinationConfig={"OnFailure": {"Destination": dlq_arn}})
        iterator = self.kinesis.get_shard_iterator(
            StreamName=dlq, ShardId="shardId-000000000000",
            ShardIteratorType="TRIM_HORIZON")["ShardIterator"]

        def read():
            return self.kinesis.get_records(ShardIterator=iterator)["Records"]
        records = poll_until(read, DEADLINE_S, "the on-failure record in the stream")
        self.assertEqual(len(records), 1)
        self.assertEqual(records[0]["PartitionKey"], "shardId-000000000000")
        report = json.loads(records[0]["Data"])
        self.assertEqual(report["requestContext"]["condition"], "RetryAttemptsExhausted")
        self.assertEqual(report["requestContext"]["approximateInvokeCount"], 1)
        self.assertEqual(report["KinesisBatchInfo"]["startSequenceNumber"], seq)
        self.assertEqual(report["KinesisBatchInfo"]["streamArn"], arn)

    def test_timeout_is_a_function_error_and_leaves_no_process(self):
        self.make_stream()
        self.put("slow")
        body = {"ConsumerName": self.name, "StreamName": self.name,
                "StartingPosition": "TRIM_HORIZON", "MaximumRetryAttempts": 0,
                "DestinationConfig": {"OnFailure": {"Destination": f"file:{self.name}.jsonl"}},
                "Handler": {"type": "exec", "timeout_seconds": 1,
                            "command": [sys.executable, HANDLER, "--out", self.out,
                                        "--sleep-on", "slow"]}}
        admin(self.server, "CreateConsumer", body)
        failures = os.path.join(self.root, self.name + ".jsonl")
        poll_until(lambda: os.path.exists(failures), DEADLINE_S, "the on-failure record")
        with open(failures) as f:
            report = json.loads(f.readline())
        self.assertEqual(report["responseContext"]["functionError"], "Unhandled")
        # The handler and the grandchild it started (its process group) were
        # killed, and the handler reaped. A killed process may take a moment
        # to disappear, hence the poll.
        with open(self.out + ".pid") as f:
            group = int(f.read())
        poll_until(lambda: not self.leftovers(group), DEADLINE_S,
                   "no process of the handler's group and no child of the server")

    def leftovers(self, group):
        """Live processes of `group`, or children of the server (zombies
        included)."""
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            state, parent, pgid = fields[0], int(fields[1]), int(fields[2])
            if parent == self.server.pid or (pgid == group and state != "Z"):
                found.append(pid)
        return found

    def test_at_timestamp_starts_at_the_first_record_at_or_after_it(self):
        self.make_stream()
        self.put("before")
        shard_iterator = self.kinesis.get_shard_iterator(
            StreamName=self.name, ShardId="shardId-000000000000",
            ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        first = self.kinesis.get_records(ShardIterator=shard_iterator)["Records"][0]
        start = first["ApproximateArrivalTimestamp"].timestamp() + 0.001
        self.put("after")
        arrivals = self.kinesis.get_records(ShardIterator=shard_iterator)["Records"]
        self.assertGreaterEqual(arrivals[1]["ApproximateArrivalTimestamp"].timestamp(), start)
        self.consumer(StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp=start)
        self.assertEqual(self.wait_delivered(1), ["after"])

    def test_latest_skips_what_was_there(self):
        self.make_stream()
        self.put("old")
        self.consumer(StartingPosition="LATEST")
        self.put("new")
        self.assertEqual(self.wait_delivered(1), ["new"])

    def test_bisect_isolates_one_poison_record(self):
        self.make_stream()
        datas = [f"b{i}" for i in range(8)]
        datas[5] = "poison"
        seqs = self.put(*datas)
        self.consumer("--crash-on", "poison", BatchSize=8, MaximumRetryAttempts=0,
                      BisectBatchOnFunctionError=True,
                      DestinationConfig={"OnFailure": {
                          "Destination": f"file:{self.name}.jsonl"}})
        failures = os.path.join(self.root, self.name + ".jsonl")
        poll_until(lambda: os.path.exists(failures), DEADLINE_S, "the on-failure record")
        with open(failures) as f:
            lines = [json.loads(line) for line in f]
        self.assertEqual(len(lines), 1)
        info = lines[0]["KinesisBatchInfo"]
        self.assertEqual((info["batchSize"], info["startSequenceNumber"],
                          info["endSequenceNumber"]), (1, seqs[5], seqs[5]))
        good = [d for d in datas if d != "poison"]
        self.assertEqual(sorted(self.wait_delivered(7)), sorted(good))
        self.assertEqual(len(delivered(self.out)), 7)  # each good record once

    def test_report_batch_item_failures_redelivers_from_the_failed_item(self):
        self.make_stream()
        self.put("a", "b", "bad", "c", "d")
        state = os.path.join(self.root, self.name + ".state")
        self.consumer("--report-on", "bad", "--once", state, BatchSize=10,
                      FunctionResponseTypes=["ReportBatchItemFailures"])
        poll_until(lambda: len(calls(self.out)) >= 2, DEADLINE_S, "the retry")
        got = calls(self.out)
        self.assertEqual([r["data"] for r in got[0]["records"]], ["a", "b", "bad", "c", "d"])
        self.assertEqual(got[0]["outcome"], "report")
        self.assertEqual([r["data"] for r in got[1]["records"]], ["bad", "c", "d"])
        self.assertEqual(got[1]["outcome"], "ok")

    def test_without_report_batch_item_failures_the_answer_is_ignored(self):
        self.make_stream()
        self.put("a", "bad", "c")
        self.consumer("--report-on", "bad", BatchSize=10)
        self.put("after")
        poll_until(lambda: any(r["data"] == "after" for c in calls(self.out)
                               for r in c["records"]), DEADLINE_S, "the next record")
        self.assertEqual(sum(1 for c in calls(self.out) for r in c["records"]
                             if r["data"] == "bad"), 1)

    def test_pause_holds_position_and_resume_continues(self):
        self.make_stream()
        self.consumer()
        self.put("one")
        self.wait_delivered(1)
        admin(self.server, "PauseConsumer", {"ConsumerName": self.name})
        self.assertEqual(self.describe()["State"], "PAUSED")
        self.put("two", "three")
        poll_until(lambda: self.describe()["Shards"][0]["RecordsBehind"] == 2, DEADLINE_S,
                   "two records waiting")
        self.assertEqual(delivered(self.out), ["one"])
        admin(self.server, "ResumeConsumer", {"ConsumerName": self.name})
        self.assertEqual(self.wait_delivered(3), ["one", "two", "three"])
        shard = poll_until(lambda: (lambda s: s["RecordsBehind"] == 0 and s)(
            self.describe()["Shards"][0]), DEADLINE_S, "caught up")
        self.assertEqual(shard["MillisBehindLatest"], 0)
        self.assertGreaterEqual(shard["IteratorAgeMillis"], 0)
        self.assertEqual(shard["Position"], 3)
        consumer = self.describe()
        self.assertEqual(consumer["MillisBehindLatest"], 0)
        self.assertGreaterEqual(consumer["IteratorAgeMillis"], shard["IteratorAgeMillis"])
        self.assertEqual(consumer["Counts"]["Records"], 3)

    def test_split_shard_while_consuming_loses_nothing(self):
        self.make_stream()
        self.consumer(BatchSize=7)
        first = [f"p{i}" for i in range(40)]
        for i in range(0, 40, 10):
            self.kinesis.put_records(StreamName=self.name, Records=[
                {"Data": d.encode(), "PartitionKey": d} for d in first[i:i + 10]])
        self.kinesis.split_shard(StreamName=self.name, ShardToSplit="shardId-000000000000",
                                 NewStartingHashKey=str(2**127))
        poll_until(lambda: self.kinesis.describe_stream_summary(StreamName=self.name)
                   ["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE",
                   DEADLINE_S, "ACTIVE")
        second = [f"c{i}" for i in range(40)]
        self.kinesis.put_records(StreamName=self.name, Records=[
            {"Data": d.encode(), "PartitionKey": d} for d in second])
        got = self.wait_delivered(80)
        self.assertEqual(sorted(got), sorted(first + second))
        self.assertEqual(got[:40], first)  # the parent, in order, before its children
        shards = {c["records"][0]["eventID"].split(":")[0] for c in calls(self.out)}
        self.assertEqual(shards, {"shardId-000000000000", "shardId-000000000001",
                                  "shardId-000000000002"})
        states = poll_until(lambda: (lambda s: s.get("shardId-000000000000") == "FINISHED"
                                     and s)({s["ShardId"]: s["State"]
                                             for s in self.describe()["Shards"]}),
                            DEADLINE_S, "the parent finished")
        self.assertEqual(states["shardId-000000000001"], "READING")

    def test_deleting_the_source_stream_stops_the_consumer(self):
        self.make_stream()
        self.consumer()
        self.put("one")
        self.wait_delivered(1)
        self.kinesis.delete_stream(StreamName=self.name)
        consumer = poll_until(lambda: (lambda c: c["State"] == "STREAM_NOT_FOUND" and c)(
            self.describe()), DEADLINE_S, "STREAM_NOT_FOUND")
        self.assertIn(self.name, consumer["LastError"])
        admin(self.server, "DeleteConsumer", {"ConsumerName": self.name})

    # --- admin API -------------------------------------------------------------

    def test_admin_errors_name_the_setting(self):
        self.make_stream()
        base = {"ConsumerName": self.name, "StreamName": self.name,
                "StartingPosition": "LATEST",
                "Handler": {"type": "exec", "command": ["true"]}}
        answer = admin(self.server, "CreateConsumer", dict(base, BatchSize=10001), 400)
        self.assertEqual(answer["__type"], "ValidationException")
        self.assertEqual(answer["message"],
                         "1 validation error detected: Value '10001' at 'batchSize' failed "
                         "to satisfy constraint: Member must have value less than or equal "
                         "to 10000")
        answer = admin(self.server, "CreateConsumer",
                       dict(base, MaximumRecordAgeInSeconds=30), 400)
        self.assertEqual(answer["__type"], "InvalidArgumentException")
        self.assertIn("MaximumRecordAgeInSeconds", answer["message"])
        answer = admin(self.server, "CreateConsumer", dict(base, ParallelizationFactor=11), 400)
        self.assertIn("'parallelizationFactor'", answer["message"])
        answer = admin(self.server, "CreateConsumer", dict(base, StreamName="nope"), 400)
        self.assertEqual(answer["__type"], "ResourceNotFoundException")
        answer = admin(self.server, "CreateConsumer",
                       dict(base, Handler={"type": "exec", "command": []}), 400)
        self.assertIn("Handler.command", answer["message"])
        answer = admin(self.server, "CreateConsumer", dict(base, DestinationConfig={
            "OnFailure": {"Destination": "file:../escape.jsonl"}}), 400)
        self.assertEqual(answer["__type"], "InvalidArgumentException")
        admin(self.server, "CreateConsumer", base)
        answer = admin(self.server, "CreateConsumer", base, 400)
        self.assertEqual(answer["__type"], "ResourceInUseException")
        listed = admin(self.server, "ListConsumers", {})["Consumers"]
        self.assertIn(self.name, [c["ConsumerName"] for c in listed])
        described = self.describe()
        self.assertEqual(described["Definition"]["BatchSize"], 100)
        self.assertEqual(described["Definition"]["MaximumRetryAttempts"], -1)
        self.assertEqual(described["State"], "ACTIVE")
        admin(self.server, "DeleteConsumer", {"ConsumerName": self.name})
        answer = admin(self.server, "DescribeConsumer", {"ConsumerName": self.name}, 400)
        self.assertEqual(answer["__type"], "ResourceNotFoundException")
        answer = admin(self.server, "PauseConsumer", {"ConsumerName": self.name}, 400)
        self.assertEqual(answer["__type"], "ResourceNotFoundException")


class RestartTest(unittest.TestCase):
    """A persistent server: consumers and their checkpoints survive it."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sluice-consumers-restart-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.out = os.path.join(self.dir, "calls.jsonl")

    def start(self, *args):
        return start_server(self, "--data-dir", os.path.join(self.dir, "data"), *args,
                            in_memory=False)

    def test_restart_resumes_from_the_checkpoint(self):
        server = self.start()
        kinesis = kinesis_client(server)
        kinesis.create_stream(StreamName="events", ShardCount=2)
        admin(server, "CreateConsumer", {
            "ConsumerName": "counter", "StreamName": "events", "StartingPosition": "LATEST",
            "BatchSize": 3,
            "Handler": {"type": "exec", "command": [sys.executable, HANDLER, "--out", self.out]}})
        first = [f"a{i}" for i in range(10)]
        for d in first:
            kinesis.put_record(StreamName="events", Data=d.encode(), PartitionKey=d)
        poll_until(lambda: len(delivered(self.out)) == 10, DEADLINE_S, "10 records")
        admin(server, "PauseConsumer", {"ConsumerName": "counter"})
        self.assertEqual(server.stop(), 0)

        server = self.start()
        kinesis = kinesis_client(server)
        consumer = admin(server, "DescribeConsumer", {"ConsumerName": "counter"})["Consumer"]
        self.assertEqual(consumer["State"], "PAUSED")  # paused across the restart
        second = [f"b{i}" for i in range(10)]
        for d in second:
            kinesis.put_record(StreamName="events", Data=d.encode(), PartitionKey=d)
        admin(server, "ResumeConsumer", {"ConsumerName": "counter"})
        poll_until(lambda: len(delivered(self.out)) >= 20, DEADLINE_S, "20 records")
        got = delivered(self.out)
        # A clean stop saved every checkpoint: nothing is handed over twice,
        # and LATEST kept meaning "from when the consumer was created".
        self.assertEqual(sorted(got), sorted(first + second))
        self.assertEqual(server.stop(), 0)

    def test_sigkill_repeats_at_most_the_batches_in_flight(self):
        server = self.start()
        kinesis = kinesis_client(server)
        kinesis.create_stream(StreamName="events", ShardCount=1)
        admin(server, "CreateConsumer", {
            "ConsumerName": "counter", "StreamName": "events",
            "StartingPosition": "TRIM_HORIZON", "BatchSize": 5,
            "Handler": {"type": "exec", "command": [sys.executable, HANDLER, "--out", self.out]}})
        datas = [f"r{i}" for i in range(100)]
        kinesis.put_records(StreamName="events", Records=[
            {"Data": d.encode(), "PartitionKey": "k"} for d in datas])
        poll_until(lambda: len(delivered(self.out)) >= 20, DEADLINE_S, "some records")
        server.kill()
        server = self.start()
        poll_until(lambda: set(delivered(self.out)) == set(datas), DEADLINE_S, "every record")
        got = delivered(self.out)
        # At least once: a batch in flight at the kill may come again, at most
        # one batch (5 records) per shard.
        self.assertLessEqual(len(got) - len(datas), 5)
        self.assertEqual(server.stop(), 0)


class ConfigFileTest(unittest.TestCase):
    def test_consumers_declared_in_the_config_file_run(self):
        root = tempfile.mkdtemp(prefix="sluice-consumers-config-")
        self.addCleanup(shutil.rmtree, root, True)
        out = os.path.join(root, "calls.jsonl")
        config = os.path.join(root, "sluice.json")
        with open(config, "w") as f:
            json.dump({"streams": [{"name": "declared", "shard_count": 1}],
                       "consumers": [{
                           "ConsumerName": "declared-consumer", "StreamName": "declared",
                           "StartingPosition": "TRIM_HORIZON",
                           "Handler": {"type": "exec",
                                       "command": [sys.executable, HANDLER, "--out", out]}}]},
                      f)
        server = start_server(self, "--config", config)
        kinesis_client(server).put_record(StreamName="declared", Data=b"x", PartitionKey="k")
        poll_until(lambda: delivered(out) == ["x"], DEADLINE_S, "the record")
        listed = admin(server, "ListConsumers", {})["Consumers"]
        self.assertEqual([c["ConsumerName"] for c in listed], ["declared-consumer"])
        self.assertEqual(server.stop(), 0)

    def test_a_bad_consumer_in_the_config_file_stops_the_start(self):
        root = tempfile.mkdtemp(prefix="sluice-consumers-config-")
        self.addCleanup(shutil.rmtree, root, True)
        config = os.path.join(root, "sluice.json")
        with open(config, "w") as f:
            json.dump({"consumers": [{
                "ConsumerName": "c", "StreamName": "s", "StartingPosition": "LATEST",
                "BatchSize": 0, "Handler": {"type": "exec", "command": ["true"]}}]}, f)
        server = SluiceProcess("--config", config)
        self.addCleanup(server.cleanup)
        with self.assertRaises(AssertionError):
            server.start()
        self.assertNotEqual(server.wait(), 0)
        self.assertIn("consumers[0]", server.stderr())
        self.assertIn("'batchSize'", server.stderr())


if __name__ == "__main__":
    unittest.main()
