"""The `metrics` and `alerts` handlers end to end. boto3 produces the
e-commerce events of pipelines.md into the real binary; a `metrics` consumer
counts them into SQLite. The exactly-once proof: the server is killed with
SIGKILL while the consumer is working through a backlog, restarted, fed more
events, and the counters (read with Python's sqlite3 while Sluice runs, and
through SluiceAdmin.QueryMetrics) must equal a recount of the stream's
records read back with GetRecords. Alerts: a high-value-order rule writes to
a JSONL file, a loopback webhook that fails twice before accepting, and
another stream."""

import datetime
import http.server
import json
import os
import random
import shutil
import signal
import sqlite3
import tempfile
import threading
import unittest
import uuid
from collections import Counter, defaultdict

import boto3
import botocore.config

from sluice_process import poll_until, start_server

ADMIN = "SluiceAdmin."
DEADLINE_S = 60

# The e-commerce counters of pipelines.md, as docs/consumers.md shows them.
METRICS_HANDLER = {
    "type": "metrics",
    "database": "metrics/shop.db",
    "rules": [
        {"table": "pageviews", "match": {"event_type": "page_view"},
         "key": "pageviews#{@date}", "sort_key": "{data.page}",
         "add": {"view_count": 1}, "set": {"last_updated": "{timestamp}"}},
        {"table": "revenue", "match": {"event_type": "purchase"},
         "key": "revenue#{@date}", "sort_key": "total",
         "add": {"total_revenue": {"cents": "data.amount"}, "order_count": 1},
         "set": {"last_updated": "{timestamp}"}},
        {"table": "errors", "match": {"event_type": "error"},
         "key": "errors#{@date}#{@hour}", "sort_key": "{data.error_code|'unknown'}",
         "add": {"error_count": 1},
         "set": {"last_updated": "{timestamp}",
                 "last_message": {"value": "{data.message}", "max_length": 500}}},
        {"table": "users", "match": {"data.user_id": {"exists": True}},
         "key": "{data.user_id}", "add": {"total_events": 1},
         "set": {"last_activity": "{timestamp}"}},
        {"table": "user_events", "match": {"data.user_id": {"exists": True}},
         "key": "{data.user_id}", "sort_key": "{event_type}", "add": {"events": 1}},
    ],
}

PAGES = [f"/products/widget-{c}" for c in "abcdefgh"] + ["/", "/cart"]


def kinesis_client(server):
    config = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"})
    return boto3.client("kinesis", endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="y", config=config)


def admin(server, operation, body, expect=200):
    response, answer = server.call(operation, json.dumps(body), api=ADMIN)
    if response.status != expect:
        raise AssertionError(f"{operation} answered {response.status} {answer}")
    return answer


def event(rng, n):
    """One e-commerce event as pipelines.md describes it; malformed now and
    then (not JSON, a purchase without an amount), as real streams are."""
    user = f"user-{rng.randrange(40)}"
    kind = rng.choices(["page_view", "add_to_cart", "purchase", "error", "junk"],
                       [60, 15, 15, 8, 2])[0]
    stamp = f"2026-12-02T07:{n // 1000 % 60:02d}:{n % 60:02d}.{n % 1000:03d}Z"
    base = {"event_id": str(uuid.UUID(int=rng.getrandbits(128))), "event_type": kind,
            "timestamp": stamp}
    if kind == "page_view":
        base["data"] = {"user_id": user, "page": rng.choice(PAGES), "referrer": "ads",
                        "device": "mobile"}
    elif kind == "add_to_cart":
        base["data"] = {"user_id": user, "product_id": "p7", "quantity": 2, "price": 9.99}
    elif kind == "purchase":
        base["data"] = {"user_id": user, "product_id": "p7", "currency": "USD"}
        if rng.random() < 0.95:
            base["data"]["amount"] = rng.randrange(1, 99999) / 100
    elif kind == "error":
        user = str(uuid.UUID(int=rng.getrandbits(128)))  # no user: a random key
        base["data"] = {"message": "timeout talking to payments " + "x" * rng.randrange(600)}
        if rng.random() < 0.8:
            base["data"]["error_code"] = rng.choice(["E500", "E503", "E429"])
    else:
        return user, b"\x00not json"
    return user, json.dumps(base).encode()


def put_events(kinesis, stream, rng, first, count):
    """PutRecords in batches of 500, retrying the entries that failed."""
    for start in range(first, first + count, 500):
        entries = []
        for n in range(start, min(start + 500, first + count)):
            key, data = event(rng, n)
            entries.append({"Data": data, "PartitionKey": key})
        while entries:
            answer = kinesis.put_records(StreamName=stream, Records=entries)
            entries = [e for e, r in zip(entries, answer["Records"]) if "ErrorCode" in r]


def read_stream(kinesis, stream):
    """Every record of every shard, from GetRecords: {shard_id: [records]}."""
    shards = kinesis.list_shards(StreamName=stream)["Shards"]
    out = {}
    for shard in shards:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"],
            ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        records = []
        while True:
            answer = kinesis.get_records(ShardIterator=iterator, Limit=10000)
            records += answer["Records"]
            if not answer["Records"] and answer.get("MillisBehindLatest", 0) == 0:
                break
            iterator = answer["NextShardIterator"]
        out[shard["ShardId"]] = records
    return out


def cents(amount):
    """round(amount * 100) half away from zero on the decimal as written."""
    from decimal import ROUND_HALF_UP, Decimal
    return int((Decimal(repr(amount)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def recount(shards):
    """What the five rules must hold, computed from the log."""
    pageviews, revenue, errors = Counter(), defaultdict(lambda: [0, 0]), Counter()
    users, user_events, last_activity = Counter(), Counter(), {}
    for records in shards.values():
        for record in records:
            try:
                e = json.loads(record["Data"])
            except ValueError:
                continue
            arrival = record["ApproximateArrivalTimestamp"].astimezone(datetime.timezone.utc)
            day = arrival.strftime("%Y-%m-%d")
            data = e.get("data", {})
            kind = e["event_type"]
            if kind == "page_view":
                pageviews[(f"pageviews#{day}", data["page"])] += 1
            if kind == "purchase" and "amount" in data:
                revenue[f"revenue#{day}"][0] += cents(data["amount"])
                revenue[f"revenue#{day}"][1] += 1
            if kind == "error":
                errors[(f"errors#{day}#{arrival.strftime('%H')}",
                        data.get("error_code", "unknown"))] += 1
            if "user_id" in data:
                users[data["user_id"]] += 1
                user_events[(data["user_id"], kind)] += 1
                last_activity[data["user_id"]] = e["timestamp"]  # one shard per user
    return {
        "pageviews": {k: v for k, v in pageviews.items()},
        "revenue": {k: tuple(v) for k, v in revenue.items()},
        "errors": dict(errors),
        "users": {u: (n, last_activity[u]) for u, n in users.items()},
        "user_events": dict(user_events),
    }


def counted(db_path):
    """The same figures from the metrics database, read with sqlite3 while
    Sluice runs (WAL lets a reader in at any time)."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        q = db.execute
        return {
            "pageviews": {(k, s): n for k, s, n in
                          q("SELECT key, sort_key, view_count FROM pageviews")},
            "revenue": {k: (c, n) for k, c, n in
                        q("SELECT key, total_revenue, order_count FROM revenue")},
            "errors": {(k, s): n for k, s, n in
                       q("SELECT key, sort_key, error_count FROM errors")},
            "users": {k: (n, t) for k, n, t in
                      q("SELECT key, total_events, last_activity FROM users")},
            "user_events": {(k, s): n for k, s, n in
                            q("SELECT key, sort_key, events FROM user_events")},
        }
    finally:
        db.close()


def applied_marks(db_path):
    if not os.path.exists(db_path):
        return {}
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return dict(db.execute("SELECT shard_id, applied_offset FROM sluice_applied"))
    except sqlite3.OperationalError:  # tables not made yet
        return {}
    finally:
        db.close()


class MetricsExactlyOnceTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sluice-metrics-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.data = os.path.join(self.dir, "data")
        self.db = os.path.join(self.data, "consumers", "metrics", "shop.db")

    def start(self):
        return start_server(self, "--data-dir", self.data, in_memory=False)

    def test_sigkill_mid_stream_never_double_counts(self):
        rng = random.Random(7)
        server = self.start()
        kinesis = kinesis_client(server)
        kinesis.create_stream(StreamName="events", ShardCount=2)
        poll_until(lambda: kinesis.describe_stream_summary(StreamName="events")
                   ["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE",
                   DEADLINE_S, "stream ACTIVE")
        put_events(kinesis, "events", rng, 0, 20000)
        admin(server, "CreateConsumer", {
            "ConsumerName": "shop", "StreamName": "events",
            "StartingPosition": "TRIM_HORIZON", "BatchSize": 100,
            "Handler": METRICS_HANDLER})

        # Kill as soon as some batches are counted: the backlog of 20,000 is
        # then still being worked through, a batch likely half way.
        poll_until(lambda: applied_marks(self.db), DEADLINE_S, "a first counted batch")
        server.kill()
        server.wait()
        at_kill = sum(v + 1 for v in applied_marks(self.db).values())
        self.assertLess(at_kill, 20000, "the kill came after the backlog was done")
        # The widest window a crash can hit: every counted batch committed,
        # no checkpoint saved yet. Put the consumer's checkpoints back to the
        # start, so that everything counted so far is handed over again.
        catalog = sqlite3.connect(os.path.join(self.data, "catalog.db"))
        with catalog:
            rewound = catalog.execute("UPDATE checkpoints SET position = '0' "
                                      "WHERE reader = 'consumer/shop'").rowcount
        catalog.close()
        self.assertEqual(rewound, 2)

        server = self.start()
        kinesis = kinesis_client(server)
        put_events(kinesis, "events", rng, 20000, 3000)  # more after the restart

        shards = read_stream(kinesis, "events")
        self.assertEqual(sum(len(r) for r in shards.values()), 23000)
        # Offsets count from 0 in each shard, so the last one is len - 1.
        last = {shard: len(records) - 1 for shard, records in shards.items()}
        poll_until(lambda: applied_marks(self.db) == last, DEADLINE_S,
                   f"every record counted (marks {applied_marks(self.db)} vs {last})")
        # Every record was handed over again since the restart, the
        # {at_kill} counted before the kill included.
        handed = admin(server, "DescribeConsumer",
                       {"ConsumerName": "shop"})["Consumer"]["Counts"]["Records"]
        self.assertGreaterEqual(handed, 23000)

        expected = recount(shards)
        got = counted(self.db)
        for table in expected:
            self.assertEqual(got[table], expected[table], table)

        # Malformed records were skipped and counted, not retried forever.
        db = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        skipped = dict(db.execute(
            "SELECT rule || ':' || reason, count FROM sluice_skipped"))
        db.close()
        junk = sum(1 for rs in shards.values() for r in rs if r["Data"] == b"\x00not json")
        self.assertEqual(skipped.get(":not JSON"), junk)
        self.assertGreater(skipped.get("revenue:missing data.amount", 0), 0)

        # The JSON endpoint reads the same rows.
        answer = admin(server, "QueryMetrics",
                       {"ConsumerName": "shop", "Table": "revenue"})
        self.assertEqual({r["key"]: (r["total_revenue"], r["order_count"])
                          for r in answer["Rows"]}, expected["revenue"])
        self.assertFalse(answer["Truncated"])
        user = sorted(expected["users"])[0]
        answer = admin(server, "QueryMetrics",
                       {"ConsumerName": "shop", "Table": "user_events", "Key": user})
        self.assertEqual({r["sort_key"]: r["events"] for r in answer["Rows"]},
                         {k[1]: n for k, n in expected["user_events"].items()
                          if k[0] == user})
        summary = admin(server, "QueryMetrics", {"ConsumerName": "shop"})
        self.assertEqual({t["Table"]: t["Rows"] for t in summary["Tables"]},
                         {t: len(v) for t, v in expected.items()})
        self.assertEqual(summary["Database"], self.db)

    def test_query_metrics_errors(self):
        server = self.start()
        kinesis = kinesis_client(server)
        kinesis.create_stream(StreamName="events", ShardCount=1)
        admin(server, "CreateConsumer", {
            "ConsumerName": "shop", "StreamName": "events",
            "StartingPosition": "TRIM_HORIZON", "Handler": METRICS_HANDLER})
        answer = admin(server, "QueryMetrics", {"ConsumerName": "nope"}, 400)
        self.assertEqual(answer["__type"], "ResourceNotFoundException")
        answer = admin(server, "QueryMetrics", {"ConsumerName": "shop", "Table": "x"}, 400)
        self.assertEqual(answer["__type"], "ResourceNotFoundException")
        answer = admin(server, "QueryMetrics",
                       {"ConsumerName": "shop", "Table": "users", "Limit": 0}, 400)
        self.assertEqual(answer["__type"], "ValidationException")
        answer = admin(server, "QueryMetrics", {"ConsumerName": "shop", "Key": 5}, 400)
        self.assertEqual(answer["__type"], "ValidationException")
        bad = dict(METRICS_HANDLER, database="../../escape.db")
        answer = admin(server, "CreateConsumer", {
            "ConsumerName": "bad", "StreamName": "events",
            "StartingPosition": "TRIM_HORIZON", "Handler": bad}, 400)
        self.assertEqual(answer["__type"], "InvalidArgumentException")
        self.assertIn("database", answer["message"])


class FlakyWebhook(http.server.BaseHTTPRequestHandler):
    """Fails the first two POSTs with 500, then accepts and keeps bodies."""
    failures_left = 2
    bodies = []
    attempts = 0
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with FlakyWebhook.lock:
            FlakyWebhook.attempts += 1
            fail = FlakyWebhook.failures_left > 0
            if fail:
                FlakyWebhook.failures_left -= 1
            else:
                FlakyWebhook.bodies.append(json.loads(body))
        self.send_response(500 if fail else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class AlertsTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="sluice-alerts-")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.webhook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FlakyWebhook)
        threading.Thread(target=self.webhook.serve_forever, daemon=True).start()
        self.addCleanup(self.webhook.server_close)
        self.addCleanup(self.webhook.shutdown)
        self.server = start_server(self, "--consumer-root", self.root)
        self.kinesis = kinesis_client(self.server)

    def test_high_value_orders_reach_every_output_once(self):
        for name in ("orders", "alerts-out"):
            self.kinesis.create_stream(StreamName=name, ShardCount=1)
            poll_until(lambda: self.kinesis.describe_stream_summary(StreamName=name)
                       ["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE",
                       DEADLINE_S, f"{name} ACTIVE")
        url = f"http://127.0.0.1:{self.webhook.server_address[1]}/alerts"
        admin(self.server, "CreateConsumer", {
            "ConsumerName": "watch", "StreamName": "orders",
            "StartingPosition": "TRIM_HORIZON",
            "Handler": {
                "type": "alerts",
                "rules": [{
                    "name": "high_value_order",
                    "match": {"event_type": "purchase", "data.amount": {">": 500}},
                    "subject": "High-Value Order Detected",
                    "message": {"order_amount": "{data.amount}",
                                "user_id": "{data.user_id}",
                                "product_id": "{data.product_id}",
                                "timestamp": "{timestamp}"}}],
                "outputs": [
                    {"type": "jsonl", "path": "alerts/high_value.jsonl"},
                    {"type": "webhook", "url": url, "initial_backoff_seconds": 0.1},
                    {"type": "stream", "stream": "alerts-out"}]}})
        amounts = [612.5, 20, 1500, 499.99, 500.01, 500]
        seqs = []
        for i, amount in enumerate(amounts):
            data = {"event_type": "purchase", "timestamp": f"2026-12-02T07:00:0{i}Z",
                    "data": {"user_id": f"u{i}", "product_id": "p1", "amount": amount}}
            seqs.append(self.kinesis.put_record(
                StreamName="orders", Data=json.dumps(data).encode(),
                PartitionKey=f"u{i}")["SequenceNumber"])
        high = [(f"u{i}", a, seqs[i]) for i, a in enumerate(amounts) if a > 500]

        jsonl = os.path.join(self.root, "alerts", "high_value.jsonl")

        def lines():
            if not os.path.exists(jsonl):
                return []
            with open(jsonl) as f:
                return [json.loads(line) for line in f if line.endswith("\n")]

        poll_until(lambda: len(lines()) == len(high), DEADLINE_S, "JSONL alerts")
        got = lines()
        self.assertEqual([(a["message"]["user_id"], a["message"]["order_amount"],
                           a["sequence_number"]) for a in got], high)
        first = got[0]
        self.assertEqual(first["subject"], "High-Value Order Detected")
        self.assertEqual(first["rule"], "high_value_order")
        self.assertEqual(first["shard_id"], "shardId-000000000000")
        self.assertEqual(first["message"], {"order_amount": 612.5, "user_id": "u0",
                                            "product_id": "p1",
                                            "timestamp": "2026-12-02T07:00:00Z"})
        self.assertRegex(first["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(first["alert_id"],
                         f"watch/high_value_order/shardId-000000000000/{seqs[0]}")

        # The webhook failed twice, then took every alert exactly once.
        poll_until(lambda: len(FlakyWebhook.bodies) == len(high), DEADLINE_S,
                   "webhook alerts")
        self.assertEqual(FlakyWebhook.attempts, len(high) + 2)
        self.assertEqual([b["alert_id"] for b in FlakyWebhook.bodies],
                         [a["alert_id"] for a in got])

        # And the other stream got them as records, keyed by the source's key.
        poll_until(lambda: len(read_stream(self.kinesis, "alerts-out")
                               ["shardId-000000000000"]) == len(high),
                   DEADLINE_S, "alerts in alerts-out")
        out = read_stream(self.kinesis, "alerts-out")["shardId-000000000000"]
        self.assertEqual([r["PartitionKey"] for r in out], [h[0] for h in high])
        self.assertEqual([json.loads(r["Data"])["alert_id"] for r in out],
                         [a["alert_id"] for a in got])


if __name__ == "__main__":
    unittest.main()
