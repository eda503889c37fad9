"""SQL applications (docs/analytics.md) end to end, against the real binary:

- the telemetry filter of pipelines.md: an application declared in the config
  file pumps the laps with speed >= 200 into a second delivery stream as CSV;
  the archive holds exactly those rows, in order per shard, and none other,
  and `sluice-cli apps tail` shows them from the delivery stream's log first;
- the per-user per-minute aggregation (page views and distinct pages), with
  the server's clock moved by the test (--test-clock), compared with a
  recount in Python; `sluice-cli apps tail` shows the same rows;
- a SIGKILL in the middle of a window neither loses nor repeats its result;
- a Firehose delivery stream as the source (KinesisFirehoseInput): records
  put with put_record_batch reach the filter's output in put order, also
  when the delivery stream delivered them before the application read them;
  a window over it closes on the test clock, and a SIGKILL neither loses
  nor repeats its records;
- malformed SQL and unknown columns are refused at creation with the line,
  column and reason.
"""

import base64
import json
import os
import random
import shutil
import sqlite3
import subprocess
import tempfile
import unittest
from collections import Counter, defaultdict

from sluice_process import poll_until, start_server, stop_cleanly
from test_consumer_metrics import admin, kinesis_client, read_stream
from test_firehose import files_under, firehose_client, flush

DEADLINE_S = 60
MINUTE_MS = 60_000
ACCOUNT = "000000000000"

FILTER_SQL = """-- pipelines.md, section 2: the fast laps, as CSV
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
    "speed" DOUBLE, "rpm" INTEGER, "gear" INTEGER, "throttle" DOUBLE);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
    SELECT STREAM "speed", "rpm", "gear", "throttle"
    FROM "SOURCE_SQL_STREAM_001"
    WHERE "speed" >= 200;
"""

PER_MINUTE_SQL = """CREATE OR REPLACE STREAM "USER_MINUTES" (
    user_id VARCHAR(32), page_views BIGINT, distinct_pages BIGINT,
    window_start TIMESTAMP);
/* page views and distinct pages per user per minute */
CREATE OR REPLACE PUMP "MINUTE_PUMP" AS INSERT INTO "USER_MINUTES"
    SELECT STREAM s.user_id, COUNT(*), COUNT(DISTINCT s.page),
           STEP(s.ROWTIME BY INTERVAL '60' SECOND)
    FROM "SOURCE_SQL_STREAM_001" AS s
    WHERE s.event_type = 'page_view'
    GROUP BY s.user_id, STEP(s.ROWTIME BY INTERVAL '60' SECOND);
"""

PAGES = [f"/products/widget-{c}" for c in "abcdef"] + ["/", "/cart"]


def stream_arn(name):
    return f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{name}"


def telemetry_app(name="fast-laps-sql"):
    return {
        "ApplicationName": name,
        "ApplicationCode": FILTER_SQL,
        "Inputs": [{
            "NamePrefix": "SOURCE_SQL_STREAM",
            "KinesisStreamsInput": {"ResourceARN": stream_arn("telemetry")},
            "InputSchema": {
                "RecordFormat": {"RecordFormatType": "JSON",
                                 "MappingParameters": {"JSONMappingParameters":
                                                       {"RecordRowPath": "$"}}},
                "RecordEncoding": "UTF-8",
                "RecordColumns": [
                    {"Name": "speed", "SqlType": "DOUBLE", "Mapping": "$.speed"},
                    {"Name": "rpm", "SqlType": "INTEGER", "Mapping": "$.rpm"},
                    {"Name": "gear", "SqlType": "INTEGER", "Mapping": "$.gear"},
                    {"Name": "throttle", "SqlType": "DOUBLE", "Mapping": "$.throttle"},
                ]}}],
        "Outputs": [{
            "Name": "DESTINATION_SQL_STREAM",
            "KinesisFirehoseOutput": {"ResourceARN":
                f"arn:aws:firehose:us-east-1:{ACCOUNT}:deliverystream/fast-laps-csv"},
            "DestinationSchema": {"RecordFormatType": "CSV"}}],
    }


def per_minute_app(name="user-minutes"):
    return {
        "ApplicationName": name,
        "ApplicationCode": PER_MINUTE_SQL,
        "Inputs": [{
            "NamePrefix": "SOURCE_SQL_STREAM",
            "KinesisStreamsInput": {"ResourceARN": stream_arn("events")},
            "InputSchema": {
                "RecordFormat": {"RecordFormatType": "JSON"},
                "RecordColumns": [
                    {"Name": "event_type", "SqlType": "VARCHAR(16)",
                     "Mapping": "$.event_type"},
                    {"Name": "user_id", "SqlType": "VARCHAR(32)",
                     "Mapping": "$.data.user_id"},
                    {"Name": "page", "SqlType": "VARCHAR(64)", "Mapping": "$.data.page"},
                ]}}],
        "Outputs": [{
            "Name": "USER_MINUTES",
            "KinesisStreamsOutput": {"ResourceARN": stream_arn("user-minutes")},
            "DestinationSchema": {"RecordFormatType": "JSON"}}],
    }


def csv_number(value):
    """A DOUBLE as the application writes it: the shortest round-trip form,
    without a fraction for a whole number."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def put_all(kinesis, stream, records, key):
    for start in range(0, len(records), 500):
        entries = [{"Data": json.dumps(r).encode(), "PartitionKey": key(r)}
                   for r in records[start:start + 500]]
        while entries:
            answer = kinesis.put_records(StreamName=stream, Records=entries)
            entries = [e for e, r in zip(entries, answer["Records"]) if "ErrorCode" in r]


def wait_active(kinesis, *streams):
    for stream in streams:
        poll_until(lambda: kinesis.describe_stream_summary(StreamName=stream)
                   ["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE",
                   DEADLINE_S, f"stream {stream} ACTIVE")


def describe(server, name):
    return admin(server, "DescribeApplication",
                 {"ApplicationName": name})["ApplicationDetail"]


def set_clock(server, millis):
    return admin(server, "SetClock", {"EpochMillis": millis})["EpochMillis"]


def output_rows(kinesis, stream):
    return [json.loads(r["Data"]) for records in read_stream(kinesis, stream).values()
            for r in records]


class TelemetryFilterTest(unittest.TestCase):
    def test_fast_laps_arrive_as_csv_in_the_second_delivery_stream(self):
        workdir = tempfile.mkdtemp(prefix="sluice-analytics-")
        self.addCleanup(shutil.rmtree, workdir, True)
        archive = os.path.join(workdir, "archive")
        config = {
            "streams": [{"name": "telemetry", "shard_count": 2}],
            "delivery_streams": [{
                "name": "fast-laps-csv",
                "extended_s3": {
                    "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/firehose",
                    "BucketARN": "arn:aws:s3:::processed",
                    "Prefix": "fast/",
                    "BufferingHints": {"SizeInMBs": 5, "IntervalInSeconds": 900}}}],
            "applications": [telemetry_app()],
        }
        config_path = os.path.join(workdir, "config.json")
        with open(config_path, "w") as f:
            json.dump(config, f)
        server = start_server(self, "--config", config_path, "--archive-root", archive)
        kinesis = kinesis_client(server)
        wait_active(kinesis, "telemetry")

        rng = random.Random(7)
        records = []
        for n in range(600):
            speed = 200 if n % 13 == 0 else round(rng.uniform(150, 260), 1)
            records.append({"vehicle_id": f"car-{n % 5}", "speed": speed,
                            "rpm": 8000 + n, "gear": rng.randrange(1, 8),
                            "throttle": round(rng.uniform(0, 1), 2),
                            "lap_time": 88.5})
        records.append({"vehicle_id": "car-0", "speed": "fast", "rpm": 1})
        records.append({"vehicle_id": "car-1", "rpm": 2})  # no speed: NULL
        put_all(kinesis, "telemetry", records, key=lambda r: r["vehicle_id"])
        fast = [r for r in records
                if isinstance(r.get("speed"), float | int) and r["speed"] >= 200]
        self.assertGreater(len(fast), 100)
        self.assertLess(len(fast), 550)

        poll_until(lambda: describe(server, "fast-laps-sql")["Counts"]["Records"]
                   == len(records), DEADLINE_S, "every record read")
        counts = poll_until(
            lambda: (lambda c: c if c["Pending"] == 0 else None)(
                describe(server, "fast-laps-sql")["Counts"]),
            DEADLINE_S, "the outbox delivered")
        self.assertEqual(counts["Emitted"], len(fast))
        self.assertEqual(counts["ErrorRows"], 1)  # "fast" is no DOUBLE
        expected = [",".join([csv_number(r["speed"]), str(r["rpm"]), str(r["gear"]),
                              csv_number(r["throttle"])]) for r in fast]

        # Before the delivery: `apps tail` reads the rows from the delivery
        # stream's log, the application's only output.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        tail = subprocess.run(
            [os.environ["SLUICE_CLI"], "--endpoint", server.endpoint, "apps", "tail",
             "fast-laps-sql", "--from", "trim-horizon", "--count", str(len(fast)),
             "--json"], capture_output=True, text=True, env=env, timeout=DEADLINE_S)
        self.assertEqual(tail.returncode, 0, tail.stderr)
        tailed = [json.loads(line) for line in tail.stdout.splitlines()]
        self.assertEqual([r["position"] for r in tailed], list(range(len(fast))))
        rows = [base64.b64decode(r["data"]).decode() for r in tailed]
        self.assertTrue(all(row.endswith("\n") for row in rows))
        self.assertEqual(Counter(row[:-1] for row in rows), Counter(expected))

        objects = flush(server, "fast-laps-csv")
        self.assertEqual(sum(o["Records"] for o in objects), len(fast))
        lines = []
        for path in files_under(os.path.join(archive, "processed")):
            self.assertTrue(path.startswith("fast/"), path)
            with open(os.path.join(archive, "processed", path)) as f:
                lines += f.read().splitlines()
        self.assertEqual(Counter(lines), Counter(expected))
        # One vehicle is one partition key, hence one shard: its laps keep
        # their order (rpm grows with the put order).
        rpm_of = {r["rpm"]: r["vehicle_id"] for r in fast}
        by_vehicle = defaultdict(list)
        for line in lines:
            rpm = int(line.split(",")[1])
            by_vehicle[rpm_of[rpm]].append(rpm)
        for vehicle, rpms in by_vehicle.items():
            self.assertEqual(rpms, sorted(rpms), vehicle)
        self.assertEqual(server.stop(), 0)


def page_events(rng, count, users):
    """E-commerce events of pipelines.md: mostly page views."""
    out = []
    for _ in range(count):
        user = f"user-{rng.randrange(users)}"
        kind = rng.choices(["page_view", "add_to_cart", "purchase"], [80, 10, 10])[0]
        data = {"user_id": user}
        if kind == "page_view":
            data["page"] = rng.choice(PAGES)
        else:
            data.update(product_id="widget-a", amount=9.99)
        out.append({"event_type": kind, "data": data})
    return out


def recount(events, window_start_ms):
    """{(user, window start text): (views, distinct pages)} from the events."""
    views, pages = Counter(), defaultdict(set)
    for e in events:
        if e["event_type"] != "page_view":
            continue
        views[e["data"]["user_id"]] += 1
        pages[e["data"]["user_id"]].add(e["data"]["page"])
    start = format_timestamp(window_start_ms)
    return {(user, start): (views[user], len(pages[user])) for user in views}


def format_timestamp(millis):
    import datetime
    moment = datetime.datetime.fromtimestamp(millis / 1000, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{millis % 1000:03d}"


def as_results(rows):
    out = Counter()
    for row in rows:
        out[(row["USER_ID"], row["WINDOW_START"])] += 1
    return out, {(r["USER_ID"], r["WINDOW_START"]): (r["PAGE_VIEWS"], r["DISTINCT_PAGES"])
                 for r in rows}


def future_minute():
    """A minute boundary ten minutes ahead of the wall clock: the test clock
    starts at the wall clock, so before the test sets it (and again after a
    restart) no window of the test can close."""
    import time
    now_ms = int(time.time() * 1000)
    return (now_ms // MINUTE_MS + 10) * MINUTE_MS


def create_streams(kinesis, events_shards):
    """The per-minute application's source and output streams."""
    kinesis.create_stream(StreamName="events", ShardCount=events_shards)
    kinesis.create_stream(StreamName="user-minutes", ShardCount=1)
    wait_active(kinesis, "events", "user-minutes")


class WindowTest(unittest.TestCase):
    def start(self, *args, in_memory=True):
        server = start_server(self, "--test-clock", *args, in_memory=in_memory)
        return server, kinesis_client(server)

    def test_per_user_per_minute_views_match_a_recount(self):
        server, kinesis = self.start()
        create_streams(kinesis, events_shards=2)
        answer = admin(server, "CreateApplication", per_minute_app())
        self.assertEqual(answer["ApplicationDetail"]["ApplicationStatus"], "RUNNING")
        minute = future_minute()
        rng = random.Random(5)

        set_clock(server, minute + 5_000)
        first = page_events(rng, 800, users=30)
        put_all(kinesis, "events", first, key=lambda e: e["data"]["user_id"])
        set_clock(server, minute + 65_000)  # minute 0 closes (past the grace)
        second = page_events(rng, 500, users=30)
        put_all(kinesis, "events", second, key=lambda e: e["data"]["user_id"])
        expected_first = recount(first, minute)
        poll_until(lambda: len(output_rows(kinesis, "user-minutes")) >= len(expected_first),
                   DEADLINE_S, "the first minute's rows")
        times, results = as_results(output_rows(kinesis, "user-minutes"))
        self.assertEqual(results, expected_first)  # and nothing of minute 1 yet
        self.assertEqual(max(times.values()), 1)

        set_clock(server, minute + 125_000)
        expected = {**expected_first, **recount(second, minute + MINUTE_MS)}
        poll_until(lambda: len(output_rows(kinesis, "user-minutes")) >= len(expected),
                   DEADLINE_S, "the second minute's rows")
        times, results = as_results(output_rows(kinesis, "user-minutes"))
        self.assertEqual(results, expected)
        self.assertEqual(max(times.values()), 1, "a row came twice")
        detail = describe(server, "user-minutes")
        self.assertEqual(detail["Counts"]["Emitted"], len(expected))
        self.assertEqual(detail["Counts"]["OpenRows"], 0)
        self.assertEqual(len(detail["Windows"]), 1)

        # The CLI: apps list and apps tail show the application and its rows.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        cli = [os.environ["SLUICE_CLI"], "--endpoint", server.endpoint, "apps"]
        listed = subprocess.run(cli + ["list"], capture_output=True, text=True,
                                env=env, timeout=DEADLINE_S)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertRegex(listed.stdout, r"^user-minutes\tRUNNING\trecords=1300\t")
        tail = subprocess.run(cli + ["tail", "user-minutes", "--from", "trim-horizon",
                                     "--count", str(len(expected))],
                              capture_output=True, text=True, env=env, timeout=DEADLINE_S)
        self.assertEqual(tail.returncode, 0, tail.stderr)
        self.assertEqual(as_results([json.loads(line) for line in
                                     tail.stdout.splitlines()])[1], expected)
        self.assertEqual(server.stop(), 0)

    def test_a_shard_whose_records_all_expired_does_not_hold_windows_back(self):
        """A shard whose every record passed the retention has nothing to
        read, so the application never gets a batch (nor an applied mark) of
        it: its windows waited for that shard for ever."""
        server, kinesis = self.start()
        create_streams(kinesis, events_shards=2)
        second_shard = str(2 ** 127 + 1)  # an explicit hash key of shard 1
        kinesis.put_record(StreamName="events", Data=b'{"event_type": "old"}',
                           PartitionKey="old", ExplicitHashKey=second_shard)
        minute = future_minute() + 25 * 3600 * 1000  # past the 24 h
        set_clock(server, minute + 5_000)
        kinesis.increase_stream_retention_period(StreamName="events",
                                                 RetentionPeriodHours=48)
        kinesis.decrease_stream_retention_period(StreamName="events",
                                                 RetentionPeriodHours=24)
        shard = kinesis.get_shard_iterator(StreamName="events", ShardId="shardId-000000000001",
                                           ShardIteratorType="TRIM_HORIZON")
        self.assertEqual(kinesis.get_records(ShardIterator=shard["ShardIterator"])["Records"],
                         [], "the old record expired")
        admin(server, "CreateApplication", per_minute_app())
        events = page_events(random.Random(9), 50, users=5)
        kinesis.put_records(StreamName="events", Records=[
            {"Data": json.dumps(e).encode(), "PartitionKey": "k", "ExplicitHashKey": "1"}
            for e in events])
        set_clock(server, minute + 65_000)
        expected = recount(events, minute)
        poll_until(lambda: len(output_rows(kinesis, "user-minutes")) >= len(expected),
                   DEADLINE_S, "the minute's rows, with shard 1 empty by retention")
        self.assertEqual(as_results(output_rows(kinesis, "user-minutes"))[1], expected)

    def test_resharding_the_source_in_a_window_neither_closes_it_early_nor_twice(self):
        """The source is split, then two of its shards merged, while windows
        are open: the parents are read before their children, and every
        window is emitted once, with the records of parents and children."""
        server, kinesis = self.start()
        create_streams(kinesis, events_shards=1)
        admin(server, "CreateApplication", per_minute_app())
        minute = future_minute()
        rng = random.Random(11)
        set_clock(server, minute + 5_000)
        first = page_events(rng, 300, users=10)
        put_all(kinesis, "events", first, key=lambda e: e["data"]["user_id"])
        kinesis.split_shard(StreamName="events", ShardToSplit="shardId-000000000000",
                            NewStartingHashKey=str(2 ** 127))
        wait_active(kinesis, "events")
        set_clock(server, minute + 30_000)
        second = page_events(rng, 300, users=10)
        put_all(kinesis, "events", second, key=lambda e: e["data"]["user_id"])
        set_clock(server, minute + 65_000)  # minute 0 closes
        third = page_events(rng, 200, users=10)
        kinesis.merge_shards(StreamName="events", ShardToMerge="shardId-000000000001",
                             AdjacentShardToMerge="shardId-000000000002")
        wait_active(kinesis, "events")
        put_all(kinesis, "events", third, key=lambda e: e["data"]["user_id"])
        expected_first = recount(first + second, minute)
        poll_until(lambda: len(output_rows(kinesis, "user-minutes")) >= len(expected_first),
                   DEADLINE_S, "minute 0's rows")
        times, results = as_results(output_rows(kinesis, "user-minutes"))
        self.assertEqual(results, expected_first)
        set_clock(server, minute + 125_000)
        expected = {**expected_first, **recount(third, minute + MINUTE_MS)}
        poll_until(lambda: len(output_rows(kinesis, "user-minutes")) >= len(expected),
                   DEADLINE_S, "minute 1's rows")
        times, results = as_results(output_rows(kinesis, "user-minutes"))
        self.assertEqual(results, expected)
        self.assertEqual(max(times.values()), 1, "a row came twice")
        self.assertEqual(describe(server, "user-minutes")["Counts"]["LateRows"], 0)

    def test_sigkill_in_the_middle_of_a_window_neither_loses_nor_repeats_it(self):
        workdir = tempfile.mkdtemp(prefix="sluice-analytics-kill-")
        self.addCleanup(shutil.rmtree, workdir, True)
        data = os.path.join(workdir, "data")
        server, kinesis = self.start("--data-dir", data, in_memory=False)
        create_streams(kinesis, events_shards=2)
        admin(server, "CreateApplication", per_minute_app())
        minute = future_minute()
        rng = random.Random(9)

        set_clock(server, minute + 5_000)
        before = page_events(rng, 1500, users=50)
        put_all(kinesis, "events", before, key=lambda e: e["data"]["user_id"])
        # Killed while the window is open, maybe half-way through the backlog.
        poll_until(lambda: describe(server, "user-minutes")["Counts"]["Records"] > 0,
                   DEADLINE_S, "the application at work")
        server.kill()
        server.wait()

        server, kinesis = self.start("--data-dir", data, in_memory=False)
        # Created through the API: still there after the restart.
        self.assertEqual(describe(server, "user-minutes")["ApplicationStatus"], "RUNNING")
        set_clock(server, minute + 30_000)
        after = page_events(rng, 500, users=50)
        put_all(kinesis, "events", after, key=lambda e: e["data"]["user_id"])
        poll_until(lambda: describe(server, "user-minutes")["Counts"]["Records"] == 2000,
                   DEADLINE_S, "every record read once")
        self.assertEqual(output_rows(kinesis, "user-minutes"), [], "the window closed early")

        set_clock(server, minute + 61_500)
        expected = recount(before + after, minute)
        poll_until(lambda: len(output_rows(kinesis, "user-minutes")) >= len(expected),
                   DEADLINE_S, "the window's rows")
        times, results = as_results(output_rows(kinesis, "user-minutes"))
        self.assertEqual(results, expected)
        self.assertEqual(max(times.values()), 1, "a row came twice")
        self.assertEqual(describe(server, "user-minutes")["Counts"]["Emitted"], len(expected))
        self.output_records = [
            (r["PartitionKey"], r["Data"].decode())
            for records in read_stream(kinesis, "user-minutes").values() for r in records]
        self.assertTrue(all(key.startswith("user-minutes-") for key, _ in self.output_records))
        self.assertEqual(server.stop(), 0)

        # As if the process had died after putting the rows and before
        # deleting them from the outbox: they are back in the outbox, with
        # the output's tips as they were before the puts.
        db = sqlite3.connect(os.path.join(data, "consumers", "analytics", "user-minutes.db"))
        with db:
            db.execute("INSERT INTO sluice_sending (output, shard_id, tip)"
                       " VALUES (0, 'shardId-000000000000', 0)")
            for key, data_row in self.output_records:
                db.execute("INSERT INTO sluice_outbox (id, output, data) VALUES (?, 0, ?)",
                           (int(key.rsplit("-", 1)[1]), data_row))
        db.close()
        server, kinesis = self.start("--data-dir", data, in_memory=False)
        poll_until(lambda: describe(server, "user-minutes")["Counts"]["Pending"] == 0,
                   DEADLINE_S, "the outbox emptied")
        times, results = as_results(output_rows(kinesis, "user-minutes"))
        self.assertEqual(results, expected)
        self.assertEqual(max(times.values()), 1, "a row was sent again")
        self.assertEqual(server.stop(), 0)


def firehose_arn(name):
    return f"arn:aws:firehose:us-east-1:{ACCOUNT}:deliverystream/{name}"


def from_delivery_stream(app, name):
    """The application reading the delivery stream `name` instead."""
    app["Inputs"][0].pop("KinesisStreamsInput")
    app["Inputs"][0]["KinesisFirehoseInput"] = {
        "ResourceARN": firehose_arn(name),
        "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/kda"}
    return app


class FirehoseSourceTest(unittest.TestCase):
    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="sluice-analytics-firehose-")
        self.addCleanup(shutil.rmtree, self.workdir, True)

    def start(self, *args, in_memory=True):
        archive = os.path.join(self.workdir, "archive")
        server = start_server(self, "--test-clock", "--archive-root", archive, *args,
                              in_memory=in_memory)
        return server, kinesis_client(server), firehose_client(server)

    def create_source(self, firehose, name):
        firehose.create_delivery_stream(
            DeliveryStreamName=name,
            ExtendedS3DestinationConfiguration={
                "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/firehose",
                "BucketARN": "arn:aws:s3:::raw", "Prefix": f"{name}/",
                "BufferingHints": {"SizeInMBs": 5, "IntervalInSeconds": 900}})
        poll_until(lambda: firehose.describe_delivery_stream(DeliveryStreamName=name)
                   ["DeliveryStreamDescription"]["DeliveryStreamStatus"] == "ACTIVE",
                   DEADLINE_S, f"delivery stream {name} ACTIVE")

    def put_batches(self, firehose, name, records):
        for start in range(0, len(records), 500):
            entries = [{"Data": json.dumps(r).encode()} for r in records[start:start + 500]]
            while entries:
                answer = firehose.put_record_batch(DeliveryStreamName=name, Records=entries)
                entries = [e for e, r in zip(entries, answer["RequestResponses"])
                           if "ErrorCode" in r]

    def test_filter_sees_every_record_even_after_its_delivery(self):
        server, kinesis, firehose = self.start()
        self.create_source(firehose, "laps-raw")
        kinesis.create_stream(StreamName="fast-laps", ShardCount=1)
        wait_active(kinesis, "fast-laps")
        app = from_delivery_stream(telemetry_app("laps-filter"), "laps-raw")
        app["Outputs"] = [{
            "Name": "DESTINATION_SQL_STREAM",
            "KinesisStreamsOutput": {"ResourceARN": stream_arn("fast-laps")},
            "DestinationSchema": {"RecordFormatType": "JSON"}}]
        answer = admin(server, "CreateApplication", app)
        self.assertEqual(answer["ApplicationDetail"]["ApplicationStatus"], "RUNNING")
        consumer = admin(server, "DescribeConsumer", {"ConsumerName": "laps-filter"})
        self.assertEqual(consumer["Consumer"]["DeliveryStreamName"], "laps-raw")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        listed = subprocess.run([os.environ["SLUICE_CLI"], "--endpoint", server.endpoint,
                                 "consumers", "list"],
                                capture_output=True, text=True, env=env, timeout=DEADLINE_S)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertRegex(listed.stdout, r"(?m)^laps-filter\tlaps-raw\tanalytics\t")
        # Paused, so the delivery below happens before the application reads.
        admin(server, "PauseConsumer", {"ConsumerName": "laps-filter"})

        rng = random.Random(11)
        minute = future_minute()
        records = []
        for batch in range(3):
            set_clock(server, minute + 1_000 * batch)  # distinct arrival times
            laps = [{"vehicle_id": f"car-{n % 4}",
                     "speed": round(rng.uniform(150, 260), 1), "rpm": 7000 + len(records) + n,
                     "gear": rng.randrange(1, 8), "throttle": round(rng.uniform(0, 1), 2)}
                    for n in range(400)]
            self.put_batches(firehose, "laps-raw", laps)
            records += laps
        fast = [r for r in records if r["speed"] >= 200]
        self.assertGreater(len(fast), 100)
        # The delivery stream delivers to S3 as before, every record once.
        objects = flush(server, "laps-raw")
        self.assertEqual(sum(o["Records"] for o in objects), len(records))

        admin(server, "ResumeConsumer", {"ConsumerName": "laps-filter"})
        counts = poll_until(
            lambda: (lambda c: c if c["Records"] == len(records) and c["Pending"] == 0
                     else None)(describe(server, "laps-filter")["Counts"]),
            DEADLINE_S, "every record read and its rows sent")
        self.assertEqual(counts["Emitted"], len(fast))
        rows = output_rows(kinesis, "fast-laps")
        # One delivery stream reads as one shard: the rows keep the put order.
        self.assertEqual([row["rpm"] for row in rows], [r["rpm"] for r in fast])
        self.assertEqual(rows[0], {"speed": fast[0]["speed"], "rpm": fast[0]["rpm"],
                                   "gear": fast[0]["gear"], "throttle": fast[0]["throttle"]})
        self.assertEqual(server.stop(), 0)

    def start_window(self, *args, in_memory=True):
        """A server with the per-minute application reading the delivery
        stream events-raw into the Kinesis stream user-minutes."""
        server, kinesis, firehose = self.start(*args, in_memory=in_memory)
        self.create_source(firehose, "events-raw")
        kinesis.create_stream(StreamName="user-minutes", ShardCount=1)
        wait_active(kinesis, "user-minutes")
        admin(server, "CreateApplication",
              from_delivery_stream(per_minute_app(), "events-raw"))
        return server, kinesis, firehose

    def expect_rows(self, kinesis, expected, what):
        """Waits for `expected` rows in user-minutes; each comes once."""
        poll_until(lambda: len(output_rows(kinesis, "user-minutes")) >= len(expected),
                   DEADLINE_S, what)
        times, results = as_results(output_rows(kinesis, "user-minutes"))
        self.assertEqual(results, expected)  # ROWTIME is the arrival time
        self.assertEqual(max(times.values()), 1, "a row came twice")

    def test_a_window_over_a_delivery_stream_closes_on_the_test_clock(self):
        server, kinesis, firehose = self.start_window()
        minute = future_minute()
        rng = random.Random(13)
        set_clock(server, minute + 5_000)
        first = page_events(rng, 700, users=25)
        self.put_batches(firehose, "events-raw", first)
        set_clock(server, minute + 65_000)  # minute 0 closes (past the grace)
        second = page_events(rng, 300, users=25)
        self.put_batches(firehose, "events-raw", second)
        expected_first = recount(first, minute)
        self.expect_rows(kinesis, expected_first, "the first minute's rows")

        set_clock(server, minute + 125_000)
        self.expect_rows(kinesis,
                         {**expected_first, **recount(second, minute + MINUTE_MS)},
                         "the second minute's rows")
        self.assertEqual(describe(server, "user-minutes")["Counts"]["Records"], 1000)
        self.assertEqual(server.stop(), 0)

    def test_sigkill_neither_loses_nor_repeats_a_delivery_streams_records(self):
        data = os.path.join(self.workdir, "data")
        server, kinesis, firehose = self.start_window("--data-dir", data, in_memory=False)
        minute = future_minute()
        rng = random.Random(17)
        set_clock(server, minute + 5_000)
        before = page_events(rng, 1500, users=40)
        self.put_batches(firehose, "events-raw", before)
        poll_until(lambda: describe(server, "user-minutes")["Counts"]["Records"] > 0,
                   DEADLINE_S, "the application at work")
        server.kill()
        server.wait()

        server, kinesis, firehose = self.start("--data-dir", data, in_memory=False)
        set_clock(server, minute + 30_000)
        after = page_events(rng, 500, users=40)
        self.put_batches(firehose, "events-raw", after)
        # Delivered (and the log trimmed) whatever the application has read.
        objects = flush(server, "events-raw")
        self.assertGreater(sum(o["Records"] for o in objects), 0)
        poll_until(lambda: describe(server, "user-minutes")["Counts"]["Records"] == 2000,
                   DEADLINE_S, "every record read once")
        set_clock(server, minute + 61_500)
        self.expect_rows(kinesis, recount(before + after, minute), "the window's rows")
        self.assertEqual(server.stop(), 0)


class ErrorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = start_server(cls)
        cls.kinesis = kinesis_client(cls.server)
        cls.kinesis.create_stream(StreamName="events", ShardCount=1)
        wait_active(cls.kinesis, "events")

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.server)

    def refused(self, app):
        response, answer = self.server.call("CreateApplication", json.dumps(app),
                                            api="SluiceAdmin.")
        self.assertEqual(response.status, 400, answer)
        self.assertEqual(answer["__type"], "InvalidArgumentException")
        return answer["message"]

    def test_malformed_sql_names_line_column_and_reason(self):
        app = per_minute_app("bad-sql")
        app["ApplicationCode"] = PER_MINUTE_SQL.replace(
            "event_type = 'page_view'", "event_type = = 'page_view'")
        self.assertEqual(
            self.refused(app),
            "SQL error at line 9, column 26: near \"=\": syntax error")
        app["ApplicationCode"] = PER_MINUTE_SQL.replace(
            "GROUP BY s.user_id,", "GROUP s.user_id,")
        self.assertEqual(
            self.refused(app),
            "SQL error at line 6, column 30: an aggregate needs GROUP BY with a "
            "tumbling window term on ROWTIME (STEP or FLOOR)")
        app["ApplicationCode"] = PER_MINUTE_SQL.replace("COUNT(*),", "COUNT(*,")
        self.assertIn("SQL error at line 6,", self.refused(app))

    def test_unknown_column_names_it_and_its_position(self):
        app = per_minute_app("bad-column")
        app["ApplicationCode"] = PER_MINUTE_SQL.replace(
            "COUNT(DISTINCT s.page)", "COUNT(DISTINCT s.pages)")
        self.assertEqual(self.refused(app),
                         "SQL error at line 6, column 55: no such column: s.pages")

    def test_nothing_is_created_by_a_refused_application(self):
        app = per_minute_app("never")
        app["ApplicationCode"] = "CREATE OR REPLACE STREAM x (a INTEGER);"
        self.assertIn("no CREATE PUMP", self.refused(app))
        names = [a["ApplicationName"] for a in
                 admin(self.server, "ListApplications", {})["ApplicationSummaries"]]
        self.assertNotIn("never", names)
        response, answer = self.server.call(
            "DescribeApplication", json.dumps({"ApplicationName": "never"}),
            api="SluiceAdmin.")
        self.assertEqual(response.status, 400)
        self.assertEqual(answer["__type"], "ResourceNotFoundException")


if __name__ == "__main__":
    unittest.main()
