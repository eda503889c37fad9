#!/usr/bin/env python3
"""SubscribeToShard delivery latency: put -> event received, p50 and p99.

One producer puts records one at a time with boto3; one subscriber on the
same shard notes when each record arrives in an event. A record's latency is
from just before its put_record call to the moment the subscriber has parsed
the event holding it; the next put starts only after that, so latencies never
queue behind each other. Two subscribers, each over HTTP/1.1: boto3's
subscribe_to_shard, and a raw one (http.client and a 20-line event-stream
reader) for servers whose stream boto3 cannot read. Same clients, same
machine, side by side with kinesis-local (kinesalite has no
SubscribeToShard).

  python3 bench/subscribe_latency.py --sluice build/server/sluice \
      [--servers sluice,kinesis-local] [--puts 2000] [--other-puts 100]

Writes a Markdown table to stdout (and to --out when given). kinesis-local is
started from bench/node_modules (bench/run installs it).
"""

import argparse
import base64
import datetime
import http.client
import json
import os
import struct
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import boto3
import botocore.config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import http_bench  # noqa: E402  (its Server classes start the servers)

STREAM = "bench-subscribe"
RECEIVE_TIMEOUT_S = 30.0


def client(port):
    config = botocore.config.Config(retries={"max_attempts": 1}, read_timeout=60,
                                    max_pool_connections=4)
    return boto3.client("kinesis", endpoint_url=f"http://127.0.0.1:{port}",
                        region_name="us-east-1", aws_access_key_id="x",
                        aws_secret_access_key="y", config=config)


def poll(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def status_of(call, path):
    try:
        value = call()
        for key in path:
            value = value[key]
        return value
    except Exception:  # noqa: BLE001 - not there yet
        return None


def raw_events(port, consumer, shard):
    """SubscribeToShard over plain HTTP/1.1; yields each event's decoded JSON
    payload (only what a latency measurement needs: no CRC checks)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    body = json.dumps({"ConsumerARN": consumer, "ShardId": shard,
                       "StartingPosition": {"Type": "LATEST"}})
    conn.request("POST", "/", body=body, headers=http_bench.kinesis_headers("SubscribeToShard"))
    response = conn.getresponse()
    if response.status != 200:
        raise RuntimeError(f"SubscribeToShard -> {response.status}: {response.read()[:200]!r}")
    buffer = b""
    try:
        while True:
            chunk = response.read1(65536)
            if not chunk:
                return
            buffer += chunk
            while len(buffer) >= 12:
                total, headers_length = struct.unpack(">II", buffer[:8])
                if len(buffer) < total:
                    break
                message, buffer = buffer[:total], buffer[total:]
                yield json.loads(message[12 + headers_length:total - 4] or b"{}")
    finally:
        conn.close()


def measure(port, puts, subscriber):
    kinesis = client(port)
    kinesis.create_stream(StreamName=STREAM, ShardCount=1)
    poll(lambda: status_of(lambda: kinesis.describe_stream_summary(StreamName=STREAM),
                           ["StreamDescriptionSummary", "StreamStatus"]) == "ACTIVE",
         120, "the stream")
    stream_arn = kinesis.describe_stream_summary(StreamName=STREAM)[
        "StreamDescriptionSummary"]["StreamARN"]
    consumer = kinesis.register_stream_consumer(
        StreamARN=stream_arn, ConsumerName="bench")["Consumer"]["ConsumerARN"]
    poll(lambda: status_of(lambda: kinesis.describe_stream_consumer(ConsumerARN=consumer),
                           ["ConsumerDescription", "ConsumerStatus"]) == "ACTIVE",
         120, "the consumer")

    shard = kinesis.list_shards(StreamName=STREAM)["Shards"][0]["ShardId"]
    if subscriber == "boto3":
        subscription = client(port).subscribe_to_shard(
            ConsumerARN=consumer, ShardId=shard, StartingPosition={"Type": "LATEST"})
        events = (event.get("SubscribeToShardEvent", {})
                  for event in subscription["EventStream"])
        close = subscription["EventStream"].close
    else:
        events = raw_events(port, consumer, shard)
        close = events.close
    arrived = {}  # record index -> perf_counter at receipt
    events_seen = [0]
    cond = threading.Condition()
    failure = []

    def subscribe():
        try:
            for event in events:
                now = time.perf_counter()
                with cond:
                    events_seen[0] += 1
                    for record in event.get("Records", []):
                        data = record["Data"]
                        if isinstance(data, str):  # raw: base64 text
                            data = base64.b64decode(data)
                        arrived[int(data)] = now
                    cond.notify_all()
        except Exception as e:  # noqa: BLE001 - reported below
            failure.append(e)
            with cond:
                cond.notify_all()

    threading.Thread(target=subscribe, daemon=True).start()
    # Puts start after the first event: a server may fix LATEST only when it
    # first reads the shard (kinesis-local does), and a record put before
    # that would never come.
    with cond:
        if not cond.wait_for(lambda: events_seen[0] or failure, RECEIVE_TIMEOUT_S):
            raise RuntimeError("no first event")
    latencies, put_calls = [], []
    for i in range(puts):
        start = time.perf_counter()
        kinesis.put_record(StreamName=STREAM, Data=str(i).encode(), PartitionKey="k")
        put_calls.append((time.perf_counter() - start) * 1000.0)
        with cond:
            if not cond.wait_for(lambda: i in arrived or failure, RECEIVE_TIMEOUT_S):
                raise RuntimeError(f"record {i} not received within {RECEIVE_TIMEOUT_S} s")
            if failure:
                raise RuntimeError(f"subscription failed: {failure[0]!r}")
            latencies.append((arrived[i] - start) * 1000.0)
    try:
        close()
    except Exception:  # noqa: BLE001 - the subscriber thread may be inside it
        pass
    return latencies, put_calls


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100.0 * (len(ordered) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sluice", required=True, help="the sluice binary (Release)")
    ap.add_argument("--servers", default="sluice,kinesis-local")
    ap.add_argument("--puts", type=int, default=2000, help="records put against sluice")
    ap.add_argument("--other-puts", type=int, default=100,
                    help="records put against the other emulators (they are slow)")
    ap.add_argument("--subscribers", default="boto3,raw",
                    help="boto3 (subscribe_to_shard) and/or raw (http.client)")
    ap.add_argument("--out", help="also write the Markdown report here")
    args = ap.parse_args()
    args.sluice_fsync = "interval"

    rows = {}
    logdir = tempfile.mkdtemp(prefix="sluice-subscribe-bench.")
    for name in args.servers.split(","):
        for subscriber in args.subscribers.split(","):
            row = f"{name}, {subscriber}"
            # A fresh server per row, so rows do not share state.
            server = http_bench.SERVERS[name](args, logdir)
            puts = args.puts if name.startswith("sluice") else args.other_puts
            http_bench.log(f"{row}: starting")
            server.start()
            try:
                latencies, put_calls = measure(server.port, puts, subscriber)
                rows[row] = (puts, statistics.median(latencies), percentile(latencies, 99),
                             max(latencies), statistics.median(put_calls))
                http_bench.log(f"{row}: p50 {rows[row][1]:.2f} ms, p99 {rows[row][2]:.2f} ms")
            except Exception as e:  # noqa: BLE001 - goes in the report
                rows[row] = str(e)
                http_bench.log(f"{row}: failed: {e}")
            finally:
                server.stop()

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=os.path.dirname(os.path.abspath(__file__))
                            ).stdout.strip() or "unknown"
    out = [f"# SubscribeToShard latency, {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, "
           f"commit {commit}", "",
           "- command: `python3 bench/subscribe_latency.py " + " ".join(sys.argv[1:]) + "`",
           f"- machine: {os.cpu_count()} cores; load average at the end "
           f"{http_bench.loadavg()}",
           "- put -> event received, one record in flight at a time; puts with boto3; "
           "subscriber boto3 subscribe_to_shard or raw http.client, both HTTP/1.1; one shard, "
           "LATEST; sluice `--in-memory`, kinesis-local in memory with its defaults",
           "- kinesalite: no SubscribeToShard",
           "- for scale, the last column is the put_record call alone (boto3 round trip); "
           "the event often arrives before that call has returned",
           "",
           "| server, subscriber | records | p50, ms | p99, ms | max, ms | put_record call p50, ms |",
           "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, row in rows.items():
        if isinstance(row, str):
            out.append(f"| {name} | failed: {row[:120]} | | | | |")
        else:
            out.append(f"| {name} | {row[0]} | {row[1]:.2f} | {row[2]:.2f} | {row[3]:.2f} "
                       f"| {row[4]:.2f} |")
    report = "\n".join(out) + "\n"
    sys.stdout.write(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)


if __name__ == "__main__":
    main()
