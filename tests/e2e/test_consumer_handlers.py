"""The `forward` and `archive` consumer handlers end to end, against the real
binary. Forward: telemetry records go into a stream; two consumers copy
those with speed >= 200 into a second Kinesis stream (read back with
GetRecords) and into a Firehose delivery stream (flushed, then its objects
read from the archive root). Archive: a backlog of records is archived into
gzipped, date-partitioned files; the server is killed with SIGKILL while it
works, its checkpoints are put back to the start (the widest window a crash
can hit), and after the restart and more records every record must be in the
archive files exactly once."""

import csv
import gzip
import io
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import tempfile
import unittest
from collections import Counter

from sluice_process import poll_until, start_server, stop_cleanly
from test_consumer_metrics import admin, kinesis_client, read_stream
from test_firehose import files_under, firehose_client, flush, s3_config

DEADLINE_S = 60
EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                       "config", "examples", "telemetry.json")


def telemetry(rng, n):
    """One lap record of a vehicle, speed 150-260 (200 exactly now and then)."""
    speed = 200 if n % 17 == 0 else round(rng.uniform(150, 260), 1)
    return {"id": n, "vehicle_id": f"car-{n % 7}", "lap": n // 7, "speed": speed,
            "fuel_consumption": round(rng.uniform(1, 3), 2),
            "lap_time": round(rng.uniform(80, 95), 3)}


def put_all(kinesis, stream, records):
    """PutRecords in batches of 500, retrying the entries that failed."""
    for start in range(0, len(records), 500):
        entries = [{"Data": json.dumps(r).encode(), "PartitionKey": r["vehicle_id"]}
                   for r in records[start:start + 500]]
        while entries:
            answer = kinesis.put_records(StreamName=stream, Records=entries)
            entries = [e for e, r in zip(entries, answer["Records"]) if "ErrorCode" in r]


def concatenated_json(text):
    """The records of a Firehose object without delimiters, as JSON text."""
    decoder, at, out = json.JSONDecoder(), 0, []
    while at < len(text):
        value, end = decoder.raw_decode(text, at)
        out.append(json.dumps(value))
        at = end
    return out


def wait_active(kinesis, stream):
    poll_until(lambda: kinesis.describe_stream_summary(StreamName=stream)
               ["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE",
               DEADLINE_S, f"stream {stream} ACTIVE")


class ForwardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="sluice-forward-")
        cls.addClassCleanup(shutil.rmtree, cls.workdir, True)
        cls.archive = os.path.join(cls.workdir, "archive")
        cls.server = start_server(cls, "--archive-root", cls.archive)
        cls.kinesis = kinesis_client(cls.server)
        cls.firehose = firehose_client(cls.server)

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.server)

    def test_records_with_speed_200_or_more_reach_a_stream_and_a_delivery_stream(self):
        for name, shards in (("laps", 2), ("fast-laps", 2)):
            self.kinesis.create_stream(StreamName=name, ShardCount=shards)
            wait_active(self.kinesis, name)
        self.firehose.create_delivery_stream(
            DeliveryStreamName="fast-fh",
            ExtendedS3DestinationConfiguration=s3_config(
                "fast-bucket", CompressionFormat="GZIP"))
        fast = {"speed": {">=": 200}}
        admin(self.server, "CreateConsumer", {
            "ConsumerName": "to-stream", "StreamName": "laps",
            "StartingPosition": "TRIM_HORIZON", "BatchSize": 50,
            "Handler": {"type": "forward", "stream": "fast-laps", "match": fast}})
        admin(self.server, "CreateConsumer", {
            "ConsumerName": "to-firehose", "StreamName": "laps",
            "StartingPosition": "TRIM_HORIZON", "BatchSize": 50,
            "Handler": {"type": "forward", "delivery_stream": "fast-fh",
                        "match": fast}})
        rng = random.Random(3)
        records = [telemetry(rng, n) for n in range(400)]
        records.append({"id": 400, "vehicle_id": "car-x", "speed": "not a number"})
        put_all(self.kinesis, "laps", records)
        expected = Counter((r["vehicle_id"], json.dumps(r)) for r in records
                           if isinstance(r["speed"], float | int) and r["speed"] >= 200)
        self.assertTrue(any(r["speed"] == 200 for r in records))
        self.assertGreater(len(expected), 100)

        def forwarded():
            shards = read_stream(self.kinesis, "fast-laps")
            return Counter((r["PartitionKey"], r["Data"].decode())
                           for records in shards.values() for r in records)
        # Partition keys kept; each record once (no put failed, so no retry).
        poll_until(lambda: forwarded() == expected, DEADLINE_S,
                   "the fast laps in the second stream")

        objects = []

        def delivered():
            objects.extend(flush(self.server, "fast-fh"))
            return sum(o["Records"] for o in objects)
        poll_until(lambda: delivered() >= sum(expected.values()), DEADLINE_S,
                   "the fast laps delivered")
        documents = []
        for obj in objects:
            self.assertTrue(obj["Key"].endswith(".gz"))
            with open(os.path.join(self.archive, "fast-bucket", obj["Key"]), "rb") as f:
                documents += concatenated_json(gzip.decompress(f.read()).decode())
        self.assertEqual(Counter(documents),
                         Counter(data for _, data in expected.elements()))

    def test_a_forward_to_a_missing_stream_is_retried_until_it_exists(self):
        self.kinesis.create_stream(StreamName="early", ShardCount=1)
        wait_active(self.kinesis, "early")
        admin(self.server, "CreateConsumer", {
            "ConsumerName": "to-late", "StreamName": "early",
            "StartingPosition": "TRIM_HORIZON", "MaximumRetryAttempts": -1,
            "Handler": {"type": "forward", "stream": "late",
                        "partition_key": "{vehicle_id}-copy"}})
        put_all(self.kinesis, "early", [{"id": 1, "vehicle_id": "car-1"}])
        poll_until(lambda: admin(self.server, "DescribeConsumer",
                                 {"ConsumerName": "to-late"})
                   ["Consumer"]["Counts"]["FunctionErrors"] > 0,
                   DEADLINE_S, "a function error for the missing stream")
        self.kinesis.create_stream(StreamName="late", ShardCount=1)
        wait_active(self.kinesis, "late")

        def copied():
            return [(r["PartitionKey"], json.loads(r["Data"]))
                    for records in read_stream(self.kinesis, "late").values()
                    for r in records]
        poll_until(lambda: copied() == [("car-1-copy", {"id": 1, "vehicle_id": "car-1"})],
                   DEADLINE_S, "the record, once the stream exists")

    def test_bad_settings_are_refused(self):
        response, answer = self.server.call("CreateConsumer", json.dumps({
            "ConsumerName": "bad", "StreamName": "laps",
            "StartingPosition": "LATEST",
            "Handler": {"type": "forward", "stream": "a", "delivery_stream": "b"}}),
            api="SluiceAdmin.")
        self.assertEqual(response.status, 400, answer)
        self.assertIn("exactly one of", answer["message"])


def archived_files(root):
    """Every finished archive object below `root` (the writer's temporary
    files excluded)."""
    return [p for p in files_under(root) if not p.endswith(".sluice-tmp")] \
        if os.path.isdir(root) else []


def archived_ids(root):
    ids = []
    for path in archived_files(root):
        with open(os.path.join(root, path), "rb") as f:
            ids += [json.loads(line)["id"]
                    for line in gzip.decompress(f.read()).splitlines()]
    return ids


class ArchiveExactlyOnceTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sluice-archive-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.data = os.path.join(self.dir, "data")
        self.root = os.path.join(self.data, "consumers", "archive", "raw")

    def start(self):
        return start_server(self, "--data-dir", self.data, in_memory=False)

    def test_sigkill_mid_stream_archives_every_record_exactly_once(self):
        rng = random.Random(11)
        server = self.start()
        kinesis = kinesis_client(server)
        kinesis.create_stream(StreamName="laps", ShardCount=2)
        wait_active(kinesis, "laps")
        put_all(kinesis, "laps", [telemetry(rng, n) for n in range(20000)])
        admin(server, "CreateConsumer", {
            "ConsumerName": "archiver", "StreamName": "laps",
            "StartingPosition": "TRIM_HORIZON", "BatchSize": 100,
            "Handler": {"type": "archive", "prefix": "raw/",
                        "size_mb": 0.05, "interval_seconds": 1}})

        poll_until(lambda: archived_files(self.root), DEADLINE_S, "a first object")
        server.kill()
        server.wait()
        at_kill = len(archived_ids(self.root))
        self.assertLess(at_kill, 20000, "the kill came after the backlog was done")
        # As if every staged batch had been committed with no checkpoint
        # saved: the consumer hands everything over again after the restart.
        catalog = sqlite3.connect(os.path.join(self.data, "catalog.db"))
        with catalog:
            rewound = catalog.execute("UPDATE checkpoints SET position = '0' "
                                      "WHERE reader = 'consumer/archiver'").rowcount
        catalog.close()
        self.assertEqual(rewound, 2)

        server = self.start()
        kinesis = kinesis_client(server)
        put_all(kinesis, "laps", [telemetry(rng, n) for n in range(20000, 22000)])
        poll_until(lambda: len(archived_ids(self.root)) >= 22000, DEADLINE_S,
                   "every record archived")
        ids = Counter(archived_ids(self.root))
        self.assertEqual([i for i, n in ids.items() if n > 1], [], "archived twice")
        self.assertEqual(sorted(ids), list(range(22000)))
        for path in archived_files(self.root):
            self.assertRegex(path, re.compile(
                r"^year=\d{4}/month=\d\d/day=\d\d/archiver-shardId-\d{12}-\d+\.gz$"))
        # The manifest covers the same records, per shard without gaps.
        db = sqlite3.connect(os.path.join(self.data, "consumers", "archive-staging",
                                          "archiver.db"))
        rows = db.execute("SELECT shard_id, first_offset, last_offset, records"
                          " FROM sluice_archive_objects"
                          " ORDER BY shard_id, first_offset").fetchall()
        db.close()
        self.assertEqual(len(rows), len(archived_files(self.root)))
        self.assertEqual(sum(r[3] for r in rows), 22000)
        next_offset = {}
        for shard, first, last, count in rows:
            self.assertEqual(first, next_offset.get(shard, 0), (shard, first))
            self.assertEqual(count, last - first + 1)
            next_offset[shard] = last + 1
        self.assertEqual(server.stop(), 0)


class TelemetryExampleTest(unittest.TestCase):
    """config/examples/telemetry.json as its README runs it: one command,
    then `sluice-cli load telemetry`."""

    def test_the_example_archives_enriches_and_forwards(self):
        workdir = tempfile.mkdtemp(prefix="sluice-telemetry-")
        self.addCleanup(shutil.rmtree, workdir, True)
        data, archive = os.path.join(workdir, "data"), os.path.join(workdir, "archive")
        server = start_server(self, "--config", EXAMPLE, "--data-dir", data,
                              "--archive-root", archive, in_memory=False)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        load = subprocess.run(
            [os.environ["SLUICE_CLI"], "--endpoint", server.endpoint, "load", "telemetry",
             "--stream", "telemetry", "--records", "2000", "--seed", "5"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env,
            timeout=DEADLINE_S)
        self.assertEqual(load.returncode, 0, load.stderr)

        raw_root = os.path.join(data, "consumers", "archive", "raw")

        def raw():
            records = []
            for path in archived_files(raw_root):
                with open(os.path.join(raw_root, path), "rb") as f:
                    records += [json.loads(line)
                                for line in gzip.decompress(f.read()).splitlines()]
            return records
        # Rolled by time (10 s) with no flush: the archive handler's roller.
        poll_until(lambda: len(raw()) >= 2000, DEADLINE_S, "2000 records archived")
        records = raw()
        self.assertEqual(len(records), 2000)
        fast = [r for r in records if r["speed"] >= 200]
        self.assertGreater(len(fast), 0)
        self.assertLess(len(fast), len(records))

        def delivered(name, count):
            """The decompressed bytes of each object of `name` once `count`
            records are in them."""
            objects = []

            def flushed():
                objects.extend(flush(server, name))
                return sum(o["Records"] for o in objects) >= count
            poll_until(flushed, DEADLINE_S, f"{count} records in {name}")
            out = []
            for obj in objects:
                with open(os.path.join(archive, "telemetry", obj["Key"]), "rb") as f:
                    out.append(gzip.decompress(f.read()).decode())
            return objects, out

        # telemetry-enriched: every record as a JSON line, with EXTRA2.
        _, bodies = delivered("telemetry-enriched", len(records))
        enriched = [json.loads(line) for body in bodies for line in body.splitlines()]
        for record in enriched:
            self.assertAlmostEqual(record.pop("EXTRA2"),
                                   record["fuel_consumption"] * record["lap_time"])
        self.assertEqual(sorted(json.dumps(r, sort_keys=True) for r in enriched),
                         sorted(json.dumps(r, sort_keys=True) for r in records))

        # fast-laps: the laps at 200 or more, and only those, as CSV rows
        # speed,rpm,gear,throttle, each ending in one newline.
        objects, bodies = delivered("fast-laps", len(fast))
        for obj in objects:
            self.assertTrue(obj["Key"].startswith("fast/year="), obj["Key"])
            self.assertTrue(obj["Key"].endswith(".csv.gz"), obj["Key"])
        for body in bodies:
            self.assertTrue(body.endswith("\n"), body[-80:])
            self.assertNotIn("\n\n", body)
            self.assertNotIn("{", body)
        rows = [row for body in bodies for row in csv.reader(io.StringIO(body))]
        for row in rows:
            self.assertEqual(len(row), 4, row)
            self.assertGreaterEqual(float(row[0]), 200, row)
        columns = ("speed", "rpm", "gear", "throttle")
        self.assertEqual(
            sorted(tuple(float(value) for value in row) for row in rows),
            sorted(tuple(float(r[c]) for c in columns) for r in fast))
        self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    unittest.main()
