#!/usr/bin/env python3
"""Ingestion gateway throughput: events/s through POST /api/events (API key
checked, validation and enrichment on) compared, in the same run and on the
same stream, with Kinesis PutRecord of a record of the same size.

    python3 bench/gateway_bench.py [--duration 10] [--connections 32]

Needs wrk (apt-get install wrk) and a built sluice (SLUICE_BIN, else
build/server/sluice). Talks to 127.0.0.1 only; every step is time-bounded.
Afterwards it reads the stream's record count back (GetRecords over every
shard) and checks it against the 2xx answers of both runs, so a figure never
counts refused events. wrk stops counting at the deadline with up to one
request per connection still in flight, and those may be stored, so the
stream may hold up to 2 x connections more records than were counted.
"""

import argparse
import hashlib
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)
STREAM = "gateway-bench"
KEY = "bench-key"
EVENT_BYTES = 290  # about the size of gateway_post.lua's events, enriched
AUTH = ("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/kinesis/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=0")


def config(shards):
    return {
        "streams": [{"name": STREAM, "shard_count": shards}],
        "gateway": {
            "routes": [{
                "method": "POST", "path": "/api/events", "stream": STREAM,
                "partition_key": "user_id",
                "enrich": {"received_at": "received_at",
                           "source_ip": "source_ip",
                           "request_id": "request_id"},
                "validation": {
                    "required": ["timestamp", "user_id", "event_type"],
                    "types": {"timestamp": "string", "user_id": "string",
                              "amount": "number", "quantity": "integer"},
                    "required_by_event_type": {
                        "purchase": ["amount"],
                        "add_to_cart": ["product_id", "quantity"],
                        "page_view": ["page"]}}}],
            "api_keys": [{"name": "bench",
                          "sha256": hashlib.sha256(KEY.encode()).hexdigest(),
                          "routes": ["*"]}],
        },
    }


def kinesis(port, op, body):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/", json.dumps(body), {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": f"Kinesis_20131202.{op}",
        "X-Amz-Date": "20240101T000000Z", "Authorization": AUTH})
    response = conn.getresponse()
    data = json.loads(response.read())
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"{op}: {response.status} {data}")
    return data


def count_records(port):
    total = 0
    for shard in kinesis(port, "ListShards", {"StreamName": STREAM})["Shards"]:
        iterator = kinesis(port, "GetShardIterator", {
            "StreamName": STREAM, "ShardId": shard["ShardId"],
            "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
        while iterator:
            got = kinesis(port, "GetRecords",
                          {"ShardIterator": iterator, "Limit": 10000})
            total += len(got["Records"])
            if not got["Records"]:
                break
            iterator = got.get("NextShardIterator")
    return total


def run_wrk(args, url, script, extra):
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}",
           f"-d{args.duration}s", "--timeout", "10s",
           "-s", os.path.join(BENCH_DIR, "wrk", script), url, "--", *extra]
    out = subprocess.run(cmd, capture_output=True, text=True,
                         timeout=args.duration + 120)
    line = next((l for l in out.stdout.splitlines()
                 if l.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result: {out.stdout} {out.stderr}")
    r = json.loads(line[len("WRKJSON "):])
    seconds = r["duration_us"] / 1e6
    errors = (r["err_status"] + r["err_connect"] + r["err_read"] +
              r["err_write"] + r["err_timeout"])
    r["ok"] = r["requests"] - r["err_status"]
    r["per_s"] = r["ok"] / seconds
    r["errors"] = errors
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--fsync", default="interval")
    args = ap.parse_args()
    binary = os.environ.get("SLUICE_BIN",
                            os.path.join(ROOT, "build", "server", "sluice"))
    with tempfile.TemporaryDirectory(prefix="sluice-gateway-bench-") as work:
        path = os.path.join(work, "sluice.json")
        with open(path, "w") as f:
            json.dump(config(args.shards), f)
        proc = subprocess.Popen(
            [binary, "serve", "--host", "127.0.0.1", "--port", "0",
             "--data-dir", os.path.join(work, "data"), "--fsync", args.fsync,
             "--config", path, "--log-level", "warn"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            line = proc.stdout.readline()
            port = int(re.search(r":(\d+) ", line).group(1))
            base = f"http://127.0.0.1:{port}"
            put = run_wrk(args, base + "/", "kinesis_put.lua",
                          [STREAM, "0", str(EVENT_BYTES)])
            gateway = run_wrk(args, base + "/api/events", "gateway_post.lua",
                              [KEY])
            stored = count_records(port)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    expected = put["ok"] + gateway["ok"]
    print(f"{args.duration} s each, wrk -t{args.threads} "
          f"-c{args.connections}, {args.shards} shards, --fsync {args.fsync}")
    for name, r in (("PutRecord (same stream, ~290 B)", put),
                    ("POST /api/events (key + validation + enrich)",
                     gateway)):
        print(f"  {name:46s} {r['per_s']:9,.0f} events/s  p50 "
              f"{r['lat_p50_us'] / 1000:.2f} ms  p99 "
              f"{r['lat_p99_us'] / 1000:.2f} ms  errors {r['errors']}")
    print(f"  gateway / PutRecord: {gateway['per_s'] / put['per_s']:.2f}")
    print(f"  records in the stream: {stored} (2xx answers: {expected})")
    in_flight = 2 * args.connections
    if not expected <= stored <= expected + in_flight or put["errors"] \
            or gateway["errors"]:
        print("MISMATCH or errors: the figures above are not trustworthy",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
