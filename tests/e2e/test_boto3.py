"""boto3 against the real binary: what a Python application sees."""

import os
import unittest
from unittest import mock

import boto3
import botocore.config
from botocore.exceptions import ClientError

from sluice_process import start_server, stop_cleanly


def kinesis_client(server, region="us-east-1", access_key_id="x",
                   parameter_validation=True):
    return boto3.client(
        "kinesis",
        endpoint_url=server.endpoint,
        region_name=region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key="y",
        # A retry would hide the first answer; the tests want exactly it.
        config=botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"},
                                      connect_timeout=10, read_timeout=30,
                                      parameter_validation=parameter_validation))


class Boto3KinesisTest(unittest.TestCase):
    server = None

    @classmethod
    def setUpClass(cls):
        # The machine's AWS config must never matter.
        clean_env = {k: v for k, v in os.environ.items()
                     if not k.startswith("AWS_")}
        clean_env.update(AWS_CONFIG_FILE=os.devnull,
                         AWS_SHARED_CREDENTIALS_FILE=os.devnull)
        patcher = mock.patch.dict(os.environ, clean_env, clear=True)
        patcher.start()
        cls.addClassCleanup(patcher.stop)
        cls.server = start_server(cls)

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.server)

    def test_list_streams_is_empty(self):
        answer = kinesis_client(self.server).list_streams()
        self.assertEqual(answer["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(answer["StreamNames"], [])
        self.assertIs(answer["HasMoreStreams"], False)
        self.assertEqual(answer["StreamSummaries"], [])
        self.assertTrue(answer["ResponseMetadata"]["RequestId"])

    def test_list_streams_in_another_region_with_numeric_key(self):
        client = kinesis_client(self.server, region="eu-west-1",
                                access_key_id="123456789012")
        answer = client.list_streams(Limit=5)
        self.assertEqual(answer["StreamNames"], [])
        self.assertIs(answer["HasMoreStreams"], False)

    def test_paginator_yields_one_empty_page(self):
        pages = list(kinesis_client(self.server)
                     .get_paginator("list_streams").paginate())
        self.assertEqual(len(pages), 1)
        self.assertEqual(pages[0]["StreamNames"], [])

    def test_limit_zero_raises_validation_exception(self):
        # botocore refuses Limit=0 itself; with its check off, the server's
        # answer reaches the caller as it would from AWS.
        client = kinesis_client(self.server, parameter_validation=False)
        with self.assertRaises(ClientError) as raised:
            client.list_streams(Limit=0)
        error = raised.exception.response
        self.assertEqual(error["Error"]["Code"], "ValidationException")
        self.assertEqual(
            error["Error"]["Message"],
            "1 validation error detected: Value '0' at 'limit' failed to satisfy "
            "constraint: Member must have value greater than or equal to 1")
        self.assertEqual(error["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertTrue(error["ResponseMetadata"]["RequestId"])

    def test_bad_exclusive_start_stream_name_raises_validation_exception(self):
        with self.assertRaises(ClientError) as raised:
            kinesis_client(self.server).list_streams(
                ExclusiveStartStreamName="bad name!")
        error = raised.exception.response["Error"]
        self.assertEqual(error["Code"], "ValidationException")
        self.assertEqual(
            error["Message"],
            "1 validation error detected: Value 'bad name!' at "
            "'exclusiveStartStreamName' failed to satisfy constraint: Member "
            "must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")

    def test_firehose_client_reaches_firehose(self):
        # Firehose itself is tested in test_firehose.py.
        client = boto3.client(
            "firehose", endpoint_url=self.server.endpoint, region_name="us-east-1",
            aws_access_key_id="x", aws_secret_access_key="y",
            config=botocore.config.Config(retries={"max_attempts": 1,
                                                   "mode": "standard"}))
        answer = client.list_delivery_streams()
        self.assertEqual(answer["DeliveryStreamNames"], [])
        self.assertIs(answer["HasMoreDeliveryStreams"], False)


class Boto3IdentityTest(unittest.TestCase):
    """Region and account come from the SigV4 credential scope: a 12-digit
    access key id is the account, any other key is account 000000000000."""

    def setUp(self):
        clean_env = {k: v for k, v in os.environ.items()
                     if not k.startswith("AWS_")}
        clean_env.update(AWS_CONFIG_FILE=os.devnull,
                         AWS_SHARED_CREDENTIALS_FILE=os.devnull)
        patcher = mock.patch.dict(os.environ, clean_env, clear=True)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.server = start_server(self)

    def test_streams_belong_to_the_region_and_account_of_the_credential(self):
        numeric_eu = kinesis_client(self.server, region="eu-west-1",
                                    access_key_id="123456789012")
        named_us = kinesis_client(self.server, region="us-east-1",
                                  access_key_id="x")
        named_eu = kinesis_client(self.server, region="eu-west-1",
                                  access_key_id="AKIAEXAMPLE")

        numeric_eu.create_stream(StreamName="orders", ShardCount=1)
        named_us.create_stream(StreamName="orders", ShardCount=1)

        def arns(client):
            return [s["StreamARN"] for s in client.list_streams()["StreamSummaries"]]

        self.assertEqual(arns(numeric_eu),
                         ["arn:aws:kinesis:eu-west-1:123456789012:stream/orders"])
        self.assertEqual(arns(named_us),
                         ["arn:aws:kinesis:us-east-1:000000000000:stream/orders"])
        self.assertEqual(arns(named_eu), [])
        self.assertEqual(self.server.stop(), 0, self.server.stderr())


if __name__ == "__main__":
    unittest.main()
