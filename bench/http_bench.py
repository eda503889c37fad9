#!/usr/bin/env python3
"""Side-by-side HTTP benchmark: Sluice, kinesalite and kinesis-local.

Run through bench/run (which installs wrk and the npm packages and builds
Sluice first); see bench/README.md, "Over HTTP", for what is measured and how
to read the table. Everything listens on and talks to 127.0.0.1 only, and every
step has a time bound.
"""

import argparse
import datetime
import http.client
import json
import os
import random
import re
import resource
import shutil
import tempfile
import base64
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
HOST = "127.0.0.1"
AUTH = ("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/kinesis/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=0")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PUT_STREAM = "bench-put"
DRAIN_STREAM = "bench-drain"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def kinesis_headers(op):
    return {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": f"Kinesis_20131202.{op}",
        "X-Amz-Date": "20240101T000000Z",
        "Authorization": AUTH,
    }


class Client:
    """One keep-alive connection to a Kinesis endpoint."""

    def __init__(self, port, timeout=30.0):
        self.port = port
        self.timeout = timeout
        self.conn = None

    def call_raw(self, op, body):
        if isinstance(body, dict):
            body = json.dumps(body).encode()
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            try:
                self.conn.request("POST", "/", body=body, headers=kinesis_headers(op))
                resp = self.conn.getresponse()
                data = resp.read()
                return resp.status, data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def call(self, op, body):
        status, data = self.call_raw(op, body)
        if status != 200:
            raise RuntimeError(f"{op} -> HTTP {status}: {data[:300]!r}")
        return json.loads(data) if data else {}

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except OSError:
        return float("nan")


def proc_status(pid, key):
    """A kB field of /proc/PID/status (VmHWM, VmRSS), in bytes."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# --------------------------------------------------------------------------
# Servers


class Server:
    name = "?"

    def __init__(self, args, logdir):
        self.args = args
        self.logdir = logdir
        self.proc = None
        self.port = None
        self.first_answer_ms = None

    def log_path(self):
        return os.path.join(self.logdir, f"{self.name}.log")

    def spawn(self):
        raise NotImplementedError

    def start(self, deadline_s=90.0):
        t0 = time.perf_counter()
        self.spawn()
        deadline = t0 + deadline_s
        self.wait_port(deadline)
        # Tight poll: this is a measurement, not a test.
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log_path()}")
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{self.name} gave no answer within {deadline_s:.0f} s")
            try:
                c = http.client.HTTPConnection(HOST, self.port, timeout=2)
                c.request("POST", "/", body=b"{}", headers=kinesis_headers("ListStreams"))
                r = c.getresponse()
                r.read()
                c.close()
                if r.status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.0005)
        self.first_answer_ms = (time.perf_counter() - t0) * 1000.0

    def wait_port(self, deadline):
        pass

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


class SluiceServer(Server):
    name = "sluice"
    LISTEN_RE = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")

    def storage_flags(self):
        return ["--in-memory"]

    def spawn(self):
        cmd = [self.args.sluice, "serve", "--host", HOST, "--port", "0", "--log-level", "warn"]
        cmd += self.storage_flags()
        self.cmd = cmd
        self.logfile = open(self.log_path(), "wb")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.logfile,
                                     stdin=subprocess.DEVNULL)
        self.port_event = threading.Event()

        def pump():
            for line in self.proc.stdout:
                self.logfile.write(line)
                self.logfile.flush()
                m = self.LISTEN_RE.search(line.decode(errors="replace"))
                if m and self.port is None:
                    self.port = int(m.group(1))
                    self.port_event.set()
            self.port_event.set()

        threading.Thread(target=pump, daemon=True).start()

    def wait_port(self, deadline):
        self.port_event.wait(max(0.0, deadline - time.perf_counter()))
        if self.port is None:
            raise RuntimeError(f"sluice printed no listening line; see {self.log_path()}")

    def version(self):
        try:
            return subprocess.run([self.args.sluice, "version"], capture_output=True,
                                  text=True, timeout=10).stdout.strip()
        except Exception as e:  # noqa: BLE001 - informational only
            return f"? ({e})"


class SluiceDiskServer(SluiceServer):
    """Sluice as deployed: records in segment files (fresh directory, removed
    afterwards), --fsync interval (its default) unless told otherwise."""
    name = "sluice-disk"

    def storage_flags(self):
        self.data_dir = tempfile.mkdtemp(prefix="sluice-data.", dir=self.logdir)
        return ["--data-dir", self.data_dir, "--fsync", self.args.sluice_fsync]

    def stop(self):
        super().stop()
        if getattr(self, "data_dir", None):
            shutil.rmtree(self.data_dir, ignore_errors=True)


class NodeServer(Server):
    script = None
    package = None

    def env(self):
        return dict(os.environ)

    def argv(self):
        return []

    def spawn(self):
        self.port = free_port()
        cmd = ["node", "-r", os.path.join(BENCH_DIR, "servers", "loopback.js"),
               os.path.join(BENCH_DIR, "node_modules", self.package, self.script)] + self.argv()
        self.cmd = cmd
        self.logfile = open(self.log_path(), "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.logfile, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=self.env(), cwd=self.logdir)

    def version(self):
        try:
            with open(os.path.join(BENCH_DIR, "node_modules", self.package, "package.json")) as f:
                return json.load(f)["version"]
        except OSError as e:
            return f"? ({e})"


class KinesaliteServer(NodeServer):
    name = "kinesalite"
    package = "kinesalite"
    script = "cli.js"

    def argv(self):
        # In memory (memdown), its default; stream creation delay as shipped.
        return ["--port", str(self.port)]


class KinesisLocalServer(NodeServer):
    name = "kinesis-local"
    package = "kinesis-local"
    script = "main.js"

    def env(self):
        env = dict(os.environ)
        env.update({
            "KINESIS_MOCK_PLAIN_PORT": str(self.port),
            "KINESIS_MOCK_TLS_PORT": str(free_port()),
            "KINESIS_MOCK_CERT_PATH": os.path.join(BENCH_DIR, "node_modules", "kinesis-local",
                                                   "server.json"),
            "LOG_LEVEL": "WARN",
            "SHOULD_PERSIST_DATA": "false",
        })
        return env


SERVERS = {"sluice": SluiceServer, "sluice-disk": SluiceDiskServer, "kinesalite": KinesaliteServer,
           "kinesis-local": KinesisLocalServer}


# --------------------------------------------------------------------------
# Setup helpers


def create_stream(client, name, shards, deadline_s=30.0):
    client.call("CreateStream", {"StreamName": name, "ShardCount": shards})
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        d = client.call("DescribeStreamSummary", {"StreamName": name})
        if d["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE":
            return
        time.sleep(0.05)
    raise RuntimeError(f"stream {name} not ACTIVE after {deadline_s:.0f} s")


def shard_ids(client, name):
    d = client.call("DescribeStream", {"StreamName": name})
    return [s["ShardId"] for s in d["StreamDescription"]["Shards"]]


# --------------------------------------------------------------------------
# Scenarios


WRK_SCENARIOS = [
    # key, title, connections, records per request (0 = PutRecord), record bytes
    ("putrecord", "PutRecord 100 B", 32, 0, 100),
    ("putrecords_small", "PutRecords 500 x 100 B", 8, 500, 100),
    ("putrecords_large", "PutRecords 100 x 10 KiB", 8, 100, 10240),
]


def run_wrk(server, conns, per_request, record_bytes, seconds, threads):
    url = f"http://{HOST}:{server.port}/"
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--timeout", "10s",
           "-s", os.path.join(BENCH_DIR, "wrk", "kinesis_put.lua"), url, "--",
           PUT_STREAM, str(per_request), str(record_bytes)]
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu0 = cpu_seconds(server.proc.pid)
    t0 = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    wall = time.monotonic() - t0
    cpu1 = cpu_seconds(server.proc.pid)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((l for l in out.stdout.splitlines() if l.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result (rc {out.returncode}): {out.stdout[-500:]} {out.stderr[-500:]}")
    r = json.loads(line[len("WRKJSON "):])
    dur = r["duration_us"] / 1e6
    ok = r["requests"] - r["err_status"]
    n = 1 if per_request == 0 else per_request
    records = ok * n - r["failed_records"]
    r.update({
        "seconds": dur,
        "req_per_s": ok / dur,
        "records_per_s": records / dur,
        "mb_per_s": records * record_bytes / 1e6 / dur,
        "records": records,
        "server_cpu": (cpu1 - cpu0) / wall,
        "driver_cpu": ((ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)) / wall,
        "errors": r["err_connect"] + r["err_read"] + r["err_write"] + r["err_status"] + r["err_timeout"],
        "cmd": " ".join(cmd[:-4] + ["...", "--"] + cmd[-3:]),
    })
    return r


def make_batch(n, size):
    recs = []
    for _ in range(n):
        recs.append({"Data": base64.b64encode(os.urandom(size)).decode(),
                     "PartitionKey": f"pk-{random.getrandbits(64):016x}"})
    return json.dumps({"StreamName": DRAIN_STREAM, "Records": recs}).encode()


def fill(server, target, deadline_s, conns=4):
    """PutRecords 500 x 100 B into the 4-shard drain stream until `target`
    records are in or the deadline passes. Returns (records, seconds)."""
    bodies = [make_batch(500, 100) for _ in range(16)]
    lock = threading.Lock()
    state = {"ok": 0, "sent": 0, "err": None}
    t0 = time.monotonic()
    stop_at = t0 + deadline_s

    def worker(i):
        c = Client(server.port, timeout=max(5.0, deadline_s))
        k = i
        try:
            while time.monotonic() < stop_at:
                with lock:
                    if state["sent"] >= target:
                        return
                    state["sent"] += 500
                status, data = c.call_raw("PutRecords", bodies[k % len(bodies)])
                k += 1
                good = 0
                if status == 200:
                    good = 500 - json.loads(data).get("FailedRecordCount", 0)
                with lock:
                    state["ok"] += good
                    state["sent"] -= 500 - good  # resend what failed
        except Exception as e:  # noqa: BLE001 - reported in the table
            state["err"] = repr(e)
        finally:
            c.close()

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(deadline_s + 60)
    return state["ok"], time.monotonic() - t0, state["err"]


NEXT_RE = re.compile(rb'"NextShardIterator"\s*:\s*"([^"]+)"')
BEHIND_RE = re.compile(rb'"MillisBehindLatest"\s*:\s*(\d+)')


def drain(server, deadline_s, limit=10000):
    """One consumer per shard: GetShardIterator TRIM_HORIZON, then GetRecords
    (Limit 10000) following NextShardIterator until a call returns no records
    with MillisBehindLatest 0. Records are counted in the raw body (one
    "SequenceNumber" per record); the first answer of each shard is fully
    parsed to check that count."""
    setup = Client(server.port)
    shards = shard_ids(setup, DRAIN_STREAM)
    iterators = [setup.call("GetShardIterator", {"StreamName": DRAIN_STREAM, "ShardId": s,
                                                 "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
                 for s in shards]
    setup.close()
    results = [None] * len(shards)
    stop_at = time.monotonic() + deadline_s

    def consumer(i):
        c = Client(server.port, timeout=max(5.0, deadline_s))
        it = iterators[i]
        got, calls, first, done = 0, 0, True, False
        try:
            while it and time.monotonic() < stop_at:
                body = json.dumps({"ShardIterator": it, "Limit": limit}).encode()
                status, data = c.call_raw("GetRecords", body)
                calls += 1
                if status != 200:
                    raise RuntimeError(f"GetRecords -> HTTP {status}: {data[:200]!r}")
                n = data.count(b'"SequenceNumber"')
                if first:
                    parsed = json.loads(data)
                    if len(parsed["Records"]) != n:
                        raise RuntimeError("record count by scan disagrees with JSON parse")
                    first = False
                got += n
                m = NEXT_RE.search(data, max(0, data.rfind(b'"NextShardIterator"')))
                it = m.group(1).decode() if m else None
                b = BEHIND_RE.search(data, max(0, data.rfind(b'"MillisBehindLatest"')))
                behind = int(b.group(1)) if b else 0
                if n == 0 and behind == 0:
                    done = True
                    break
            done = done or it is None
            results[i] = {"records": got, "calls": calls, "done": done, "err": None}
        except Exception as e:  # noqa: BLE001 - reported in the table
            results[i] = {"records": got, "calls": calls, "done": False, "err": repr(e)}
        finally:
            c.close()

    cpu0 = cpu_seconds(server.proc.pid)
    pt0 = time.process_time()
    t0 = time.monotonic()
    ts = [threading.Thread(target=consumer, args=(i,)) for i in range(len(shards))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(deadline_s + 60)
    wall = time.monotonic() - t0
    driver_cpu = (time.process_time() - pt0) / wall
    server_cpu = (cpu_seconds(server.proc.pid) - cpu0) / wall
    total = sum(r["records"] for r in results if r)
    return {
        "records": total,
        "seconds": wall,
        "records_per_s": total / wall if wall > 0 else 0.0,
        "calls": sum(r["calls"] for r in results if r),
        "complete": all(r and r["done"] for r in results),
        "errors": [r["err"] for r in results if r and r["err"]],
        "server_cpu": server_cpu,
        "driver_cpu": driver_cpu,
    }


# The scenarios in the order they run; each is run against every server in
# turn before the next begins (scenario-major), so that noise from the rest
# of the machine (a build on a shared box) falls on all servers alike.
SCENARIOS = ["drain"] + [key for key, *_ in WRK_SCENARIOS]


def new_result(name):
    return {"name": name, "version": None, "notes": [], "starts_ms": [], "errors": {}}


def run_scenario(name, scenario, args, logdir, res):
    """Starts `name` fresh on loopback, runs one scenario against it, stops
    it by PID; the figures go into `res`. A failure is recorded for this
    scenario only."""
    server = SERVERS[name](args, logdir)
    log(f"{name}: starting for {scenario}")
    try:
        server.start(deadline_s=args.start_timeout)
        res["version"] = res["version"] or server.version()
        res["cmd"] = " ".join(server.cmd)
        res["starts_ms"].append(server.first_answer_ms)
        res["first_answer_ms"] = statistics.median(res["starts_ms"])
        log(f"{name}: first answer after {server.first_answer_ms:.1f} ms on port {server.port}")
        c = Client(server.port)
        create_stream(c, DRAIN_STREAM if scenario == "drain" else PUT_STREAM, 4)
        c.close()
        if scenario == "drain":
            run_drain(name, server, args, res)
        else:
            key, title, conns, per, size = next(w for w in WRK_SCENARIOS if w[0] == scenario)
            if args.warmup > 0:
                run_wrk(server, conns, per, size, args.warmup, args.wrk_threads)
            log(f"{name}: {title}, {conns} connections, {args.duration} s")
            r = run_wrk(server, conns, per, size, args.duration, args.wrk_threads)
            r["load"] = loadavg()
            res[key] = r
            log(f"{name}:   {r['req_per_s']:.0f} req/s, {r['records_per_s']:.0f} records/s, "
                f"{r['mb_per_s']:.1f} MB/s, p50 {r['lat_p50_us'] / 1000:.2f} ms, "
                f"p99 {r['lat_p99_us'] / 1000:.2f} ms, errors {r['errors']}, "
                f"failed records {r['failed_records']}, server CPU {r['server_cpu'] * 100:.0f}%, "
                f"wrk CPU {r['driver_cpu'] * 100:.0f}%")
        hwm = proc_status(server.proc.pid, "VmHWM")
        if hwm is not None and hwm > (res.get("hwm") or 0):
            res["hwm"] = hwm
            res["hwm_scenario"] = scenario
    except Exception as e:  # noqa: BLE001 - the cell says n/a with the reason
        res["errors"][scenario] = str(e)
        res["error"] = "; ".join(f"{k}: {v}" for k, v in res["errors"].items())
        log(f"{name}: {scenario} FAILED: {e}")
    finally:
        server.stop()


def run_drain(name, server, args, res):
    log(f"{name}: filling {DRAIN_STREAM} with {args.records} records (at most {args.fill_timeout} s)")
    filled, fill_s, fill_err = fill(server, args.records, args.fill_timeout)
    res["fill"] = {"records": filled, "seconds": fill_s, "records_per_s": filled / fill_s,
                   "err": fill_err}
    log(f"{name}:   {filled} records in {fill_s:.1f} s" + (f" ({fill_err})" if fill_err else ""))
    # Memory with exactly the filled records in it, before anything else
    # runs: comparable across servers, whatever their speed.
    res["rss_after_fill"] = proc_status(server.proc.pid, "VmRSS")
    log(f"{name}:   resident memory {res['rss_after_fill'] / 2**20:.0f} MiB holding {filled} records")
    if filled < args.records:
        res["notes"].append(f"filled only {filled} of {args.records} records within "
                            f"{args.fill_timeout} s" + (f" ({fill_err})" if fill_err else ""))

    log(f"{name}: draining 4 shards with GetRecords Limit 10000 (at most {args.drain_timeout} s)")
    d = drain(server, args.drain_timeout)
    d["load"] = loadavg()
    res["drain"] = d
    log(f"{name}:   {d['records']} records in {d['seconds']:.2f} s = {d['records_per_s']:.0f}/s, "
        f"{d['calls']} calls, complete={d['complete']}, server CPU {d['server_cpu'] * 100:.0f}%, "
        f"driver CPU {d['driver_cpu'] * 100:.0f}%" + (f", errors {d['errors']}" if d["errors"] else ""))
    if d["records"] != filled or not d["complete"]:
        res["notes"].append(f"drain read {d['records']} of {filled} records"
                            + ("" if d["complete"] else f", incomplete within {args.drain_timeout} s")
                            + (f" ({'; '.join(d['errors'])})" if d["errors"] else ""))


def run_interleaved(names, args, logdir):
    """Every scenario against every server, scenario by scenario. The order
    of the servers turns by one with each scenario, so none always goes
    first (or runs right after a slow one)."""
    results = {n: new_result(n) for n in names}
    for i, scenario in enumerate(SCENARIOS):
        order = names[i % len(names):] + names[:i % len(names)]
        log(f"scenario {scenario}: {', '.join(order)}")
        for n in order:
            run_scenario(n, scenario, args, logdir, results[n])
    return results


# --------------------------------------------------------------------------
# Report


def fmt(v, kind):
    if v is None:
        return "n/a"
    if kind == "int":
        return f"{v:,.0f}" if v >= 10 or v == int(v) else f"{v:.1f}"
    if kind == "ms":
        return f"{v:.2f}" if v < 100 else f"{v:,.0f}"
    if kind == "mb":
        return f"{v:,.1f}"
    return str(v)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "n/a"
    r = a / b
    return f"{r:,.1f}x" if r >= 10 else (f"{r:.2f}x" if r >= 0.1 else f"{r:.3f}x")


def rows_for(results):
    def g(name, *path):
        return get_path(results.get(name), path)

    def lat(name, key, pct):
        v = g(name, key, pct)
        if v is None or not g(name, key, "requests"):
            return None  # no request completed: no latency to show
        return v / 1000.0

    def mib(name):
        v = g(name, "hwm")
        return None if v is None else v / 2**20

    rows = []
    for key, title, conns, per, size in WRK_SCENARIOS:
        label = f"{title}, {conns} conns"
        if per == 0:
            rows.append((f"{label}: requests/s", "int", lambda n, k=key: g(n, k, "req_per_s")))
        else:
            rows.append((f"{label}: records/s", "int", lambda n, k=key: g(n, k, "records_per_s")))
            rows.append((f"{label}: requests/s", "int", lambda n, k=key: g(n, k, "req_per_s")))
        rows.append((f"{label}: MB/s of data", "mb", lambda n, k=key: g(n, k, "mb_per_s")))
        rows.append((f"{label}: p50 latency, ms (lower is better)", "ms",
                     lambda n, k=key: lat(n, k, "lat_p50_us")))
        rows.append((f"{label}: p99 latency, ms (lower is better)", "ms",
                     lambda n, k=key: lat(n, k, "lat_p99_us")))
    rows.append(("Fill of the drain stream (PutRecords 500 x 100 B, 4 conns, Python): records/s", "int",
                 lambda n: g(n, "fill", "records_per_s")))
    rows.append(("GetRecords drain, 4 shards, Limit 10000: records read", "int",
                 lambda n: g(n, "drain", "records")))
    rows.append(("GetRecords drain, 4 shards, Limit 10000: records/s", "int",
                 lambda n: g(n, "drain", "records_per_s")))
    rows.append(("Resident memory after the drain stream's fill (VmRSS), MiB (lower is better)",
                 "mb", lambda n: None if g(n, "rss_after_fill") is None
                 else g(n, "rss_after_fill") / 2**20))
    rows.append(("Peak resident memory, largest of the scenario runs (VmHWM), MiB (lower is better)",
                 "mb", mib))
    rows.append(("Time to first answer (spawn to ListStreams 200), median of the starts, ms "
                 "(lower is better)", "ms", lambda n: g(n, "first_answer_ms")))
    return rows


GOALS = [
    # title, row-value getter key, target ratio, higher-is-better
    ("PutRecords 500 x 100 B records/s >= 50x kinesalite", ("putrecords_small", "records_per_s"), 50, True),
    ("PutRecord requests/s >= 8x kinesalite", ("putrecord", "req_per_s"), 8, True),
    ("PutRecords 100 x 10 KiB MB/s >= 10x kinesalite", ("putrecords_large", "mb_per_s"), 10, True),
    ("GetRecords drain records/s >= 25x kinesalite", ("drain", "records_per_s"), 25, True),
    ("Peak memory < 1/10 of kinesalite's", ("hwm",), 0.1, False),
]


def get_path(r, path):
    v = r
    for p in path:
        if not isinstance(v, dict) or p not in v:
            return None
        v = v[p]
    return v


# --------------------------------------------------------------------------
# Chart: the throughput rows as grouped horizontal bars, one group per
# scenario, each bar's length its server's share of the group's best. Written
# as SVG (text, readable anywhere) and turned into PNG by headless Chromium
# when it is installed (Debian package chromium; scripts/install-deps --test).

CHART_ROWS = [
    ("PutRecord 100 B, 32 conns: requests/s", ("putrecord", "req_per_s")),
    ("PutRecords 500 x 100 B: records/s", ("putrecords_small", "records_per_s")),
    ("PutRecords 100 x 10 KiB: records/s", ("putrecords_large", "records_per_s")),
    ("GetRecords drain: records/s", ("drain", "records_per_s")),
]
CHART_COLORS = {"sluice": "#1f77b4", "sluice-disk": "#6baed6",
                "kinesalite": "#ff7f0e", "kinesis-local": "#2ca02c"}


def chart_svg(results, title):
    from xml.sax.saxutils import escape
    servers = [n for n in CHART_COLORS if n in results]
    bar, gap, label_w, plot_w = 18, 4, 220, 520
    group_h = len(servers) * (bar + gap) + 34
    height = 60 + group_h * len(CHART_ROWS) + 20
    width = label_w + plot_w + 140
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="DejaVu Sans, Arial, sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="10" y="24" font-size="16" font-weight="bold">{escape(title)}</text>',
           '<text x="10" y="44" fill="#555">bar length: share of the best server in each '
           'scenario (higher is better)</text>']
    y = 60
    for label, path in CHART_ROWS:
        values = {n: get_path(results.get(n), path) for n in servers}
        best = max((v for v in values.values() if v), default=0)
        out.append(f'<text x="10" y="{y + 14}" font-weight="bold">{escape(label)}</text>')
        y += 22
        for n in servers:
            v = values[n]
            length = 0 if not v or not best else max(1, round(plot_w * v / best))
            out.append(f'<text x="20" y="{y + 13}">{escape(n)}</text>')
            out.append(f'<rect x="{label_w}" y="{y}" width="{length}" height="{bar}" '
                       f'fill="{CHART_COLORS[n]}"/>')
            text = "not run / n/a" if v is None else f"{v:,.0f}"
            out.append(f'<text x="{label_w + length + 6}" y="{y + 13}">{text}</text>')
            y += bar + gap
        y += 12
    out.append("</svg>")
    return "\n".join(out)


def write_chart(results, title, base_path):
    """Writes <base>.svg and, if Chromium is at hand, <base>.png; returns
    the paths written."""
    svg_path = base_path + ".svg"
    svg = chart_svg(results, title)
    with open(svg_path, "w") as f:
        f.write(svg)
    written = [svg_path]
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        log("chart: no chromium on PATH; wrote the SVG only")
        return written
    size = re.search(r'width="(\d+)" height="(\d+)"', svg)
    png_path = base_path + ".png"
    with tempfile.TemporaryDirectory() as profile:
        try:
            subprocess.run(
                [browser, "--headless", "--no-sandbox", "--disable-gpu",
                 "--hide-scrollbars", f"--user-data-dir={profile}",
                 f"--window-size={size.group(1)},{size.group(2)}",
                 f"--screenshot={png_path}", "file://" + os.path.abspath(svg_path)],
                stdin=subprocess.DEVNULL, capture_output=True, timeout=60, check=True)
            written.append(png_path)
        except (subprocess.SubprocessError, OSError) as e:
            log(f"chart: chromium could not render the PNG ({e}); wrote the SVG only")
    return written


def report(results, args, names):
    s, k = results.get("sluice"), results.get("kinesalite")
    cols = ["sluice"] + (["sluice-disk"] if "sluice-disk" in results else []) + ["kinesalite", "kinesis-local"]
    out = []
    out.append("| scenario | " + " | ".join(cols) + " | sluice/kinesalite | sluice/kinesis-local |")
    out.append("| --- |" + " ---: |" * (len(cols) + 2))
    for label, kind, getter in rows_for(results):
        vals = {}
        for n in cols:
            r = results.get(n)
            if r is None:
                vals[n] = None
                continue
            try:
                vals[n] = getter(n)
            except Exception:  # noqa: BLE001
                vals[n] = None
        cells = []
        for n in cols:
            r = results.get(n)
            if r is None:
                cells.append("not run")
            elif vals[n] is None and "error" in r:
                cells.append("n/a ¹")
            elif vals[n] is None and kind == "ms" and "lat" in label:
                cells.append("none done")
            else:
                cells.append(fmt(vals[n], kind))
        out.append(f"| {label} | " + " | ".join(cells) + " | "
                   + ratio(vals["sluice"], vals["kinesalite"]) + " | "
                   + ratio(vals["sluice"], vals["kinesis-local"]) + " |")
    table = "\n".join(out)

    goals = ["| goal (issue 4) | variant | sluice | kinesalite | ratio | met? |",
             "| --- | --- | ---: | ---: | ---: | --- |"]
    variants = [v for v in ("sluice", "sluice-disk") if v in results]
    for title, path, target, higher in GOALS:
        for v in variants:
            sv = get_path(results[v], path)
            kv = get_path(k, path) if k else None
            if sv is None or kv is None or kv == 0:
                goals.append(f"| {title} | {v} | n/a | n/a | n/a | n/a |")
                continue
            r = sv / kv
            met = r >= target if higher else r < target
            f = (lambda x: f"{x / 2**20:,.0f} MiB") if path == ("hwm",) else (lambda x: f"{x:,.1f}")
            goals.append(f"| {title} | {v} | {f(sv)} | {f(kv)} | {r:,.2f}x | {'yes' if met else 'NO'} |")
    for v in variants:
        p99 = get_path(results[v], ("putrecord", "lat_p99_us"))
        if p99 is not None:
            p99 /= 1000
            goals.append(f"| PutRecord p99 < 2 ms | {v} | {p99:.2f} ms | | | {'yes' if p99 < 2 else 'NO'} |")
    for v in variants:
        fa = results[v].get("first_answer_ms")
        if fa is not None:
            goals.append(f"| First answer within 20 ms of start | {v} | {fa:.1f} ms | | | "
                         f"{'yes' if fa <= 20 else 'NO'} |")

    details = []
    for n in cols:
        r = results.get(n)
        if r is None:
            continue
        details.append(f"- **{n}** {r.get('version') or ''}: `{r.get('cmd', '')}`")
        if "error" in r:
            details.append(f"  - ¹ n/a: {r['error']}")
        for key, title, *_ in WRK_SCENARIOS:
            w = r.get(key)
            if w:
                details.append(
                    f"  - {title}: {w['requests']:,} requests in {w['seconds']:.1f} s, "
                    f"errors {w['errors']} (status {w['err_status']}, timeout {w['err_timeout']}, "
                    f"read {w['err_read']}, connect {w['err_connect']}), failed records {w['failed_records']}; "
                    f"CPU: server {w['server_cpu'] * 100:.0f}%, wrk {w['driver_cpu'] * 100:.0f}% "
                    f"(of one core); load {w['load']}")
        f = r.get("fill")
        if f:
            details.append(f"  - fill: {f['records']:,} records in {f['seconds']:.1f} s"
                           + (f" ({f['err']})" if f["err"] else ""))
        d = r.get("drain")
        if d:
            details.append(f"  - drain: {d['records']:,} records in {d['seconds']:.2f} s, {d['calls']} GetRecords "
                           f"calls, complete: {d['complete']}; CPU: server {d['server_cpu'] * 100:.0f}%, "
                           f"driver {d['driver_cpu'] * 100:.0f}%; load {d['load']}")
        if r.get("hwm"):
            details.append(f"  - peak resident memory (VmHWM) {r['hwm'] / 2**20:,.0f} MiB, "
                           f"in the {r['hwm_scenario']} scenario")
        if r.get("starts_ms"):
            details.append("  - first answer after each start, ms: "
                           + ", ".join(f"{ms:.1f}" for ms in r["starts_ms"]))
        for note in r.get("notes", []):
            details.append(f"  - note: {note}")
    return table, "\n".join(goals), "\n".join(details)


def machine():
    mem = proc_status_mem()
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), {mem / 2**30:.1f} GiB memory, Linux {os.uname().release}"


def proc_status_mem():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sluice", required=True, help="path to the sluice binary")
    ap.add_argument("--servers", default="sluice,sluice-disk,kinesalite,kinesis-local",
                    help="comma-separated, any of: " + ", ".join(SERVERS))
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk scenario")
    ap.add_argument("--warmup", type=int, default=2, help="unmeasured seconds before each wrk scenario")
    ap.add_argument("--records", type=int, default=1_000_000, help="records to fill the drain stream with")
    ap.add_argument("--fill-timeout", type=int, default=120)
    ap.add_argument("--drain-timeout", type=int, default=120)
    ap.add_argument("--start-timeout", type=int, default=90)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--sluice-fsync", default="interval", help="fsync mode of sluice-disk")
    ap.add_argument("--niceness", type=int, default=0, help="informational: the nice value bench/run used")
    ap.add_argument("--commit", default="unknown")
    ap.add_argument("--command", default="bench/run")
    ap.add_argument("--results-dir", default=os.path.join(BENCH_DIR, "results"))
    ap.add_argument("--logdir", required=True)
    args = ap.parse_args()

    # bench/run forwards Ctrl-C as SIGTERM: unwind so every server is stopped.
    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)

    names = [n for n in args.servers.split(",") if n]
    for n in names:
        if n not in SERVERS:
            ap.error(f"unknown server {n}")
    started = datetime.datetime.now(datetime.timezone.utc)
    load0 = loadavg()
    results = run_interleaved(names, args, args.logdir)
    minutes = (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds() / 60

    table, goals, details = report(results, args, names)
    head = [
        f"# HTTP benchmark, {started.strftime('%Y-%m-%d %H:%M UTC')}, commit {args.commit}",
        "",
        f"- command: `{args.command}`",
        f"- machine: {machine()}; load average at start {load0}, at the end {loadavg()}; "
        f"benchmark processes at nice {args.niceness}; {minutes:.1f} minutes in all",
        f"- interleaved: scenario by scenario ({', '.join(SCENARIOS)}), each against every server "
        f"in turn, the first server turning with each scenario; every server started fresh on "
        f"127.0.0.1 for each scenario and stopped by PID after it",
        f"- each wrk scenario: {args.duration} s after a {args.warmup} s warm-up, `wrk -t{args.wrk_threads}`, "
        f"one stream of 4 shards; drain: {args.records:,} records into a second 4-shard stream, "
        f"then one Python consumer per shard",
        f"- sluice: `--in-memory`; sluice-disk: a fresh `--data-dir`, `--fsync {args.sluice_fsync}`; "
        f"kinesalite and kinesis-local: in memory, their defaults",
        f"- MB = 10^6 bytes of record data (before base64); ratios are sluice / other, so above 1 is "
        f"better for Sluice except in rows marked lower is better",
        "",
        table,
        "",
        "## Goals",
        "",
        goals,
        "",
        "## Details",
        "",
        details,
        "",
    ]
    text = "\n".join(head)
    print(text)
    os.makedirs(args.results_dir, exist_ok=True)
    path = os.path.join(args.results_dir, f"{started.strftime('%Y-%m-%d')}-{args.commit}.md")
    charts = write_chart(results, f"Sluice vs kinesalite vs kinesis-local, "
                         f"{started.strftime('%Y-%m-%d')}, commit {args.commit}",
                         path[:-len(".md")])
    with open(path, "w") as f:
        f.write(text)
        for chart in charts:
            if chart.endswith(".png"):
                f.write(f"\n![throughput chart]({os.path.basename(chart)})\n")
    for written in [path] + charts:
        print(f"written to {os.path.relpath(written, os.path.dirname(BENCH_DIR))}", file=sys.stderr)
    ok = any("error" not in r for r in results.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
