#!/usr/bin/env python3
"""SQL applications end to end: records/s through a filter application and
through a one-minute window with 10,000 distinct keys, in the real server.

Starts `sluice serve --test-clock` (SLUICE_BIN, else build/server/sluice;
SLUICE_CLI, else build/client/sluice-cli) with a fresh data directory, loads
a backlog with `sluice-cli load` (telemetry, then e-commerce events of
--keys users) while the clock stands in one minute, then creates the
application and times it from CreateApplication until:

- filter (telemetry, speed >= 200, CSV rows into a Kinesis stream): every
  record read and every row delivered to the output stream;
- window (page views and distinct pages per user per minute): every record
  read; the clock is then moved past the minute and the time runs on until
  every window row is delivered.

It then counts the output stream's records, which must equal the rows the
application reports. With --source delivery-stream the backlogs go into two
Firehose delivery streams instead (PutRecordBatch, `sluice-cli load
--delivery-stream`), which the applications read as one shard each
(KinesisFirehoseInput) while the delivery streams deliver to the archive.
Talks to 127.0.0.1 only; every wait has a deadline.

    python3 bench/analytics_e2e.py [--records 200000] [--keys 10000]
                                   [--source stream|delivery-stream]
"""

import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
AUTH = ("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/kinesis/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=0")
LISTENING = re.compile(rb"listening on http://127\.0\.0\.1:(\d+)")
DEADLINE_S = 900
ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/"
FIREHOSE_ARN = "arn:aws:firehose:us-east-1:000000000000:deliverystream/"


class Server:
    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def call(self, target, body):
        self.conn.request("POST", "/", body=json.dumps(body), headers={
            "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target,
            "X-Amz-Date": "20240101T000000Z", "Authorization": AUTH})
        response = self.conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"{target}: {response.status} {data[:300]!r}")
        return json.loads(data) if data else {}

    def describe(self, name):
        return self.call("SluiceAdmin.DescribeApplication",
                         {"ApplicationName": name})["ApplicationDetail"]

    def create_stream(self, name, shards):
        self.call("Kinesis_20131202.CreateStream", {"StreamName": name, "ShardCount": shards})
        wait(lambda: self.call("Kinesis_20131202.DescribeStreamSummary",
                               {"StreamName": name})["StreamDescriptionSummary"]
             ["StreamStatus"] == "ACTIVE", f"{name} ACTIVE")

    def create_delivery_stream(self, name):
        self.call("Firehose_20150804.CreateDeliveryStream", {
            "DeliveryStreamName": name,
            "ExtendedS3DestinationConfiguration": {
                "RoleARN": "arn:aws:iam::000000000000:role/firehose",
                "BucketARN": "arn:aws:s3:::raw", "Prefix": name + "/"}})
        wait(lambda: self.call("Firehose_20150804.DescribeDeliveryStream",
                               {"DeliveryStreamName": name})["DeliveryStreamDescription"]
             ["DeliveryStreamStatus"] == "ACTIVE", f"{name} ACTIVE")

    def checked_output(self, stream, counts):
        """The records in `stream`, which must be the rows the application
        reports it emitted."""
        out = self.count_records(stream)
        if out != counts["Emitted"]:
            raise RuntimeError(f"{stream} has {out} records, the application "
                               f"emitted {counts['Emitted']}")
        return out

    def count_records(self, stream):
        total = 0
        for shard in self.call("Kinesis_20131202.ListShards", {"StreamName": stream})["Shards"]:
            iterator = self.call("Kinesis_20131202.GetShardIterator", {
                "StreamName": stream, "ShardId": shard["ShardId"],
                "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
            while True:
                answer = self.call("Kinesis_20131202.GetRecords",
                                   {"ShardIterator": iterator, "Limit": 10000})
                total += len(answer["Records"])
                if not answer["Records"] and answer.get("MillisBehindLatest", 0) == 0:
                    break
                iterator = answer["NextShardIterator"]
        return total


def wait(condition, what, poll=0.05):
    deadline = time.monotonic() + DEADLINE_S
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(poll)


def application(name, source, output, fmt, columns, code):
    return {"ApplicationName": name, "ApplicationCode": code,
            "Inputs": [{"KinesisStreamsInput": {"ResourceARN": ARN + source},
                        "InputSchema": {"RecordFormat": {"RecordFormatType": "JSON"},
                                        "RecordColumns": columns}}],
            "Outputs": [{"Name": "OUT", "KinesisStreamsOutput": {"ResourceARN": ARN + output},
                         "DestinationSchema": {"RecordFormatType": fmt}}]}


FILTER = application(
    "fast-laps", "telemetry", "fast", "CSV",
    [{"Name": "speed", "SqlType": "DOUBLE", "Mapping": "$.speed"},
     {"Name": "rpm", "SqlType": "INTEGER", "Mapping": "$.rpm"},
     {"Name": "gear", "SqlType": "INTEGER", "Mapping": "$.gear"},
     {"Name": "throttle", "SqlType": "DOUBLE", "Mapping": "$.throttle"}],
    'CREATE OR REPLACE STREAM "OUT" ("speed" DOUBLE, "rpm" INTEGER, "gear" INTEGER, '
    '"throttle" DOUBLE); CREATE OR REPLACE PUMP "P" AS INSERT INTO "OUT" SELECT STREAM '
    '"speed", "rpm", "gear", "throttle" FROM "SOURCE_SQL_STREAM_001" WHERE "speed" >= 200;')

WINDOW = application(
    "user-minutes", "events", "minutes", "JSON",
    [{"Name": "event_type", "SqlType": "VARCHAR(16)", "Mapping": "$.event_type"},
     {"Name": "user_id", "SqlType": "VARCHAR(32)", "Mapping": "$.data.user_id"},
     {"Name": "page", "SqlType": "VARCHAR(64)", "Mapping": "$.data.page"}],
    'CREATE OR REPLACE STREAM "OUT" (user_id VARCHAR(32), views BIGINT, pages BIGINT, '
    "window_start TIMESTAMP); CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"OUT\" "
    "SELECT STREAM s.user_id, COUNT(*), COUNT(DISTINCT s.page), "
    "STEP(s.ROWTIME BY INTERVAL '60' SECOND) FROM \"SOURCE_SQL_STREAM_001\" AS s "
    "WHERE s.event_type = 'page_view' "
    "GROUP BY s.user_id, STEP(s.ROWTIME BY INTERVAL '60' SECOND);")


def from_delivery_stream(app, name):
    """`app` reading the delivery stream `name` instead of its stream."""
    app = json.loads(json.dumps(app))
    app["Inputs"][0].pop("KinesisStreamsInput")
    app["Inputs"][0]["KinesisFirehoseInput"] = {"ResourceARN": FIREHOSE_ARN + name}
    return app


def load(cli, port, workload, target, records, keys, to="--stream"):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    subprocess.run([cli, "--endpoint", f"http://127.0.0.1:{port}", "load", workload,
                    to, target, "--records", str(records), "--keys", str(keys),
                    "--seed", "1"], check=True, env=env, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=DEADLINE_S)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--source", choices=["stream", "delivery-stream"],
                        default="stream")
    args = parser.parse_args()
    firehose = args.source == "delivery-stream"
    root = os.path.join(BENCH_DIR, "..", "build")
    binary = os.environ.get("SLUICE_BIN", os.path.join(root, "server", "sluice"))
    cli = os.environ.get("SLUICE_CLI", os.path.join(root, "client", "sluice-cli"))
    workdir = tempfile.mkdtemp(prefix="sluice-analytics-bench-")
    proc = subprocess.Popen(
        [binary, "serve", "--port", "0", "--data-dir", os.path.join(workdir, "data"),
         "--log-level", "warn", "--test-clock"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        match = LISTENING.search(proc.stdout.readline())
        if not match:
            raise RuntimeError("sluice did not start")
        port = int(match.group(1))
        server = Server(port)
        # A minute ten minutes ahead: every record of the backlog is in it.
        minute = (int(time.time() * 1000) // 60_000 + 10) * 60_000
        server.call("SluiceAdmin.SetClock", {"EpochMillis": minute + 1000})
        for name in ("telemetry", "events"):
            if firehose:
                server.create_delivery_stream(name)
            else:
                server.create_stream(name, args.shards)
        for name in ("fast", "minutes"):
            server.create_stream(name, 1)
        to = "--delivery-stream" if firehose else "--stream"
        load(cli, port, "telemetry", "telemetry", args.records, 100, to)
        load(cli, port, "ecommerce", "events", args.records, args.keys, to)
        source = "1 delivery stream" if firehose else f"{args.shards} shards"

        began = time.monotonic()
        server.call("SluiceAdmin.CreateApplication",
                    from_delivery_stream(FILTER, "telemetry") if firehose else FILTER)
        counts = wait(lambda: (lambda c: c if c["Records"] == args.records
                               and c["Pending"] == 0 else None)(
            server.describe("fast-laps")["Counts"]), "the filter")
        seconds = time.monotonic() - began
        out = server.checked_output("fast", counts)
        if counts["ErrorRows"]:
            raise RuntimeError(f"the filter found {counts['ErrorRows']} error rows")
        print(f"filter: {args.records} records ({source}) in {seconds:.2f} s: "
              f"{args.records / seconds:,.0f} records/s; {out} rows out")

        began = time.monotonic()
        server.call("SluiceAdmin.CreateApplication",
                    from_delivery_stream(WINDOW, "events") if firehose else WINDOW)
        wait(lambda: server.describe("user-minutes")["Counts"]["Records"] == args.records,
             "the window's records")
        read = time.monotonic() - began
        server.call("SluiceAdmin.SetClock", {"EpochMillis": minute + 61_500})
        counts = wait(lambda: (lambda c: c if c["Emitted"] > 0 and c["Pending"] == 0
                               and c["OpenRows"] == 0 else None)(
            server.describe("user-minutes")["Counts"]), "the window's rows")
        seconds = time.monotonic() - began
        out = server.checked_output("minutes", counts)
        print(f"window: {args.records} records ({source}), {out} users with "
              f"page views, read in {read:.2f} s ({args.records / read:,.0f} records/s), "
              f"closed and delivered after {seconds:.2f} s "
              f"({args.records / seconds:,.0f} records/s)")
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        shutil.rmtree(workdir, True)


if __name__ == "__main__":
    main()
