#!/usr/bin/env python3
"""Firehose end to end: PutRecordBatch of 500 x 1 KiB records into a GZIP
delivery stream, through to gzipped objects on disk.

Starts `sluice serve` (SLUICE_BIN, else build/server/sluice) with a fresh
data directory, creates a DirectPut delivery stream with GZIP and the default
5 MiB / 300 s hints, sends --records records from --connections connections,
calls SluiceAdmin.FlushDeliveryStream, and reports records/s from the first
put until the last object is durable. It then reads every object back and
checks that each record is there exactly once. Talks to 127.0.0.1 only;
every step has a time bound.

    python3 bench/firehose_bench.py [--records 500000] [--connections 4]
"""

import argparse
import base64
import gzip
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
AUTH = ("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/firehose/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=0")
LISTENING = re.compile(rb"listening on http://127\.0\.0\.1:(\d+)")
STREAM = "bench-archive"
BATCH = 500
RECORD_BYTES = 1024
DEADLINE_S = 600


def headers(target):
    return {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target,
            "X-Amz-Date": "20240101T000000Z", "Authorization": AUTH}


def call(conn, target, body):
    conn.request("POST", "/", body=body, headers=headers(target))
    response = conn.getresponse()
    data = response.read()
    if response.status != 200:
        raise RuntimeError(f"{target}: {response.status} {data[:300]!r}")
    return json.loads(data)


def record(n):
    """1 KiB, unique, ending in a newline so objects split back into records."""
    head = f"{n:012d} ".encode()
    return head + b"x" * (RECORD_BYTES - len(head) - 1) + b"\n"


def batch_body(first):
    records = [{"Data": base64.b64encode(record(first + i)).decode()}
               for i in range(BATCH)]
    return json.dumps({"DeliveryStreamName": STREAM, "Records": records})


def producer(port, batches, failures):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for first in batches:
        answer = call(conn, "Firehose_20150804.PutRecordBatch", batch_body(first))
        if answer["FailedPutCount"]:
            failures.append(answer["FailedPutCount"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--fsync", default="interval")
    args = parser.parse_args()
    total = (args.records // BATCH) * BATCH

    binary = os.environ.get("SLUICE_BIN",
                            os.path.join(BENCH_DIR, "..", "build", "server", "sluice"))
    workdir = tempfile.mkdtemp(prefix="sluice-firehose-bench-")
    server = subprocess.Popen(
        [binary, "serve", "--port", "0", "--data-dir", os.path.join(workdir, "data"),
         "--fsync", args.fsync, "--log-level", "warn"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        match = LISTENING.search(server.stdout.readline())
        if not match:
            raise RuntimeError("sluice did not start")
        port = int(match.group(1))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=DEADLINE_S)
        call(conn, "Firehose_20150804.CreateDeliveryStream", json.dumps({
            "DeliveryStreamName": STREAM,
            "ExtendedS3DestinationConfiguration": {
                "RoleARN": "arn:aws:iam::000000000000:role/bench",
                "BucketARN": "arn:aws:s3:::bench", "CompressionFormat": "GZIP"}}))

        starts = list(range(0, total, BATCH))
        failures = []
        threads = [threading.Thread(target=producer,
                                    args=(port, starts[i::args.connections], failures))
                   for i in range(args.connections)]
        began = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(DEADLINE_S)
        put_done = time.monotonic()
        call(conn, "SluiceAdmin.FlushDeliveryStream",
             json.dumps({"DeliveryStreamName": STREAM}))
        ended = time.monotonic()
        if failures:
            raise RuntimeError(f"{sum(failures)} records failed")

        bucket = os.path.join(workdir, "data", "archive", "bench")
        seen = set()
        objects = 0
        compressed = 0
        for directory, _, names in os.walk(bucket):
            for name in names:
                with open(os.path.join(directory, name), "rb") as f:
                    data = f.read()
                compressed += len(data)
                objects += 1
                for line in gzip.decompress(data).split(b"\n")[:-1]:
                    number = int(line[:12])
                    if number in seen:
                        raise RuntimeError(f"record {number} delivered twice")
                    seen.add(number)
        if len(seen) != total:
            raise RuntimeError(f"{total - len(seen)} records missing")

        seconds = ended - began
        print(f"records: {total} x {RECORD_BYTES} B in batches of {BATCH}, "
              f"{args.connections} connections, --fsync {args.fsync}")
        print(f"puts acknowledged: {put_done - began:.2f} s "
              f"({total / (put_done - began):,.0f} records/s)")
        print(f"end to end (last object durable): {seconds:.2f} s "
              f"({total / seconds:,.0f} records/s, "
              f"{total * RECORD_BYTES / seconds / 2**20:.1f} MiB/s)")
        print(f"objects: {objects}, {compressed / 2**20:.1f} MiB gzipped; "
              f"every record exactly once")
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
