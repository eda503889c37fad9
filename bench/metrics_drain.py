#!/usr/bin/env python3
"""The metrics handler end to end: records/s of the consumer runtime draining
a backlog through config/examples/ecommerce.json's `shop` consumer (five
rules, BatchSize 100, two shards so two lanes at once), persistent data dir.

The example's consumers are paused, `sluice-cli load ecommerce` puts
--records events into `events`, then `shop` is resumed and the clock runs
until DescribeConsumer counts every record handled.

    python3 bench/metrics_drain.py --records 300000 \\
        --sluice build/server/sluice --cli build/client/sluice-cli
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
from sluice_process import SluiceProcess  # noqa: E402

EXAMPLE = os.path.join(HERE, "..", "config", "examples", "ecommerce.json")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=300000)
    parser.add_argument("--sluice", default=os.path.join(HERE, "..", "build", "server", "sluice"))
    parser.add_argument("--cli", default=os.path.join(HERE, "..", "build", "client", "sluice-cli"))
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    os.environ["SLUICE_BIN"] = args.sluice

    workdir = tempfile.mkdtemp(prefix="sluice-metrics-drain-")
    server = SluiceProcess("--config", EXAMPLE, "--data-dir", os.path.join(workdir, "data"),
                           "--log-level", "warn", in_memory=False)
    try:
        server.start()
        endpoint = f"http://127.0.0.1:{server.port}"

        def cli(*words, capture=True):
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            run = subprocess.run([args.cli, "--endpoint", endpoint, *words],
                                 stdin=subprocess.DEVNULL, capture_output=capture, text=True,
                                 env=env, timeout=args.timeout)
            if run.returncode != 0:
                raise SystemExit(f"sluice-cli {' '.join(words)}: {run.stderr}")
            return run.stdout

        for consumer in ("shop", "high-value-orders"):
            cli("consumers", "pause", consumer)
        cli("load", "ecommerce", "--stream", "events", "--records", str(args.records))

        def handled():
            counts = json.loads(cli("consumers", "describe", "shop"))["Consumer"]["Counts"]
            return counts["Records"] + counts["DiscardedRecords"]

        started = time.monotonic()
        cli("consumers", "resume", "shop")
        deadline = started + args.timeout
        done = 0
        while done < args.records:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {done} of {args.records} records handled")
            time.sleep(0.05)
            done = handled()
        elapsed = time.monotonic() - started
        print(f"{args.records} records through `shop` in {elapsed:.2f} s: "
              f"{args.records / elapsed:,.0f} records/s")
    finally:
        try:
            server.stop()
        finally:
            server.cleanup()
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
