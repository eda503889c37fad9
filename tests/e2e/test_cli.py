"""sluice-cli end to end: each subcommand against the real server, checked
with boto3 (streams, put from arguments and stdin, partial failures under
--enforce-limits retried until every record is in, firehose put, flush and
tail, call), and its usage errors and exit codes."""

import base64
import datetime
import gzip
import json
import os
import pty
import subprocess
import tempfile
import shutil
import time
import unittest

import boto3
import botocore.config

from sluice_process import poll_until, start_server, stop_cleanly

CLI_DEADLINE_S = 60


def cli_bin():
    path = os.environ.get("SLUICE_CLI")
    if not path:
        raise AssertionError("SLUICE_CLI is not set; run this test through ctest")
    return path


def run_cli(*args, endpoint=None, stdin=None, env=None):
    """Runs sluice-cli to completion; returns CompletedProcess (text)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    full_env.update(env or {})
    command = [cli_bin()]
    if endpoint is not None:
        command += ["--endpoint", endpoint]
    return subprocess.run(command + list(args), input=stdin,
                          stdin=None if stdin is not None else subprocess.DEVNULL,
                          capture_output=True, text=True, env=full_env,
                          timeout=CLI_DEADLINE_S)


def client(server, service):
    config = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"})
    return boto3.client(service, endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="y",
                        config=config)


def read_stream(kinesis, stream):
    """Every record of every shard, as (partition key, data) per shard."""
    return {shard: [(k, d.decode("utf-8", "replace")) for k, d in records]
            for shard, records in read_stream_bytes(kinesis, stream).items()}


def read_stream_bytes(kinesis, stream):
    """Every record of every shard, as (partition key, data bytes) per shard."""
    shards = kinesis.list_shards(StreamName=stream)["Shards"]
    found = {}
    for shard in shards:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"],
            ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        records = []
        while True:
            answer = kinesis.get_records(ShardIterator=iterator, Limit=10000)
            records += [(r["PartitionKey"], r["Data"]) for r in answer["Records"]]
            if answer.get("MillisBehindLatest", 0) == 0 and not answer["Records"]:
                break
            iterator = answer["NextShardIterator"]
        found[shard["ShardId"]] = records
    return found


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="sluice-cli-")
        cls.addClassCleanup(shutil.rmtree, cls.workdir, True)
        cls.archive = os.path.join(cls.workdir, "archive")
        cls.server = start_server(cls, "--archive-root", cls.archive)
        cls.kinesis = client(cls.server, "kinesis")
        cls.firehose = client(cls.server, "firehose")

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.server)

    def cli(self, *args, ok=True, **kwargs):
        result = run_cli(*args, endpoint=self.server.endpoint, **kwargs)
        if ok:
            self.assertEqual(result.returncode, 0, result.stderr)
        return result

    def follow_while_putting(self, command, put):
        """Runs a following tail `command` and calls put(n), n = 0, 1, ...,
        until it exits: records put before it reached the tip are not
        shown. Returns what it printed."""
        tail = subprocess.Popen([cli_bin(), "--endpoint", self.server.endpoint, *command],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(tail.kill)
        sent = 0

        def put_next():
            nonlocal sent
            if tail.poll() is not None:
                return True
            put(sent)
            sent += 1
            return False

        poll_until(put_next, CLI_DEADLINE_S, f"{command} to print its records and exit")
        out, err = tail.communicate(timeout=CLI_DEADLINE_S)
        self.assertEqual(tail.returncode, 0, err)
        return out

    def test_streams_create_list_describe_delete(self):
        self.cli("streams", "create", "cli-provisioned", "--shards", "3")
        self.cli("streams", "create", "cli-on-demand")
        self.kinesis.get_waiter("stream_exists").wait(StreamName="cli-provisioned")
        listed = self.cli("streams", "list").stdout.split()
        self.assertIn("cli-provisioned", listed)
        self.assertIn("cli-on-demand", listed)
        summary = json.loads(self.cli("streams", "describe", "cli-provisioned").stdout)
        self.assertEqual(summary["StreamDescriptionSummary"]["OpenShardCount"], 3)
        on_demand = self.kinesis.describe_stream_summary(StreamName="cli-on-demand")
        self.assertEqual(
            on_demand["StreamDescriptionSummary"]["StreamModeDetails"]["StreamMode"],
            "ON_DEMAND")
        self.cli("streams", "delete", "cli-on-demand")
        self.kinesis.get_waiter("stream_not_exists").wait(StreamName="cli-on-demand")

    def test_put_from_arguments_and_stdin(self):
        self.kinesis.create_stream(StreamName="cli-put", ShardCount=2)
        self.kinesis.get_waiter("stream_exists").wait(StreamName="cli-put")
        given = self.cli("put", "cli-put", "--partition-key", "user-1", "a", "b", "c")
        lines = [line.split() for line in given.stdout.splitlines()]
        self.assertEqual(len(lines), 3)
        self.assertEqual(len({shard for shard, _ in lines}), 1)  # one key, one shard
        piped = [f"line {i}" for i in range(1200)]
        self.cli("put", "cli-put", stdin="\n".join(piped) + "\n")
        records = read_stream(self.kinesis, "cli-put")
        keyed = [d for shard in records.values() for k, d in shard if k == "user-1"]
        self.assertEqual(keyed, ["a", "b", "c"])
        others = sorted(d for shard in records.values() for k, d in shard if k != "user-1")
        self.assertEqual(others, sorted(piped))
        # Random keys spread the piped records over both shards.
        self.assertTrue(all(len(shard) > 0 for shard in records.values()))

    def test_put_from_files(self):
        self.kinesis.create_stream(StreamName="cli-files", ShardCount=2)
        self.kinesis.get_waiter("stream_exists").wait(StreamName="cli-files")
        first = os.path.join(self.workdir, "first.txt")
        second = os.path.join(self.workdir, "second.ndjson")
        with open(first, "w") as f:
            f.write("one\ntwo\n")
        with open(second, "w") as f:
            f.write('{"n": 3}\n{"n": 4}')  # no newline after the last line
        put = self.cli("put", "cli-files", "--partition-key", "k", "zero",
                       "--file", first, "--file", second)
        self.assertEqual(len(put.stdout.splitlines()), 5)
        self.assertIn("put 5 records", put.stderr)
        # Each file whole: its newlines and bytes kept.
        blob = os.path.join(self.workdir, "blob.bin")
        with open(blob, "wb") as f:
            f.write(b"line 1\nline 2\n\x00\xff")
        self.cli("put", "cli-files", "--partition-key", "whole", "--file", blob,
                 "--file", first, "--file-per-record")
        records = [r for shard in read_stream_bytes(self.kinesis, "cli-files").values()
                   for r in shard]
        self.assertEqual([d for k, d in records if k == "k"],
                         [b"zero", b"one", b"two", b'{"n": 3}', b'{"n": 4}'])
        self.assertEqual([d for k, d in records if k == "whole"],
                         [b"line 1\nline 2\n\x00\xff", b"one\ntwo\n"])
        missing = self.cli("put", "cli-files", "--file",
                           os.path.join(self.workdir, "nowhere"), ok=False)
        self.assertEqual(missing.returncode, 2)
        self.assertIn("cannot read", missing.stderr)

    def test_put_from_a_long_file_shows_progress_on_a_terminal(self):
        self.kinesis.create_stream(StreamName="cli-long", ShardCount=2)
        self.kinesis.get_waiter("stream_exists").wait(StreamName="cli-long")
        path = os.path.join(self.workdir, "long.txt")
        with open(path, "w") as f:
            f.writelines(f"event {i}\n" for i in range(12000))
        # stderr on a pseudo-terminal, as in a shell.
        controller, terminal = pty.openpty()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        process = subprocess.Popen(
            [cli_bin(), "--endpoint", self.server.endpoint, "put", "cli-long",
             "--file", path], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=terminal, env=env)
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the CLI closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        os.close(controller)
        self.assertEqual(process.wait(timeout=CLI_DEADLINE_S), 0, shown)
        self.assertIn(b"put 500 of 12000", shown)
        self.assertIn(b"put 12000 of 12000", shown)
        self.assertEqual(sum(len(s) for s in read_stream(self.kinesis, "cli-long").values()),
                         12000)

    def test_put_to_a_missing_stream_fails_with_the_aws_error(self):
        result = self.cli("put", "no-such-stream", "x", ok=False)
        self.assertEqual(result.returncode, 1)
        self.assertIn("ResourceNotFoundException", result.stderr)

    def test_firehose_put_and_flush(self):
        self.firehose.create_delivery_stream(
            DeliveryStreamName="cli-delivery",
            ExtendedS3DestinationConfiguration={
                "RoleARN": "arn:aws:iam::000000000000:role/firehose",
                "BucketARN": "arn:aws:s3:::cli-bucket",
                "Prefix": "raw/", "ErrorOutputPrefix": "errors/",
                "CompressionFormat": "GZIP"})
        listed = self.cli("firehose", "list").stdout.split()
        self.assertIn("cli-delivery", listed)
        self.cli("firehose", "put", "cli-delivery", stdin='{"n":1}\n{"n":2}\n')
        self.cli("firehose", "put", "cli-delivery", "--raw", '{"n":3}')
        flushed = self.cli("firehose", "flush", "cli-delivery")
        objects = flushed.stdout.splitlines()
        self.assertEqual(len(objects), 1, flushed.stdout)
        path, count = objects[0].split(" (")
        self.assertEqual(count, "3 records)")
        self.assertTrue(path.startswith("cli-bucket/raw/"), path)
        with open(os.path.join(self.archive, path), "rb") as f:
            self.assertEqual(gzip.decompress(f.read()), b'{"n":1}\n{"n":2}\n{"n":3}')
        # Nothing is left: a second flush writes no object.
        self.assertEqual(self.cli("firehose", "flush", "cli-delivery").stdout, "")
        described = json.loads(self.cli("firehose", "describe", "cli-delivery").stdout)
        self.assertEqual(
            described["DeliveryStreamDescription"]["DeliveryStreamName"], "cli-delivery")

    def test_firehose_tail_reads_the_delivery_streams_log(self):
        self.firehose.create_delivery_stream(
            DeliveryStreamName="cli-fh-tail",
            ExtendedS3DestinationConfiguration={
                "RoleARN": "arn:aws:iam::000000000000:role/firehose",
                "BucketARN": "arn:aws:s3:::cli-tail-bucket",
                "BufferingHints": {"SizeInMBs": 5, "IntervalInSeconds": 900}})
        records = [json.dumps({"n": n}).encode() + b"\n" for n in range(1200)]
        ids = []
        for start in range(0, len(records), 500):
            answer = self.firehose.put_record_batch(
                DeliveryStreamName="cli-fh-tail",
                Records=[{"Data": r} for r in records[start:start + 500]])
            self.assertEqual(answer["FailedPutCount"], 0)
            ids += [r["RecordId"] for r in answer["RequestResponses"]]
        # Plain: one line per record, its own newline ending the line.
        plain = self.cli("firehose", "tail", "cli-fh-tail").stdout
        self.assertEqual(plain.encode(), b"".join(records))
        as_json = [json.loads(line) for line in self.cli(
            "firehose", "tail", "cli-fh-tail", "--from", "trim-horizon", "--json",
            "--count", "1001").stdout.splitlines()]
        self.assertEqual([base64.b64decode(r["data"]) for r in as_json], records[:1001])
        self.assertEqual([r["recordId"] for r in as_json], ids[:1001])
        self.assertEqual([r["position"] for r in as_json], list(range(1001)))
        self.assertTrue(all(r["approximateArrivalTimestamp"] > 1.5e9 for r in as_json))
        # From the tip: nothing until a record is put after it.
        self.assertEqual(self.cli("firehose", "tail", "cli-fh-tail",
                                  "--from", "latest").stdout, "")
        out = self.follow_while_putting(
            ["firehose", "tail", "cli-fh-tail", "--from", "latest", "--follow",
             "--count", "2"],
            lambda n: self.firehose.put_record(DeliveryStreamName="cli-fh-tail",
                                               Record={"Data": f"new-{n}\n".encode()}))
        first = int(out.splitlines()[0].split("-")[1])
        self.assertEqual(out, f"new-{first}\nnew-{first + 1}\n")
        missing = self.cli("firehose", "tail", "no-such-delivery-stream", ok=False)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("ResourceNotFoundException", missing.stderr)
        for bad in (["--from", "yesterday"], ["--count", "x"]):
            result = self.cli("firehose", "tail", "cli-fh-tail", *bad, ok=False)
            self.assertEqual(result.returncode, 2, (bad, result.stderr))

    def test_firehose_put_from_files(self):
        self.firehose.create_delivery_stream(
            DeliveryStreamName="cli-delivery-files",
            ExtendedS3DestinationConfiguration={
                "RoleARN": "arn:aws:iam::000000000000:role/firehose",
                "BucketARN": "arn:aws:s3:::cli-files-bucket"})
        lines = os.path.join(self.workdir, "events.ndjson")
        with open(lines, "w") as f:
            f.write('{"n":1}\n{"n":2}\n')
        whole = os.path.join(self.workdir, "doc.json")
        with open(whole, "w") as f:
            f.write('{"n":3}')
        self.cli("firehose", "put", "cli-delivery-files", "--file", lines)
        self.cli("firehose", "put", "cli-delivery-files", "--file", whole,
                 "--file-per-record", "--raw")
        [obj] = self.cli("firehose", "flush", "cli-delivery-files").stdout.splitlines()
        with open(os.path.join(self.archive, obj.split(" (")[0]), "rb") as f:
            self.assertEqual(f.read(), b'{"n":1}\n{"n":2}\n{"n":3}')

    def test_tail_reads_parents_before_children(self):
        self.kinesis.create_stream(StreamName="cli-tail", ShardCount=1)
        self.kinesis.get_waiter("stream_exists").wait(StreamName="cli-tail")
        self.cli("put", "cli-tail", "--partition-key", "k", "a", "b", "c")
        self.kinesis.split_shard(StreamName="cli-tail",
                                 ShardToSplit="shardId-000000000000",
                                 NewStartingHashKey=str(2 ** 127))
        self.kinesis.get_waiter("stream_exists").wait(StreamName="cli-tail")
        self.cli("put", "cli-tail", "--partition-key", "k", "d", "e")
        self.assertEqual(self.cli("tail", "cli-tail").stdout, "a\nb\nc\nd\ne\n")
        as_json = [json.loads(line) for line in
                   self.cli("tail", "cli-tail", "--json", "--count", "4").stdout.splitlines()]
        self.assertEqual([r["shardId"] for r in as_json[:3]], ["shardId-000000000000"] * 3)
        self.assertNotEqual(as_json[3]["shardId"], "shardId-000000000000")
        self.assertEqual([base64.b64decode(r["data"]) for r in as_json],
                         [b"a", b"b", b"c", b"d"])
        self.assertTrue(all(r["partitionKey"] == "k" for r in as_json))

    def test_tail_follow_from_latest(self):
        self.kinesis.create_stream(StreamName="cli-follow", ShardCount=2)
        self.kinesis.get_waiter("stream_exists").wait(StreamName="cli-follow")
        self.cli("put", "cli-follow", "--partition-key", "k", "old")
        out = self.follow_while_putting(
            ["tail", "cli-follow", "--from", "latest", "--follow", "--count", "3"],
            lambda n: self.kinesis.put_record(StreamName="cli-follow",
                                              PartitionKey="k",
                                              Data=f"new-{n}".encode()))
        lines = out.splitlines()
        self.assertEqual(len(lines), 3, out)
        first = int(lines[0].split("-")[1])
        self.assertEqual(lines, [f"new-{first + i}" for i in range(3)])

    def test_tail_follow_goes_on_into_the_children_of_a_split(self):
        self.kinesis.create_stream(StreamName="cli-follow-split", ShardCount=1)
        self.kinesis.get_waiter("stream_exists").wait(StreamName="cli-follow-split")
        tail = subprocess.Popen(
            [cli_bin(), "--endpoint", self.server.endpoint, "tail", "cli-follow-split",
             "--follow", "--count", "6"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(tail.kill)
        self.cli("put", "cli-follow-split", "--partition-key", "k", "a", "b", "c")
        self.kinesis.split_shard(StreamName="cli-follow-split",
                                 ShardToSplit="shardId-000000000000",
                                 NewStartingHashKey=str(2 ** 127))
        self.kinesis.get_waiter("stream_exists").wait(StreamName="cli-follow-split")
        self.cli("put", "cli-follow-split", "--partition-key", "k", "d", "e", "f")
        out, err = tail.communicate(timeout=CLI_DEADLINE_S)
        self.assertEqual(tail.returncode, 0, err)
        self.assertEqual(out, "a\nb\nc\nd\ne\nf\n")

    def test_tail_from_a_time(self):
        self.kinesis.create_stream(StreamName="cli-since", ShardCount=2)
        self.kinesis.get_waiter("stream_exists").wait(StreamName="cli-since")
        self.cli("put", "cli-since", "--partition-key", "k", "early-1", "early-2")
        early = [json.loads(line) for line in
                 self.cli("tail", "cli-since", "--json").stdout.splitlines()]
        newest = max(r["approximateArrivalTimestamp"] for r in early)
        poll_until(lambda: time.time() > newest + 0.01, CLI_DEADLINE_S,
                   "the clock to pass the early records")
        self.cli("put", "cli-since", "--partition-key", "k", "late-1", "late-2")
        since = f"{newest + 0.005:.3f}"
        self.assertEqual(self.cli("tail", "cli-since", "--from", since).stdout,
                         "late-1\nlate-2\n")
        iso = datetime.datetime.fromtimestamp(newest + 0.005, datetime.timezone.utc)
        self.assertEqual(
            self.cli("tail", "cli-since", "--from",
                     iso.strftime("%Y-%m-%dT%H:%M:%S.%fZ")).stdout,
            "late-1\nlate-2\n")
        self.assertEqual(
            self.cli("tail", "cli-since", "--from", "2000-01-01T00:00:00Z").stdout,
            "early-1\nearly-2\nlate-1\nlate-2\n")

    def test_load_ecommerce_into_a_stream(self):
        self.kinesis.create_stream(StreamName="cli-load", ShardCount=2)
        self.kinesis.get_waiter("stream_exists").wait(StreamName="cli-load")
        result = self.cli("load", "ecommerce", "--stream", "cli-load",
                          "--records", "3000", "--keys", "40", "--seed", "9")
        self.assertIn("ecommerce to stream cli-load: 3000 records", result.stdout)
        self.assertIn("p99", result.stdout)
        records = read_stream(self.kinesis, "cli-load")
        events = [(key, json.loads(data)) for shard in records.values()
                  for key, data in shard]
        self.assertEqual(len(events), 3000)
        self.assertEqual(len({event["event_id"] for _, event in events}), 3000)
        users = [(key, event) for key, event in events
                 if event["event_type"] != "error"]
        self.assertTrue(all(event["data"]["user_id"] == key for key, event in users))
        self.assertEqual(len({key for key, _ in users}), 40)
        self.assertEqual({event["event_type"] for _, event in events},
                         {"page_view", "add_to_cart", "purchase", "error"})

    def test_load_aggregated_then_tail_deaggregated(self):
        self.kinesis.create_stream(StreamName="cli-kpl", ShardCount=1)
        self.kinesis.get_waiter("stream_exists").wait(StreamName="cli-kpl")
        self.cli("load", "telemetry", "--stream", "cli-kpl", "--records", "400",
                 "--keys", "2", "--aggregate")
        stored = read_stream(self.kinesis, "cli-kpl")["shardId-000000000000"]
        self.assertLess(len(stored), 400)  # packed into aggregates
        lines = self.cli("tail", "cli-kpl", "--deaggregate", "--json").stdout.splitlines()
        records = [json.loads(line) for line in lines]
        self.assertEqual(len(records), 400)
        for car in ("car-0", "car-1"):
            mine = [r for r in records if r["partitionKey"] == car]
            self.assertTrue(all(json.loads(base64.b64decode(r["data"]))["car_id"] == car
                                for r in mine))
        self.assertTrue(any(r.get("subSequenceNumber", 0) > 0 for r in records))
        # Without --deaggregate a tail shows what is stored.
        self.assertEqual(
            len(self.cli("tail", "cli-kpl", "--json").stdout.splitlines()),
            len(stored))

    def test_load_telemetry_into_a_delivery_stream_at_a_rate(self):
        self.firehose.create_delivery_stream(
            DeliveryStreamName="cli-telemetry",
            ExtendedS3DestinationConfiguration={
                "RoleARN": "arn:aws:iam::000000000000:role/firehose",
                "BucketARN": "arn:aws:s3:::telemetry-raw"})
        result = self.cli("load", "telemetry", "--delivery-stream", "cli-telemetry",
                          "--records", "500", "--rate", "2000", "--connections", "2")
        self.assertIn("500 records", result.stdout)
        self.assertIn("target 2000/s", result.stdout)
        objects = self.cli("firehose", "flush", "cli-telemetry").stdout.splitlines()
        lines = []
        for line in objects:
            path = line.split(" (")[0]
            with open(os.path.join(self.archive, path), "rb") as f:
                lines += f.read().decode().splitlines()
        self.assertEqual(len(lines), 500)
        self.assertTrue(all("speed" in json.loads(line) for line in lines))

    def test_load_refuses_what_it_cannot_do(self):
        for bad in (["load", "weather", "--stream", "s", "--records", "1"],
                    ["load", "ecommerce", "--records", "1"],
                    ["load", "ecommerce", "--stream", "s"],
                    ["load", "ecommerce", "--stream", "s", "--rate", "-5",
                     "--records", "1"]):
            result = self.cli(*bad, ok=False)
            self.assertEqual(result.returncode, 2, (bad, result.stderr))
        missing = self.cli("load", "ecommerce", "--stream", "no-such-stream",
                           "--records", "10", ok=False)
        self.assertEqual(missing.returncode, 1, missing.stderr)
        self.assertIn("not stored: 10", missing.stdout)

    def test_consumers_and_metrics(self):
        self.kinesis.create_stream(StreamName="cli-shop", ShardCount=2)
        self.kinesis.get_waiter("stream_exists").wait(StreamName="cli-shop")
        definition = os.path.join(self.workdir, "consumer.json")
        with open(definition, "w") as f:
            json.dump({
                "ConsumerName": "cli-counts", "StreamName": "cli-shop",
                "StartingPosition": "TRIM_HORIZON", "BatchSize": 100,
                "Handler": {"type": "metrics", "rules": [
                    {"table": "by_type", "match": {"event_type": {"exists": True}},
                     "key": "{event_type}", "add": {"events": 1}}]}}, f)
        self.cli("consumers", "create", "@" + definition)
        self.cli("load", "ecommerce", "--stream", "cli-shop", "--records", "500")

        def caught_up():
            described = json.loads(
                self.cli("consumers", "describe", "cli-counts").stdout)["Consumer"]
            return described["Counts"]["Records"] >= 500 and all(
                shard["RecordsBehind"] == 0 for shard in described["Shards"])

        poll_until(caught_up, CLI_DEADLINE_S, "the consumer to read 500 records")
        [line] = [l for l in self.cli("consumers", "list").stdout.splitlines()
                  if l.startswith("cli-counts\t")]
        self.assertEqual(line.split("\t")[1:4], ["cli-shop", "metrics", "ACTIVE"])
        self.assertIn("behind-ms=", line)
        rows = json.loads(self.cli("metrics", "cli-counts", "--table", "by_type").stdout)
        self.assertEqual(sum(row["events"] for row in rows["Rows"]), 500)
        self.assertEqual({row["key"] for row in rows["Rows"]},
                         {"page_view", "add_to_cart", "purchase", "error"})
        self.cli("consumers", "pause", "cli-counts")
        paused = json.loads(self.cli("consumers", "describe", "cli-counts").stdout)
        self.assertEqual(paused["Consumer"]["State"], "PAUSED")
        self.cli("consumers", "resume", "cli-counts")
        self.cli("consumers", "delete", "cli-counts")
        missing = self.cli("metrics", "cli-counts", ok=False)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("ResourceNotFoundException", missing.stderr)

    def test_call_any_operation(self):
        self.kinesis.create_stream(StreamName="cli-call", ShardCount=2)
        self.kinesis.get_waiter("stream_exists").wait(StreamName="cli-call")
        answer = json.loads(
            self.cli("call", "kinesis", "ListShards", '{"StreamName":"cli-call"}').stdout)
        self.assertEqual([s["ShardId"] for s in answer["Shards"]],
                         ["shardId-000000000000", "shardId-000000000001"])
        refused = self.cli("call", "kinesis", "ListShards", "{}", ok=False)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("InvalidArgumentException", refused.stderr)

    def test_endpoint_from_the_environment(self):
        result = run_cli("streams", "list",
                         env={"AWS_ENDPOINT_URL": self.server.endpoint})
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_help_and_usage_errors(self):
        for command in ([], ["streams"], ["put"], ["tail"], ["firehose"], ["load"],
                        ["consumers"], ["metrics"], ["call"]):
            result = run_cli(*command, "--help")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("usage: sluice-cli", result.stdout)
        for bad in (["frobnicate"], ["streams", "create"], ["put"],
                    ["streams", "create", "s", "--shards", "many"],
                    ["put", "s", "--bogus"], ["call", "sqs", "ListQueues"],
                    ["tail", "s", "--from", "yesterday"], ["tail", "s", "--count", "x"],
                    ["tail", "s", "--from", "2026-12-02T10:00:00"],
                    ["put", "s", "--file"], ["put", "s", "x", "--file-per-record"]):
            result = self.cli(*bad, ok=False)
            self.assertEqual(result.returncode, 2, (bad, result.stderr))
            self.assertIn("usage: sluice-cli", result.stderr)
        result = run_cli("--endpoint", "https://example.com", "streams", "list")
        self.assertEqual(result.returncode, 2)
        self.assertIn("http://", result.stderr)

    def test_unreachable_endpoint_fails_after_retries(self):
        # A port nothing listens on: the listening server's, once it is gone.
        server = start_server(self)
        endpoint = server.endpoint
        stop_cleanly(server)
        result = run_cli("streams", "list", endpoint=endpoint)
        self.assertEqual(result.returncode, 1)
        self.assertIn("cannot connect", result.stderr)


class CliThrottlingTest(unittest.TestCase):
    def test_partial_failures_are_sent_again_until_every_record_is_in(self):
        server = start_server(self, "--enforce-limits")
        kinesis = client(server, "kinesis")
        kinesis.create_stream(StreamName="narrow", ShardCount=1)
        kinesis.get_waiter("stream_exists").wait(StreamName="narrow")
        # 2,500 records at once: more than the shard's 1,000 records/s, so
        # PutRecords answers with per-record throttling errors.
        lines = [f"r{i}" for i in range(2500)]
        result = run_cli("put", "narrow", "--partition-key", "k",
                         endpoint=server.endpoint, stdin="\n".join(lines) + "\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        records = read_stream(kinesis, "narrow")["shardId-000000000000"]
        self.assertEqual(sorted(d for _, d in records), sorted(lines))


if __name__ == "__main__":
    unittest.main()
