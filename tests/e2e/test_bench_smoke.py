"""The benchmark scripts in a short smoke mode, so they keep working as the
server changes: bench/http_bench.py (what bench/run drives; Sluice in
memory and on disk, 1-second scenarios, a 2,000-record drain),
bench/firehose_bench.py (2,000 records) and bench/metrics_drain.py (2,000
records). Figures are not checked: tests check behaviour, never timings;
only that every scenario ran against every server, interleaved scenario by
scenario, and reported a number."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

from sluice_process import sluice_bin

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench")
DEADLINE_S = 120


class BenchSmokeTest(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="sluice-bench-smoke-")
        self.addCleanup(shutil.rmtree, self.work, True)

    def test_http_bench_runs_every_scenario(self):
        if shutil.which("wrk") is None:
            raise AssertionError("wrk is not on PATH; scripts/install-deps --test "
                                 "installs it (Debian package wrk)")
        result = subprocess.run(
            [sys.executable, os.path.join(BENCH, "http_bench.py"),
             "--sluice", sluice_bin(), "--servers", "sluice,sluice-disk", "--duration", "1",
             "--warmup", "0", "--records", "2000", "--commit", "smoke",
             "--results-dir", self.work, "--logdir", self.work],
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=DEADLINE_S)
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        # Interleaved: each scenario against both servers (each started
        # fresh) before the next scenario, the first server alternating.
        starts = re.findall(r"\] (\S+): starting for (\S+)", result.stderr)
        self.assertEqual(starts, [
            ("sluice", "drain"), ("sluice-disk", "drain"),
            ("sluice-disk", "putrecord"), ("sluice", "putrecord"),
            ("sluice", "putrecords_small"), ("sluice-disk", "putrecords_small"),
            ("sluice-disk", "putrecords_large"), ("sluice", "putrecords_large")])
        [report] = [f for f in os.listdir(self.work) if f.endswith(".md")]
        chart = report[:-len(".md")]
        self.assertTrue(os.path.isfile(os.path.join(self.work, chart + ".svg")))
        if shutil.which("chromium"):
            with open(os.path.join(self.work, chart + ".png"), "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        with open(os.path.join(self.work, report)) as f:
            table = f.read()
        # The main table: from its header to the first blank line.
        lines = table.splitlines()
        start = lines.index(next(l for l in lines if l.startswith("| scenario |")))
        rows = []
        for line in lines[start + 2:]:
            if not line.startswith("| "):
                break
            rows.append(line)
        self.assertGreaterEqual(len(rows), 15, table)
        for row in rows:
            for cell in row.split("|")[2:4]:  # sluice, sluice-disk
                self.assertRegex(cell.strip(), r"^[0-9][0-9,.]*$", row)
        self.assertIn("GetRecords drain, 4 shards, Limit 10000: records read | 2,000",
                      table)

    def test_firehose_bench_reads_every_record_back(self):
        env = dict(os.environ, SLUICE_BIN=sluice_bin())
        result = subprocess.run(
            [sys.executable, os.path.join(BENCH, "firehose_bench.py"),
             "--records", "2000", "--connections", "2"],
            env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=DEADLINE_S)
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        self.assertIn("every record exactly once", result.stdout)
        self.assertRegex(result.stdout, r"end to end \(last object durable\): "
                                        r"[0-9.]+ s \([0-9,]+ records/s")

    def test_metrics_drain_counts_every_record(self):
        result = subprocess.run(
            [sys.executable, os.path.join(BENCH, "metrics_drain.py"),
             "--records", "2000", "--sluice", sluice_bin(),
             "--cli", os.environ["SLUICE_CLI"]],
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=DEADLINE_S)
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        self.assertRegex(result.stdout, r"2000 records through `shop` in "
                                        r"[0-9.]+ s: [0-9,]+ records/s")


if __name__ == "__main__":
    unittest.main()
