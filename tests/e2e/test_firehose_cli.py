"""Firehose through the AWS CLI (v1, `aws` on PATH), in the exact form a
tutorial uses: create-delivery-stream with a Hive-style prefix, an error
prefix, GZIP and 64 MiB / 300 s hints, then put-record, put-record-batch,
describe, list and delete; the objects are checked after a flush."""

import gzip
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from sluice_process import start_server, stop_cleanly
from test_firehose import OBJECT_NAME, files_under, flush

CLI_DEADLINE_S = 60

EXTENDED_S3 = {
    "RoleARN": "arn:aws:iam::000000000000:role/firehose-delivery-role",
    "BucketARN": "arn:aws:s3:::ecommerce-raw-events",
    "Prefix": "events/year=!{timestamp:yyyy}/month=!{timestamp:MM}/"
              "day=!{timestamp:dd}/",
    "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/"
                         "year=!{timestamp:yyyy}/month=!{timestamp:MM}/",
    "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 300},
    "CompressionFormat": "GZIP",
}


class FirehoseCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.aws = shutil.which("aws")
        if cls.aws is None:
            raise AssertionError("the AWS CLI (`aws`) is not on PATH; install it "
                                 "(pip install awscli) to run this test")
        cls.workdir = tempfile.mkdtemp(prefix="sluice-firehose-cli-")
        cls.addClassCleanup(shutil.rmtree, cls.workdir, True)
        cls.archive = os.path.join(cls.workdir, "archive")
        cls.server = start_server(cls, "--archive-root", cls.archive)

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.server)

    def run_aws(self, *args, ok=True):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ACCESS_KEY_ID="x",
            AWS_SECRET_ACCESS_KEY="y",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            AWS_EC2_METADATA_DISABLED="true",
            AWS_MAX_ATTEMPTS="1",
        )
        result = subprocess.run(
            [self.aws, "--endpoint-url", self.server.endpoint, "--output", "json",
             "--cli-connect-timeout", "10", "--cli-read-timeout", "30", *args],
            env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=CLI_DEADLINE_S)
        if ok:
            self.assertEqual(result.returncode, 0, result.stderr)
            return json.loads(result.stdout) if result.stdout.strip() else {}
        return result

    def test_tutorial_pipeline(self):
        created = self.run_aws(
            "firehose", "create-delivery-stream",
            "--delivery-stream-name", "ecommerce-events-archive",
            "--delivery-stream-type", "DirectPut",
            "--extended-s3-destination-configuration", json.dumps(EXTENDED_S3))
        self.assertEqual(
            created["DeliveryStreamARN"],
            "arn:aws:firehose:us-east-1:000000000000:deliverystream/"
            "ecommerce-events-archive")

        described = self.run_aws(
            "firehose", "describe-delivery-stream",
            "--delivery-stream-name", "ecommerce-events-archive")
        description = described["DeliveryStreamDescription"]
        self.assertEqual(description["DeliveryStreamStatus"], "ACTIVE")
        extended = description["Destinations"][0]["ExtendedS3DestinationDescription"]
        self.assertEqual(extended["Prefix"], EXTENDED_S3["Prefix"])
        self.assertEqual(extended["ErrorOutputPrefix"],
                         EXTENDED_S3["ErrorOutputPrefix"])
        self.assertEqual(extended["BufferingHints"],
                         {"SizeInMBs": 64, "IntervalInSeconds": 300})
        self.assertEqual(extended["CompressionFormat"], "GZIP")

        listed = self.run_aws("firehose", "list-delivery-streams")
        self.assertEqual(listed["DeliveryStreamNames"], ["ecommerce-events-archive"])

        # The CLI (v1) sends a blob argument's text as its bytes.
        event = '{"event_type": "purchase", "user_id": "u1", "amount": 49.99}\n'
        put = self.run_aws("firehose", "put-record",
                           "--delivery-stream-name", "ecommerce-events-archive",
                           "--record", json.dumps({"Data": event}))
        self.assertTrue(put["RecordId"])
        batch_events = [f'{{"event_type": "page_view", "n": {i}}}\n'
                        for i in range(3)]
        batch = self.run_aws(
            "firehose", "put-record-batch",
            "--delivery-stream-name", "ecommerce-events-archive",
            "--records", json.dumps([{"Data": e} for e in batch_events]))
        self.assertEqual(batch["FailedPutCount"], 0)
        self.assertEqual(len(batch["RequestResponses"]), 3)

        [obj] = flush(self.server, "ecommerce-events-archive")
        self.assertEqual(obj["Bucket"], "ecommerce-raw-events")
        parts = obj["Key"].split("/")
        match = OBJECT_NAME.match(parts[-1])
        self.assertIsNotNone(match, obj["Key"])
        self.assertEqual(parts[:-1], ["events", f"year={match['y']}",
                                      f"month={match['mo']}", f"day={match['d']}"])
        self.assertEqual(match["name"], "ecommerce-events-archive")
        self.assertEqual(match["ext"], ".gz")
        bucket = os.path.join(self.archive, "ecommerce-raw-events")
        self.assertEqual(files_under(bucket), [obj["Key"]])
        with open(os.path.join(bucket, obj["Key"]), "rb") as f:
            self.assertEqual(gzip.decompress(f.read()).decode(),
                             event + "".join(batch_events))

        self.run_aws("firehose", "delete-delivery-stream",
                     "--delivery-stream-name", "ecommerce-events-archive")
        missing = self.run_aws("firehose", "describe-delivery-stream",
                               "--delivery-stream-name", "ecommerce-events-archive",
                               ok=False)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn(
            "An error occurred (ResourceNotFoundException) when calling the "
            "DescribeDeliveryStream operation: Firehose ecommerce-events-archive "
            "under account 000000000000 not found.", missing.stderr)

    def test_prefix_error_reaches_the_user(self):
        config = {k: v for k, v in EXTENDED_S3.items()
                  if k != "ErrorOutputPrefix"}
        result = self.run_aws(
            "firehose", "create-delivery-stream",
            "--delivery-stream-name", "no-error-prefix",
            "--extended-s3-destination-configuration", json.dumps(config),
            ok=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(
            "An error occurred (InvalidArgumentException) when calling the "
            "CreateDeliveryStream operation: ErrorOutputPrefix must be specified "
            "when Prefix contains expressions.", result.stderr)


if __name__ == "__main__":
    unittest.main()
