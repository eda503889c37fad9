"""The CI recipe of docs/ci.md, run as a CI job would run it:
config/examples/ci/with-sluice.sh starts Sluice with the example config,
waits for /health, runs a "suite" (boto3 and the AWS CLI, told nothing but
AWS_ENDPOINT_URL), flushes, stops Sluice and passes the suite's status on;
the archive it leaves holds every record the suite put."""

import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

from test_cli import cli_bin
from sluice_process import sluice_bin

RECIPE = os.path.join(os.path.dirname(__file__), "..", "..", "config", "examples",
                      "ci", "with-sluice.sh")
DEADLINE_S = 120

SUITE = textwrap.dedent("""
    import subprocess, sys
    import boto3
    # Nothing but the environment says where AWS is.
    kinesis = boto3.client("kinesis")
    firehose = boto3.client("firehose")
    assert kinesis.describe_stream_summary(StreamName="orders")[
        "StreamDescriptionSummary"]["OpenShardCount"] == 2
    kinesis.put_record(StreamName="orders", PartitionKey="u1", Data=b"order 1")
    for i in range(3):
        firehose.put_record(DeliveryStreamName="orders-archive",
                            Record={"Data": f"event {i}\\n".encode()})
    listed = subprocess.run(["aws", "kinesis", "list-streams"], check=True,
                            capture_output=True, text=True).stdout
    assert "clicks" in listed, listed
    sys.exit(int(sys.argv[1]))
""")


class CiRecipeTest(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="sluice-ci-recipe-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.suite = os.path.join(self.work, "suite.py")
        with open(self.suite, "w") as f:
            f.write(SUITE)
        self.archive = os.path.join(self.work, "archive")

    def run_recipe(self, suite_status):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(SLUICE_BIN=sluice_bin(), SLUICE_CLI=cli_bin(),
                   AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
                   AWS_EC2_METADATA_DISABLED="true")
        return subprocess.run(
            [RECIPE, self.archive, "--", sys.executable, self.suite, str(suite_status)],
            env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=DEADLINE_S)

    def archived_lines(self):
        lines = []
        for directory, _, names in os.walk(self.archive):
            for name in names:
                with open(os.path.join(directory, name), "rb") as f:
                    lines += gzip.decompress(f.read()).decode().splitlines()
        return sorted(lines)

    def test_a_passing_suite_passes_and_leaves_the_archive(self):
        result = self.run_recipe(0)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("sluice is up at http://127.0.0.1:", result.stderr)
        self.assertEqual(self.archived_lines(), ["event 0", "event 1", "event 2"])

    def test_a_failing_suite_fails_the_job(self):
        result = self.run_recipe(3)
        self.assertEqual(result.returncode, 3, result.stderr)
        # Flushed all the same, so the artifact shows what the suite did.
        self.assertEqual(len(self.archived_lines()), 3)

    def test_a_bad_config_fails_before_the_suite_runs(self):
        bad = os.path.join(self.work, "bad.json")
        with open(bad, "w") as f:
            f.write('{"streams": [{"name": "x", "shard_count": "many"}]}')
        env = dict(os.environ, SLUICE_BIN=sluice_bin(), SLUICE_CLI=cli_bin(),
                   SLUICE_CONFIG=bad)
        result = subprocess.run(
            [RECIPE, self.archive, "--", sys.executable, "-c", "raise SystemExit(0)"],
            env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=DEADLINE_S)
        self.assertEqual(result.returncode, 1)
        self.assertIn("sluice did not start", result.stderr)
        self.assertIn("shard_count", result.stderr)


if __name__ == "__main__":
    unittest.main()
