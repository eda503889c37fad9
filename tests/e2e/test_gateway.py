"""The ingestion gateway against the real binary: REST routes from the config
file, posted to "curl-style" with http.client, records read back with boto3.

Covers single and batch posts (JSON array and NDJSON), partial success,
missing/wrong keys and keys bound to other routes (401/403, nothing
written), validation naming every failing field (nothing written), 413,
rate limits (429 + Retry-After), CORS preflight and headers, the GET
listings, keys created at run time (SluiceAdmin / sluice-cli gateway-keys),
the rejected-events file, and a Firehose target read back after a flush."""

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import boto3
import botocore.config

from sluice_process import poll_until, start_server, stop_cleanly

DEADLINE_S = 30
WEB_KEY = "web-secret-123"          # hashed into the config below
DEVICE_KEY = "device-secret-456"    # given through the environment
SLOW_KEY = "slow-secret-789"        # rate limited
ORIGIN = "http://127.0.0.1:9999"

VALIDATION = {
    "required": ["timestamp", "user_id", "event_type"],
    "types": {"timestamp": "string", "user_id": "string",
              "amount": "number", "quantity": "integer"},
    "event_type_field": "event_type",
    "required_by_event_type": {"purchase": ["amount"],
                               "add_to_cart": ["product_id", "quantity"],
                               "page_view": ["page"]},
}


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def config(rejected_file, archive):
    return {
        "streams": [{"name": "events", "shard_count": 2},
                    {"name": "other", "shard_count": 1}],
        "delivery_streams": [
            {"name": "telemetry",
             "extended_s3": {"BucketARN": "arn:aws:s3:::raw",
                             "Prefix": "telemetry/",
                             "BufferingHints": {"SizeInMBs": 64,
                                                "IntervalInSeconds": 900}}}],
        "gateway": {
            "routes": [
                {"method": "POST", "path": "/api/events", "stream": "events",
                 "partition_key": "user_id",
                 "enrich": {"received_at": "received_at",
                            "source_ip": "source_ip",
                            "request_id": "request_id"},
                 "validation": VALIDATION, "max_body_bytes": 4096},
                {"method": "POST", "path": "/api/events/batch",
                 "stream": "events", "batch": True,
                 "partition_key": "user_id", "validation": VALIDATION},
                {"method": "POST", "path": "/api/other", "stream": "other"},
                {"method": "POST", "path": "/api/limited", "stream": "other"},
                {"method": "POST", "path": "/api/big", "stream": "other",
                 "max_body_bytes": 3 * 1024 * 1024},
                {"method": "POST", "path": "/api/telemetry",
                 "delivery_stream": "telemetry",
                 "validation": {"required": ["speed"],
                                "types": {"speed": "number"}}},
                {"method": "GET", "path": "/api/streams", "list": "streams"},
                {"method": "GET", "path": "/api/delivery-streams",
                 "list": "delivery_streams"},
            ],
            "api_keys": [
                {"name": "web", "sha256": sha256(WEB_KEY),
                 "routes": ["POST /api/events", "POST /api/events/batch",
                            "POST /api/other", "POST /api/big",
                            "GET /api/streams",
                            "GET /api/delivery-streams"]},
                {"name": "device", "env": "SLUICE_TEST_DEVICE_KEY",
                 "routes": ["POST /api/telemetry"]},
                {"name": "slow", "sha256": sha256(SLOW_KEY),
                 "routes": ["POST /api/limited"],
                 "rate_limit": {"requests_per_second": 0.5, "burst": 2}},
            ],
            "cors": {"allowed_origins": [ORIGIN], "max_age_seconds": 300},
            "rejected_events_file": rejected_file,
        },
    }


def kinesis_client(server):
    return boto3.client(
        "kinesis", endpoint_url=server.endpoint, region_name="us-east-1",
        aws_access_key_id="x", aws_secret_access_key="y",
        config=botocore.config.Config(retries={"max_attempts": 1}))


def purchase(user="u1", **extra):
    event = {"event_type": "purchase", "user_id": user,
             "timestamp": "2026-12-02T08:00:00Z", "amount": 49.99,
             "product_id": "widget-a"}
    event.update(extra)
    return event


class GatewayTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="sluice-gateway-")
        cls.addClassCleanup(shutil.rmtree, cls.workdir, True)
        cls.rejected = os.path.join(cls.workdir, "rejected.jsonl")
        cls.archive = os.path.join(cls.workdir, "archive")
        path = os.path.join(cls.workdir, "sluice.json")
        with open(path, "w") as f:
            json.dump(config(cls.rejected, cls.archive), f)
        os.environ["SLUICE_TEST_DEVICE_KEY"] = DEVICE_KEY
        cls.server = start_server(cls, "--config", path,
                                  "--archive-root", cls.archive)
        cls.kinesis = kinesis_client(cls.server)

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.server)

    # --- helpers -------------------------------------------------------------

    def post(self, path, body, key=WEB_KEY, bearer=False, headers=None):
        sent = {"Content-Type": "application/json"}
        if key is not None:
            if bearer:
                sent["Authorization"] = "Bearer " + key
            else:
                sent["x-api-key"] = key
        sent.update(headers or {})
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        response, data = self.server.request("POST", path, body, sent)
        return response, json.loads(data) if data else None

    def records(self, stream="events"):
        """Every record now in the stream, by shard, as parsed JSON."""
        out = []
        for shard in self.kinesis.list_shards(StreamName=stream)["Shards"]:
            iterator = self.kinesis.get_shard_iterator(
                StreamName=stream, ShardId=shard["ShardId"],
                ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            got = self.kinesis.get_records(ShardIterator=iterator, Limit=10000)
            for record in got["Records"]:
                out.append((record, json.loads(record["Data"])))
        return out

    def count(self, stream="events"):
        return len(self.records(stream))

    # --- single events ---------------------------------------------------------

    def test_a_single_event_is_stored_enriched_and_keyed_by_user(self):
        before = self.count()
        response, body = self.post("/api/events", purchase(user="alice"))
        self.assertEqual(response.status, 200, body)
        self.assertEqual(body["request_id"], response.getheader("X-Request-Id"))
        self.assertRegex(body["shard_id"], r"^shardId-\d{12}$")
        found = [(r, d) for r, d in self.records()
                 if r["SequenceNumber"] == body["sequence_number"]]
        self.assertEqual(len(found), 1)
        record, data = found[0]
        self.assertEqual(record["PartitionKey"], "alice")
        self.assertEqual(data["amount"], 49.99)
        self.assertEqual(data["source_ip"], "127.0.0.1")
        self.assertEqual(data["request_id"], body["request_id"])
        self.assertRegex(data["received_at"],
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(self.count(), before + 1)

    def test_bearer_authorization_works_like_x_api_key(self):
        response, body = self.post("/api/events", purchase(), bearer=True)
        self.assertEqual(response.status, 200, body)

    def test_without_the_key_field_the_partition_key_is_a_uuid(self):
        # user_id is required on /api/events, so use an unvalidated route.
        response, body = self.post("/api/other", {"x": 1})
        self.assertEqual(response.status, 200, body)
        keys = [r["PartitionKey"] for r, d in self.records("other")
                if r["SequenceNumber"] == body["sequence_number"]]
        self.assertRegex(keys[0], r"^[0-9a-f]{8}-[0-9a-f]{4}-4")

    # --- authentication ----------------------------------------------------------

    def test_missing_key_is_401_and_writes_nothing(self):
        before = self.count()
        response, body = self.post("/api/events", purchase(), key=None)
        self.assertEqual(response.status, 401)
        self.assertIn("Missing API key", body["message"])
        self.assertEqual(response.getheader("WWW-Authenticate"), "Bearer")
        self.assertEqual(self.count(), before)

    def test_wrong_key_is_403_and_writes_nothing(self):
        before = self.count()
        response, body = self.post("/api/events", purchase(), key="nope")
        self.assertEqual(response.status, 403)
        self.assertEqual(body["message"], "Invalid API key")
        response, body = self.post("/api/events", purchase(), key="nope",
                                   bearer=True)
        self.assertEqual(response.status, 403)
        self.assertEqual(self.count(), before)

    def test_key_bound_to_other_routes_is_403(self):
        before = self.count()
        response, body = self.post("/api/events", purchase(), key=DEVICE_KEY)
        self.assertEqual(response.status, 403)
        self.assertEqual(body["message"],
                         "API key 'device' may not use POST /api/events")
        self.assertEqual(self.count(), before)

    # --- validation and size -------------------------------------------------------

    def test_bad_event_is_400_naming_every_field_and_writes_nothing(self):
        before = self.count()
        bad = {"event_type": "purchase", "timestamp": 17, "quantity": 1.5}
        response, body = self.post("/api/events", bad)
        self.assertEqual(response.status, 400, body)
        self.assertEqual(
            {(e["field"], e["message"]) for e in body["errors"]},
            {("user_id", "is required"),
             ("timestamp", "must be a string"),
             ("quantity", "must be an integer"),
             ("amount", "is required when event_type is purchase")})
        self.assertIn("user_id is required", body["message"])
        self.assertEqual(self.count(), before)
        # Kept for inspection, with the reason.
        def kept():
            if not os.path.exists(self.rejected):
                return None
            with open(self.rejected) as f:
                lines = [json.loads(line) for line in f if line.strip()]
            return [l for l in lines if l["request_id"] == body["request_id"]]
        line = poll_until(kept, DEADLINE_S, "the rejected-events line")[0]
        self.assertEqual(line["route"], "POST /api/events")
        self.assertEqual(line["api_key"], "web")
        self.assertEqual(json.loads(line["event"]), bad)
        self.assertEqual(len(line["errors"]), 4)

    def test_body_that_is_not_json_is_400(self):
        before = self.count()
        response, body = self.post("/api/events", b"{not json")
        self.assertEqual(response.status, 400)
        self.assertIn("not valid JSON", body["message"])
        self.assertEqual(self.count(), before)

    def test_oversized_body_is_413_and_writes_nothing(self):
        before = self.count()
        response, body = self.post("/api/events",
                                   purchase(pad="x" * 5000))
        self.assertEqual(response.status, 413)
        self.assertIn("exceeds the limit of 4096 bytes", body["message"])
        self.assertEqual(self.count(), before)

    def test_event_over_the_streams_record_size_is_413(self):
        before = self.count("other")
        response, body = self.post("/api/big", {"pad": "x" * (1024 * 1024)})
        self.assertEqual(response.status, 413, body)
        self.assertIn("Member must have length less than or equal to",
                      body["message"])
        self.assertEqual(self.count("other"), before)

    def test_rejections_are_counted(self):
        def describe():
            response, body = self.server.call("DescribeGateway", b"{}",
                                              api="SluiceAdmin.")
            self.assertEqual(response.status, 200)
            return {r["Path"]: r for r in body["Routes"]
                    if r["Method"] == "POST"}
        before = describe()["/api/events"]
        self.post("/api/events", {"event_type": "purchase"})
        self.post("/api/events", purchase())
        after = describe()["/api/events"]
        self.assertEqual(after["RejectedEvents"], before["RejectedEvents"] + 1)
        self.assertEqual(after["AcceptedEvents"], before["AcceptedEvents"] + 1)

    # --- batches --------------------------------------------------------------------

    def test_json_array_batch_reports_each_event_with_partial_success(self):
        before = self.count()
        events = [purchase(user="b1"), {"event_type": "purchase",
                                        "user_id": "b2",
                                        "timestamp": "t"},
                  {"event_type": "page_view", "user_id": "b3",
                   "timestamp": "t", "page": "/home"}]
        response, body = self.post("/api/events/batch", events)
        self.assertEqual(response.status, 207, body)
        self.assertEqual((body["accepted"], body["failed"]), (2, 1))
        results = body["results"]
        self.assertEqual([r["index"] for r in results], [0, 1, 2])
        self.assertIn("sequence_number", results[0])
        self.assertIn("sequence_number", results[2])
        self.assertNotIn("sequence_number", results[1])
        self.assertEqual(results[1]["errors"],
                         [{"field": "amount",
                           "message": "is required when event_type is purchase"}])
        self.assertEqual(self.count(), before + 2)
        stored = {r["SequenceNumber"]: (r["PartitionKey"], d)
                  for r, d in self.records()}
        self.assertEqual(stored[results[0]["sequence_number"]][0], "b1")
        self.assertEqual(stored[results[2]["sequence_number"]][1]["page"],
                         "/home")

    def test_ndjson_batch_with_a_broken_line(self):
        before = self.count()
        lines = [json.dumps(purchase(user="n1")), "{broken",
                 "", json.dumps(purchase(user="n2"))]
        response, body = self.post("/api/events/batch",
                                   "\n".join(lines) + "\n",
                                   headers={"Content-Type":
                                            "application/x-ndjson"})
        self.assertEqual(response.status, 207, body)
        self.assertEqual((body["accepted"], body["failed"]), (2, 1))
        self.assertEqual(body["results"][1]["error"],
                         "The event is not valid JSON")
        self.assertEqual(self.count(), before + 2)

    def test_batch_with_every_event_bad_is_400_and_writes_nothing(self):
        before = self.count()
        response, body = self.post("/api/events/batch", [{}, {"user_id": 3}])
        self.assertEqual(response.status, 400)
        self.assertEqual(body["accepted"], 0)
        self.assertEqual(self.count(), before)

    def test_all_good_batch_is_200(self):
        response, body = self.post("/api/events/batch",
                                   [purchase(user=f"g{i}") for i in range(20)])
        self.assertEqual(response.status, 200)
        self.assertEqual(body["accepted"], 20)

    # --- rate limit ---------------------------------------------------------------

    def test_rate_limit_answers_429_with_retry_after(self):
        statuses = []
        for _ in range(5):
            response, body = self.post("/api/limited", {"n": 1}, key=SLOW_KEY)
            statuses.append(response.status)
            if response.status == 429:
                break
        self.assertEqual(statuses[-1], 429, statuses)
        self.assertGreaterEqual(int(response.getheader("Retry-After")), 1)
        self.assertIn("Too many requests", body["message"])

    # --- CORS ---------------------------------------------------------------------

    def test_cors_preflight_for_an_allowed_origin(self):
        response, _ = self.server.request("OPTIONS", "/api/events", None, {
            "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-api-key"})
        self.assertEqual(response.status, 204)
        self.assertEqual(response.getheader("Access-Control-Allow-Origin"),
                         ORIGIN)
        self.assertIn("POST", response.getheader("Access-Control-Allow-Methods"))
        allowed = response.getheader("Access-Control-Allow-Headers").lower()
        self.assertIn("x-api-key", allowed)
        self.assertIn("content-type", allowed)
        self.assertEqual(response.getheader("Access-Control-Max-Age"), "300")

    def test_cors_preflight_from_another_origin_is_refused(self):
        response, _ = self.server.request("OPTIONS", "/api/events", None, {
            "Origin": "http://evil.example",
            "Access-Control-Request-Method": "POST"})
        self.assertEqual(response.status, 403)
        self.assertIsNone(response.getheader("Access-Control-Allow-Origin"))

    def test_cors_headers_on_answers_even_errors(self):
        response, _ = self.post("/api/events", purchase(),
                                headers={"Origin": ORIGIN})
        self.assertEqual(response.status, 200)
        self.assertEqual(response.getheader("Access-Control-Allow-Origin"),
                         ORIGIN)
        response, _ = self.post("/api/events", purchase(), key="bad",
                                headers={"Origin": ORIGIN})
        self.assertEqual(response.status, 403)
        self.assertEqual(response.getheader("Access-Control-Allow-Origin"),
                         ORIGIN)
        response, _ = self.post("/api/events", purchase(),
                                headers={"Origin": "http://evil.example"})
        self.assertIsNone(response.getheader("Access-Control-Allow-Origin"))

    # --- GET listings and other methods ---------------------------------------------

    def test_get_lists_streams_and_delivery_streams(self):
        response, data = self.server.request("GET", "/api/streams", None,
                                             {"x-api-key": WEB_KEY})
        self.assertEqual(response.status, 200)
        self.assertEqual(json.loads(data),
                         {"StreamNames": ["events", "other"],
                          "HasMoreStreams": False})
        response, data = self.server.request("GET", "/api/delivery-streams",
                                             None, {"x-api-key": WEB_KEY})
        self.assertEqual(json.loads(data)["DeliveryStreamNames"],
                         ["telemetry"])
        response, _ = self.server.request("GET", "/api/streams")
        self.assertEqual(response.status, 401)

    def test_wrong_method_is_405_and_aws_paths_still_work(self):
        response, _ = self.server.request("PUT", "/api/events", b"{}",
                                          {"x-api-key": WEB_KEY})
        self.assertEqual(response.status, 405)
        self.assertEqual(response.getheader("Allow"), "POST, OPTIONS")
        self.assertIn("events",
                      self.kinesis.list_streams()["StreamNames"])

    def test_gateway_over_http2(self):
        """h2c with prior knowledge (curl): the same routes and answers."""
        before = self.count()
        url = self.server.endpoint + "/api/events"
        done = subprocess.run(
            ["curl", "-s", "-i", "--http2-prior-knowledge", "-X", "POST", url,
             "-H", "x-api-key: " + WEB_KEY, "-H", "Origin: " + ORIGIN,
             "-H", "Content-Type: application/json",
             "-d", json.dumps(purchase(user="h2"))],
            capture_output=True, text=True, timeout=DEADLINE_S)
        self.assertEqual(done.returncode, 0, done.stderr)
        # text=True has turned CRLF into LF.
        head, _, body = done.stdout.partition("\n\n")
        self.assertTrue(head.startswith("HTTP/2 200"), done.stdout)
        self.assertIn("access-control-allow-origin: " + ORIGIN, head)
        sequence = json.loads(body)["sequence_number"]
        keys = [r["PartitionKey"] for r, _ in self.records()
                if r["SequenceNumber"] == sequence]
        self.assertEqual(keys, ["h2"])
        self.assertEqual(self.count(), before + 1)
        done = subprocess.run(
            ["curl", "-s", "-i", "--http2-prior-knowledge", "-X", "POST", url,
             "-d", "{}"], capture_output=True, text=True, timeout=DEADLINE_S)
        self.assertTrue(done.stdout.startswith("HTTP/2 401"), done.stdout)
        self.assertEqual(self.count(), before + 1)

    # --- Firehose target --------------------------------------------------------------

    def test_firehose_target_then_flush(self):
        response, body = self.post("/api/telemetry",
                                   {"speed": 212.5, "rpm": 11000},
                                   key=DEVICE_KEY)
        self.assertEqual(response.status, 200, body)
        self.assertTrue(body["record_id"])
        response, bad = self.post("/api/telemetry", {"speed": "fast"},
                                  key=DEVICE_KEY)
        self.assertEqual(response.status, 400)
        self.assertEqual(bad["errors"],
                         [{"field": "speed", "message": "must be a number"}])
        response, flushed = self.server.call(
            "FlushDeliveryStream",
            json.dumps({"DeliveryStreamName": "telemetry"}),
            api="SluiceAdmin.")
        self.assertEqual(response.status, 200, flushed)
        objects = flushed["Objects"]
        self.assertEqual(sum(o["Records"] for o in objects), 1)
        path = os.path.join(self.archive, objects[0]["Bucket"],
                            objects[0]["Key"])
        with open(path, "rb") as f:
            data = f.read()
        self.assertEqual(json.loads(data), {"speed": 212.5, "rpm": 11000})


class GatewayKeysTest(unittest.TestCase):
    """Keys created at run time: stored hashed in the catalog, shown once,
    kept across a restart, deleted from the CLI."""

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="sluice-gateway-keys-")
        self.addCleanup(shutil.rmtree, self.workdir, True)
        self.config = os.path.join(self.workdir, "sluice.json")
        with open(self.config, "w") as f:
            json.dump({
                "streams": [{"name": "events", "shard_count": 1}],
                "gateway": {"routes": [
                    {"method": "POST", "path": "/api/events",
                     "stream": "events"},
                    {"method": "POST", "path": "/api/admin-only",
                     "stream": "events"}]}}, f)
        self.data = os.path.join(self.workdir, "data")

    def start(self):
        return start_server(self, "--config", self.config, "--data-dir",
                            self.data, in_memory=False)

    def cli(self, server, *args):
        return subprocess.run(
            [os.environ.get("SLUICE_CLI", "sluice-cli"), "--endpoint",
             server.endpoint, *args],
            capture_output=True, text=True, timeout=DEADLINE_S)

    def test_create_list_use_restart_delete(self):
        server = self.start()
        made = self.cli(server, "gateway-keys", "create", "mobile",
                        "--routes", "POST /api/events")
        self.assertEqual(made.returncode, 0, made.stderr)
        secret = json.loads(made.stdout)["Key"]
        self.assertTrue(secret.startswith("sk_"))
        # Only the hash is stored.
        stop_cleanly(server)
        with open(os.path.join(self.data, "catalog.db"), "rb") as f:
            catalog = f.read()
        self.assertNotIn(secret.encode(), catalog)
        self.assertIn(sha256(secret).encode(), catalog)

        server = self.start()
        listed = self.cli(server, "gateway-keys", "list")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        keys = json.loads(listed.stdout)["Keys"]
        self.assertEqual([(k["Name"], k["Routes"], k["Source"]) for k in keys],
                         [("mobile", ["POST /api/events"], "catalog")])
        self.assertNotIn(secret, listed.stdout)

        headers = {"x-api-key": secret, "Content-Type": "application/json"}
        response, _ = server.request("POST", "/api/events", b'{"a":1}', headers)
        self.assertEqual(response.status, 200)
        response, _ = server.request("POST", "/api/admin-only", b'{"a":1}',
                                     headers)
        self.assertEqual(response.status, 403)

        deleted = self.cli(server, "gateway-keys", "delete", "mobile")
        self.assertEqual(deleted.returncode, 0, deleted.stderr)
        response, _ = server.request("POST", "/api/events", b'{"a":1}', headers)
        self.assertEqual(response.status, 403)
        again = self.cli(server, "gateway-keys", "delete", "mobile")
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("not found", again.stderr)
        stop_cleanly(server)

    def test_unknown_route_or_bad_name_is_refused(self):
        server = self.start()
        made = self.cli(server, "gateway-keys", "create", "k1",
                        "--routes", "POST /nowhere")
        self.assertNotEqual(made.returncode, 0)
        self.assertIn("is not a gateway route", made.stderr)
        made = self.cli(server, "gateway-keys", "create", "bad name",
                        "--routes", "*")
        self.assertNotEqual(made.returncode, 0)
        stop_cleanly(server)


class GatewayConfigTest(unittest.TestCase):
    def test_plaintext_key_in_config_is_refused(self):
        workdir = tempfile.mkdtemp(prefix="sluice-gateway-conf-")
        self.addCleanup(shutil.rmtree, workdir, True)
        path = os.path.join(workdir, "sluice.json")
        with open(path, "w") as f:
            json.dump({"gateway": {"api_keys": [
                {"name": "k", "key": "plaintext", "routes": ["*"]}]}}, f)
        from sluice_process import run_sluice
        done = run_sluice("serve", "--in-memory", "--port", "0",
                          "--config", path)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("unknown key 'key'", done.stderr)


if __name__ == "__main__":
    unittest.main()
