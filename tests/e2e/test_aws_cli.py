"""The AWS CLI (v1, `aws` on PATH) against the real binary, with dummy
credentials and none of the machine's AWS configuration."""

import json
import os
import re
import shutil
import subprocess
import unittest

from sluice_process import start_server, stop_cleanly

CLI_DEADLINE_S = 60


class AwsCliTest(unittest.TestCase):
    server = None

    @classmethod
    def setUpClass(cls):
        cls.aws = shutil.which("aws")
        if cls.aws is None:
            raise AssertionError("the AWS CLI (`aws`) is not on PATH; install it "
                                 "(pip install awscli) to run this test")
        cls.server = start_server(cls)

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.server)

    def run_aws(self, *args):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ACCESS_KEY_ID="x",
            AWS_SECRET_ACCESS_KEY="y",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            AWS_EC2_METADATA_DISABLED="true",
            AWS_MAX_ATTEMPTS="1",  # the first answer, not a retried one
        )
        return subprocess.run(
            [self.aws, "--endpoint-url", self.server.endpoint, "--output", "json",
             "--cli-connect-timeout", "10", "--cli-read-timeout", "30", *args],
            env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=CLI_DEADLINE_S)

    def test_list_streams(self):
        result = self.run_aws("kinesis", "list-streams")
        self.assertEqual(result.returncode, 0, result.stderr)
        answer = json.loads(result.stdout)
        self.assertEqual(answer["StreamNames"], [])
        self.assertEqual(answer.get("StreamSummaries", []), [])

    def test_list_streams_without_pagination(self):
        result = self.run_aws("kinesis", "list-streams", "--no-paginate",
                              "--limit", "3")
        self.assertEqual(result.returncode, 0, result.stderr)
        answer = json.loads(result.stdout)
        self.assertEqual(answer["StreamNames"], [])
        self.assertIs(answer["HasMoreStreams"], False)

    # `--limit 0` never reaches the server: the CLI refuses it itself
    # ("Parameter validation failed"). A bad stream name is not checked by the
    # CLI, so it carries the server's ValidationException to the user.
    def test_validation_error_reaches_the_user(self):
        result = self.run_aws("kinesis", "list-streams", "--no-paginate",
                              "--exclusive-start-stream-name", "bad name!")
        self.assertNotEqual(result.returncode, 0)
        self.assertEqual(result.stdout, "")
        self.assertIn(
            "An error occurred (ValidationException) when calling the ListStreams "
            "operation: 1 validation error detected: Value 'bad name!' at "
            "'exclusiveStartStreamName' failed to satisfy constraint: Member must "
            "satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
            result.stderr)

    def test_enhanced_fan_out_consumer_lifecycle(self):
        self.run_json("kinesis", "create-stream", "--stream-name", "cli-efo",
                      "--shard-count", "1")
        stream_arn = "arn:aws:kinesis:us-east-1:000000000000:stream/cli-efo"
        consumer = self.run_json("kinesis", "register-stream-consumer",
                                 "--stream-arn", stream_arn,
                                 "--consumer-name", "cli-app")["Consumer"]
        self.assertEqual(consumer["ConsumerName"], "cli-app")
        self.assertEqual(consumer["ConsumerStatus"], "ACTIVE")
        self.assertRegex(consumer["ConsumerARN"],
                         "^" + re.escape(stream_arn) + r"/consumer/cli-app:\d+$")
        described = self.run_json("kinesis", "describe-stream-consumer",
                                  "--consumer-arn", consumer["ConsumerARN"])
        self.assertEqual(described["ConsumerDescription"]["StreamARN"], stream_arn)
        listed = self.run_json("kinesis", "list-stream-consumers",
                               "--stream-arn", stream_arn)
        self.assertEqual([c["ConsumerARN"] for c in listed["Consumers"]],
                         [consumer["ConsumerARN"]])
        self.run_json("kinesis", "deregister-stream-consumer",
                      "--stream-arn", stream_arn, "--consumer-name", "cli-app")
        listed = self.run_json("kinesis", "list-stream-consumers",
                               "--stream-arn", stream_arn)
        self.assertEqual(listed["Consumers"], [])
        result = self.run_aws("kinesis", "register-stream-consumer",
                              "--stream-arn", stream_arn.replace("cli-efo", "ghost"),
                              "--consumer-name", "c")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("An error occurred (ResourceNotFoundException) when "
                      "calling the RegisterStreamConsumer operation: Stream "
                      "ghost under account 000000000000 not found.",
                      result.stderr)
        # The class shares one server; leave it as the other tests expect.
        self.run_json("kinesis", "delete-stream", "--stream-name", "cli-efo")

    def run_json(self, *args):
        result = self.run_aws(*args)
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout) if result.stdout.strip() else None

    def test_the_main_flow_of_a_stream(self):
        self.run_json("kinesis", "create-stream", "--stream-name", "cli-flow",
                      "--shard-count", "2")
        described = self.run_json("kinesis", "describe-stream-summary",
                                  "--stream-name", "cli-flow")
        self.assertEqual(described["StreamDescriptionSummary"]["OpenShardCount"], 2)
        # CLI v1 sends the --data text as the record's bytes.
        put = self.run_json("kinesis", "put-record", "--stream-name", "cli-flow",
                            "--partition-key", "a", "--data", "hello")
        self.assertEqual(put["ShardId"], "shardId-000000000000")
        batch = self.run_json("kinesis", "put-records", "--stream-name", "cli-flow",
                              "--records", json.dumps([
                                  {"Data": "b25l", "PartitionKey": "a"},
                                  {"Data": "dHdv", "PartitionKey": "a"}]))
        self.assertEqual(batch["FailedRecordCount"], 0)
        iterator = self.run_json("kinesis", "get-shard-iterator", "--stream-name",
                                 "cli-flow", "--shard-id", "shardId-000000000000",
                                 "--shard-iterator-type", "TRIM_HORIZON")["ShardIterator"]
        records = self.run_json("kinesis", "get-records", "--shard-iterator",
                                iterator)["Records"]
        self.assertEqual(len(records), 3)
        self.assertEqual(records[0]["SequenceNumber"], put["SequenceNumber"])
        self.assertEqual([r["PartitionKey"] for r in records], ["a", "a", "a"])
        shards = self.run_json("kinesis", "list-shards", "--stream-name", "cli-flow")
        self.assertEqual([s["ShardId"] for s in shards["Shards"]],
                         ["shardId-000000000000", "shardId-000000000001"])
        self.run_json("kinesis", "delete-stream", "--stream-name", "cli-flow")
        missing = self.run_aws("kinesis", "describe-stream", "--stream-name", "cli-flow")
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("ResourceNotFoundException", missing.stderr)


if __name__ == "__main__":
    unittest.main()
