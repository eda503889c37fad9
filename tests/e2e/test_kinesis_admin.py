"""boto3 against the real binary: ListShards, retention, capacity mode, record
size, warm throughput, limits, account settings, and streams declared in the
config file.

Tests share one in-memory server per class; each test works in its own account
(a 12-digit access key id is the account), so no test sees another's streams
and counts such as DescribeLimits' are exact.
"""

import datetime
import json
import os
import tempfile
import unittest
from unittest import mock

import boto3
import botocore.config
from botocore.exceptions import ClientError

from sluice_process import start_server, stop_cleanly, poll_until

DEFAULT_ACCOUNT = "000000000000"


def kinesis_client(server, account=None, region="us-east-1",
                   parameter_validation=True):
    return boto3.client(
        "kinesis",
        endpoint_url=server.endpoint,
        region_name=region,
        aws_access_key_id=account or "x",
        aws_secret_access_key="y",
        # A retry would hide the first answer; the tests want exactly it.
        config=botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"},
                                      connect_timeout=10, read_timeout=30,
                                      parameter_validation=parameter_validation))


def clean_aws_environment(cls):
    """The machine's AWS config must never matter."""
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    clean_env.update(AWS_CONFIG_FILE=os.devnull,
                     AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    patcher = mock.patch.dict(os.environ, clean_env, clear=True)
    patcher.start()
    cls.addClassCleanup(patcher.stop)


def shard_id(index):
    return "shardId-%012d" % index


class AccountTest(unittest.TestCase):
    """Gives each test method its own account on the class's server."""
    server = None
    server_args = ()
    _next_account = 100000000000

    @classmethod
    def setUpClass(cls):
        clean_aws_environment(cls)
        cls.server = start_server(cls, *cls.server_args)

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.server)

    def setUp(self):
        AccountTest._next_account += 1
        self.account = str(AccountTest._next_account)
        self.kinesis = kinesis_client(self.server, self.account)
        self.raw = kinesis_client(self.server, self.account,
                                  parameter_validation=False)

    def arn(self, name, region="us-east-1"):
        return f"arn:aws:kinesis:{region}:{self.account}:stream/{name}"

    def assertError(self, call, code, message, **kwargs):
        with self.assertRaises(ClientError) as raised:
            call(**kwargs)
        error = raised.exception.response
        self.assertEqual(error["Error"]["Code"], code)
        self.assertEqual(error["Error"]["Message"], message)
        self.assertEqual(error["ResponseMetadata"]["HTTPStatusCode"], 400)

    def summary(self, name):
        return self.kinesis.describe_stream_summary(
            StreamName=name)["StreamDescriptionSummary"]


class ListShardsTest(AccountTest):

    def setUp(self):
        super().setUp()
        self.kinesis.create_stream(StreamName="five", ShardCount=5)

    def ids(self, answer):
        return [shard["ShardId"] for shard in answer["Shards"]]

    def test_lists_every_shard_in_order_as_describe_stream_does(self):
        answer = self.kinesis.list_shards(StreamName="five")
        self.assertEqual(self.ids(answer), [shard_id(i) for i in range(5)])
        self.assertNotIn("NextToken", answer)
        described = self.kinesis.describe_stream(StreamName="five")
        self.assertEqual(answer["Shards"],
                         described["StreamDescription"]["Shards"])
        first = answer["Shards"][0]
        self.assertEqual(first["HashKeyRange"]["StartingHashKey"], "0")
        self.assertNotIn("EndingSequenceNumber", first["SequenceNumberRange"])
        # By ARN too.
        self.assertEqual(self.ids(self.kinesis.list_shards(StreamARN=self.arn("five"))),
                         [shard_id(i) for i in range(5)])

    def test_pages_with_next_token(self):
        page = self.kinesis.list_shards(StreamName="five", MaxResults=2)
        self.assertEqual(self.ids(page), [shard_id(0), shard_id(1)])
        page = self.kinesis.list_shards(NextToken=page["NextToken"], MaxResults=2)
        self.assertEqual(self.ids(page), [shard_id(2), shard_id(3)])
        page = self.kinesis.list_shards(NextToken=page["NextToken"])
        self.assertEqual(self.ids(page), [shard_id(4)])
        self.assertNotIn("NextToken", page)

    def test_the_filter_carries_over_to_later_pages(self):
        page = self.kinesis.list_shards(
            StreamName="five", MaxResults=1,
            ShardFilter={"Type": "AFTER_SHARD_ID", "ShardId": shard_id(2)})
        self.assertEqual(self.ids(page), [shard_id(3)])
        page = self.kinesis.list_shards(NextToken=page["NextToken"])
        self.assertEqual(self.ids(page), [shard_id(4)])
        self.assertNotIn("NextToken", page)

    def test_exclusive_start_shard_id(self):
        answer = self.kinesis.list_shards(StreamName="five",
                                          ExclusiveStartShardId=shard_id(3))
        self.assertEqual(self.ids(answer), [shard_id(4)])

    def test_shard_filters_without_resharding_list_every_open_shard(self):
        created = self.summary("five")["StreamCreationTimestamp"]
        # boto3 sends whole seconds, which may fall before the creation's
        # milliseconds.
        after_creation = created + datetime.timedelta(seconds=1)
        everything = [shard_id(i) for i in range(5)]
        for shard_filter in ({"Type": "AT_LATEST"},
                             {"Type": "AT_TRIM_HORIZON"},
                             {"Type": "FROM_TRIM_HORIZON"},
                             {"Type": "AT_TIMESTAMP", "Timestamp": after_creation},
                             {"Type": "FROM_TIMESTAMP",
                              "Timestamp": datetime.datetime(2000, 1, 1)}):
            with self.subTest(shard_filter=shard_filter):
                answer = self.kinesis.list_shards(StreamName="five",
                                                  ShardFilter=shard_filter)
                self.assertEqual(self.ids(answer), everything)
        # Before the stream existed no shard was open.
        answer = self.kinesis.list_shards(
            StreamName="five",
            ShardFilter={"Type": "AT_TIMESTAMP",
                         "Timestamp": created - datetime.timedelta(seconds=10)})
        self.assertEqual(answer["Shards"], [])

    def test_stream_creation_timestamp_picks_the_incarnation(self):
        created = self.summary("five")["StreamCreationTimestamp"]
        answer = self.kinesis.list_shards(StreamName="five",
                                          StreamCreationTimestamp=created)
        self.assertEqual(len(answer["Shards"]), 5)
        self.assertError(
            self.kinesis.list_shards, "ResourceNotFoundException",
            f"Stream five under account {self.account} not found.",
            StreamName="five",
            StreamCreationTimestamp=created - datetime.timedelta(days=1))

    def test_next_token_excludes_the_other_arguments(self):
        token = self.kinesis.list_shards(StreamName="five",
                                         MaxResults=1)["NextToken"]
        for extra, member in (({"StreamName": "five"}, "StreamName"),
                              ({"StreamARN": self.arn("five")}, "StreamName"),
                              ({"ExclusiveStartShardId": shard_id(0)},
                               "ExclusiveStartShardId"),
                              ({"StreamCreationTimestamp":
                                datetime.datetime(2024, 1, 1)},
                               "StreamCreationTimestamp"),
                              ({"ShardFilter": {"Type": "AT_LATEST"}}, "ShardFilter")):
            with self.subTest(member=member):
                self.assertError(
                    self.kinesis.list_shards, "InvalidArgumentException",
                    f"NextToken and {member} cannot be provided together.",
                    NextToken=token, **extra)

    def test_boto3_paginator_fails_on_the_second_page_as_on_aws(self):
        # botocore's paginator repeats StreamName with the NextToken, which
        # AWS refuses; applications page by hand or ask for MaxResults.
        pages = self.kinesis.get_paginator("list_shards").paginate(
            StreamName="five", PaginationConfig={"PageSize": 2})
        with self.assertRaises(ClientError) as raised:
            list(pages)
        self.assertEqual(raised.exception.response["Error"]["Message"],
                         "NextToken and StreamName cannot be provided together.")

    def test_errors(self):
        self.assertError(self.kinesis.list_shards, "InvalidArgumentException",
                         "Either NextToken or StreamName should be provided.")
        self.assertError(self.kinesis.list_shards, "InvalidArgumentException",
                         "Invalid NextToken.", NextToken="bm90IGEgdG9rZW4=")
        self.assertError(self.kinesis.list_shards, "ResourceNotFoundException",
                         f"Stream nope under account {self.account} not found.",
                         StreamName="nope")
        self.assertError(
            self.kinesis.list_shards, "InvalidArgumentException",
            "ShardId must be specified for ShardFilter of type AFTER_SHARD_ID.",
            StreamName="five", ShardFilter={"Type": "AFTER_SHARD_ID"})
        for kind in ("AT_TIMESTAMP", "FROM_TIMESTAMP"):
            self.assertError(
                self.kinesis.list_shards, "InvalidArgumentException",
                f"Timestamp must be specified for ShardFilter of type {kind}.",
                StreamName="five", ShardFilter={"Type": kind})
        self.assertError(
            self.raw.list_shards, "ValidationException",
            "1 validation error detected: Value '0' at 'maxResults' failed to "
            "satisfy constraint: Member must have value greater than or equal to 1",
            StreamName="five", MaxResults=0)
        self.assertError(
            self.raw.list_shards, "ValidationException",
            "1 validation error detected: Value '10001' at 'maxResults' failed to "
            "satisfy constraint: Member must have value less than or equal to 10000",
            StreamName="five", MaxResults=10001)

    def test_max_results_above_the_page_cap_returns_all_five(self):
        answer = self.kinesis.list_shards(StreamName="five", MaxResults=10000)
        self.assertEqual(len(answer["Shards"]), 5)


class RetentionTest(AccountTest):

    def setUp(self):
        super().setUp()
        self.kinesis.create_stream(StreamName="kept", ShardCount=1)

    def test_increase_then_decrease(self):
        self.kinesis.increase_stream_retention_period(StreamName="kept",
                                                      RetentionPeriodHours=48)
        self.assertEqual(self.summary("kept")["RetentionPeriodHours"], 48)
        # The same value again is allowed both ways.
        self.kinesis.increase_stream_retention_period(StreamName="kept",
                                                      RetentionPeriodHours=48)
        self.kinesis.decrease_stream_retention_period(StreamARN=self.arn("kept"),
                                                      RetentionPeriodHours=24)
        self.assertEqual(self.summary("kept")["RetentionPeriodHours"], 24)
        self.kinesis.increase_stream_retention_period(StreamName="kept",
                                                      RetentionPeriodHours=8760)
        self.assertEqual(self.summary("kept")["RetentionPeriodHours"], 8760)

    def test_records_survive_a_decrease_inside_the_new_period(self):
        self.kinesis.increase_stream_retention_period(StreamName="kept",
                                                      RetentionPeriodHours=72)
        self.kinesis.put_record(StreamName="kept", Data=b"x", PartitionKey="k")
        self.kinesis.decrease_stream_retention_period(StreamName="kept",
                                                      RetentionPeriodHours=24)
        iterator = self.kinesis.get_shard_iterator(
            StreamName="kept", ShardId=shard_id(0),
            ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        records = self.kinesis.get_records(ShardIterator=iterator)["Records"]
        self.assertEqual([r["Data"] for r in records], [b"x"])

    def test_errors(self):
        self.kinesis.increase_stream_retention_period(StreamName="kept",
                                                      RetentionPeriodHours=48)
        self.assertError(
            self.kinesis.increase_stream_retention_period,
            "InvalidArgumentException",
            "Requested retention period (30 hours) for stream kept can not be "
            "shorter than existing retention period (48 hours). Use "
            "DecreaseRetentionPeriod API.",
            StreamName="kept", RetentionPeriodHours=30)
        self.assertError(
            self.kinesis.decrease_stream_retention_period,
            "InvalidArgumentException",
            "Requested retention period (100 hours) for stream kept can not be "
            "longer than existing retention period (48 hours). Use "
            "IncreaseRetentionPeriod API.",
            StreamName="kept", RetentionPeriodHours=100)
        for call in (self.kinesis.increase_stream_retention_period,
                     self.kinesis.decrease_stream_retention_period):
            self.assertError(
                call, "InvalidArgumentException",
                "Minimum allowed retention period is 24 hours. Requested "
                "retention period (23 hours) is too short.",
                StreamName="kept", RetentionPeriodHours=23)
            self.assertError(
                call, "InvalidArgumentException",
                "Maximum allowed retention period is 8760 hours. Requested "
                "retention period (8761 hours) is too long.",
                StreamName="kept", RetentionPeriodHours=8761)
            self.assertError(
                call, "ResourceNotFoundException",
                f"Stream nope under account {self.account} not found.",
                StreamName="nope", RetentionPeriodHours=48)
        self.assertEqual(self.summary("kept")["RetentionPeriodHours"], 48)


class StreamModeAndLimitsTest(AccountTest):

    def test_describe_limits_counts_the_account(self):
        limits = self.kinesis.describe_limits()
        self.assertEqual(
            {k: v for k, v in limits.items() if k != "ResponseMetadata"},
            {"ShardLimit": 500, "OpenShardCount": 0, "OnDemandStreamCount": 0,
             "OnDemandStreamCountLimit": 50})
        self.kinesis.create_stream(StreamName="p", ShardCount=3)
        self.kinesis.create_stream(StreamName="o",
                                   StreamModeDetails={"StreamMode": "ON_DEMAND"})
        limits = self.kinesis.describe_limits()
        self.assertEqual(limits["OpenShardCount"], 7)
        self.assertEqual(limits["OnDemandStreamCount"], 1)

    def test_switches_mode_both_ways(self):
        self.kinesis.create_stream(StreamName="m", ShardCount=2)
        self.kinesis.update_stream_mode(
            StreamARN=self.arn("m"), StreamModeDetails={"StreamMode": "ON_DEMAND"})
        self.assertEqual(self.summary("m")["StreamModeDetails"]["StreamMode"],
                         "ON_DEMAND")
        self.assertEqual(self.kinesis.describe_limits()["OnDemandStreamCount"], 1)
        self.kinesis.update_stream_mode(
            StreamARN=self.arn("m"), StreamModeDetails={"StreamMode": "PROVISIONED"})
        summary = self.summary("m")
        self.assertEqual(summary["StreamModeDetails"]["StreamMode"], "PROVISIONED")
        self.assertEqual(summary["OpenShardCount"], 2)  # shards stay as they were

    def test_mode_errors(self):
        self.kinesis.create_stream(StreamName="m", ShardCount=1)
        self.assertError(
            self.kinesis.update_stream_mode, "InvalidArgumentException",
            f"Stream m under account {self.account} is already in PROVISIONED mode.",
            StreamARN=self.arn("m"), StreamModeDetails={"StreamMode": "PROVISIONED"})
        self.assertError(
            self.kinesis.update_stream_mode, "InvalidArgumentException",
            "WarmThroughputMiBps can only be specified when updating the stream "
            "mode to ON_DEMAND.",
            StreamARN=self.arn("m"), StreamModeDetails={"StreamMode": "PROVISIONED"},
            WarmThroughputMiBps=10)
        self.assertError(
            self.kinesis.update_stream_mode, "InvalidArgumentException",
            "Warm throughput requires MinimumThroughputBillingCommitment to be "
            f"enabled for account {self.account}.",
            StreamARN=self.arn("m"), StreamModeDetails={"StreamMode": "ON_DEMAND"},
            WarmThroughputMiBps=10)
        self.assertError(
            self.kinesis.update_stream_mode, "ResourceNotFoundException",
            f"Stream nope under account {self.account} not found.",
            StreamARN=self.arn("nope"), StreamModeDetails={"StreamMode": "ON_DEMAND"})
        self.assertError(
            self.raw.update_stream_mode, "ValidationException",
            "1 validation error detected: Value 'FAST' at "
            "'streamModeDetails.streamMode' failed to satisfy constraint: Member "
            "must satisfy enum value set: [PROVISIONED, ON_DEMAND]",
            StreamARN=self.arn("m"), StreamModeDetails={"StreamMode": "FAST"})

    def test_on_demand_stream_limit(self):
        for i in range(50):
            self.kinesis.create_stream(StreamName=f"o{i}",
                                       StreamModeDetails={"StreamMode": "ON_DEMAND"})
        # Creating streams is not limited here yet; switching one is.
        self.kinesis.create_stream(StreamName="p", ShardCount=1)
        self.assertError(
            self.kinesis.update_stream_mode, "LimitExceededException",
            f"Account {self.account} in us-east-1 already has 50 on-demand "
            "streams, the most allowed.",
            StreamARN=self.arn("p"), StreamModeDetails={"StreamMode": "ON_DEMAND"})


class RecordSizeTest(AccountTest):

    def test_put_record_follows_the_new_maximum(self):
        self.kinesis.create_stream(StreamName="big", ShardCount=1)
        data = b"x" * (1024 * 1024)  # with the key one byte over 1 MiB
        self.assertError(
            self.kinesis.put_record, "ValidationException",
            "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 "
            "lim=1048576 cap=1048576]' at 'data' failed to satisfy constraint: "
            "Member must have length less than or equal to 1048575",
            StreamName="big", Data=data, PartitionKey="k")
        self.kinesis.update_max_record_size(StreamARN=self.arn("big"),
                                            MaxRecordSizeInKiB=2048)
        self.assertEqual(self.summary("big")["MaxRecordSizeInKiB"], 2048)
        self.kinesis.put_record(StreamName="big", Data=data, PartitionKey="k")

    def test_errors(self):
        self.kinesis.create_stream(StreamName="big", ShardCount=1)
        self.assertError(
            self.raw.update_max_record_size, "ValidationException",
            "1 validation error detected: Value '1023' at 'maxRecordSizeInKiB' "
            "failed to satisfy constraint: Member must have value greater than or "
            "equal to 1024",
            StreamARN=self.arn("big"), MaxRecordSizeInKiB=1023)
        self.assertError(
            self.raw.update_max_record_size, "ValidationException",
            "1 validation error detected: Value '10241' at 'maxRecordSizeInKiB' "
            "failed to satisfy constraint: Member must have value less than or "
            "equal to 10240",
            StreamARN=self.arn("big"), MaxRecordSizeInKiB=10241)
        self.assertError(
            self.kinesis.update_max_record_size, "ResourceNotFoundException",
            f"Stream nope under account {self.account} not found.",
            StreamARN=self.arn("nope"), MaxRecordSizeInKiB=2048)


class AccountSettingsAndWarmThroughputTest(AccountTest):

    def commitment(self, answer):
        return answer["MinimumThroughputBillingCommitment"]

    def test_commitment_lifecycle(self):
        self.assertEqual(
            self.commitment(self.kinesis.describe_account_settings()),
            {"Status": "DISABLED"})
        enabled = self.commitment(self.kinesis.update_account_settings(
            MinimumThroughputBillingCommitment={"Status": "ENABLED"}))
        self.assertEqual(enabled["Status"], "ENABLED")
        self.assertEqual(enabled["EarliestAllowedEndAt"] - enabled["StartedAt"],
                         datetime.timedelta(hours=24))
        self.assertEqual(self.commitment(self.kinesis.describe_account_settings()),
                         enabled)
        # Disabling inside the first 24 hours only schedules the end.
        pending = self.commitment(self.kinesis.update_account_settings(
            MinimumThroughputBillingCommitment={"Status": "DISABLED"}))
        self.assertEqual(pending["Status"], "ENABLED_UNTIL_EARLIEST_ALLOWED_END")
        self.assertEqual(pending["EarliestAllowedEndAt"],
                         enabled["EarliestAllowedEndAt"])
        again = self.commitment(self.kinesis.update_account_settings(
            MinimumThroughputBillingCommitment={"Status": "ENABLED"}))
        self.assertEqual(again, enabled)
        # Another region of the same account is separate.
        other = kinesis_client(self.server, self.account, region="eu-west-1")
        self.assertEqual(self.commitment(other.describe_account_settings()),
                         {"Status": "DISABLED"})

    def test_update_account_settings_takes_only_enabled_or_disabled(self):
        self.assertError(
            self.raw.update_account_settings, "ValidationException",
            "1 validation error detected: Value "
            "'ENABLED_UNTIL_EARLIEST_ALLOWED_END' at "
            "'minimumThroughputBillingCommitment.status' failed to satisfy "
            "constraint: Member must satisfy enum value set: [ENABLED, DISABLED]",
            MinimumThroughputBillingCommitment={
                "Status": "ENABLED_UNTIL_EARLIEST_ALLOWED_END"})

    def test_warm_throughput_on_an_on_demand_stream(self):
        self.kinesis.create_stream(StreamName="warm",
                                   StreamModeDetails={"StreamMode": "ON_DEMAND"})
        self.assertNotIn("WarmThroughput", self.summary("warm"))
        self.assertError(
            self.kinesis.update_stream_warm_throughput, "InvalidArgumentException",
            "Warm throughput requires MinimumThroughputBillingCommitment to be "
            f"enabled for account {self.account}.",
            StreamName="warm", WarmThroughputMiBps=100)
        self.kinesis.update_account_settings(
            MinimumThroughputBillingCommitment={"Status": "ENABLED"})
        answer = self.kinesis.update_stream_warm_throughput(
            StreamName="warm", WarmThroughputMiBps=100)
        self.assertEqual(answer["StreamARN"], self.arn("warm"))
        self.assertEqual(answer["StreamName"], "warm")
        self.assertEqual(answer["WarmThroughput"],
                         {"TargetMiBps": 100, "CurrentMiBps": 100})
        self.assertEqual(self.summary("warm")["WarmThroughput"],
                         {"TargetMiBps": 100, "CurrentMiBps": 100})
        self.assertError(
            self.kinesis.update_stream_warm_throughput, "InvalidArgumentException",
            "WarmThroughputMiBps 10241 exceeds the maximum of 10240 MiBps.",
            StreamARN=self.arn("warm"), WarmThroughputMiBps=10241)
        # Going provisioned drops it.
        self.kinesis.update_stream_mode(
            StreamARN=self.arn("warm"), StreamModeDetails={"StreamMode": "PROVISIONED"})
        self.assertNotIn("WarmThroughput", self.summary("warm"))
        # And switching back may set it at once.
        self.kinesis.update_stream_mode(
            StreamARN=self.arn("warm"), StreamModeDetails={"StreamMode": "ON_DEMAND"},
            WarmThroughputMiBps=50)
        self.assertEqual(self.summary("warm")["WarmThroughput"],
                         {"TargetMiBps": 50, "CurrentMiBps": 50})

    def test_provisioned_streams_have_no_warm_throughput(self):
        self.kinesis.update_account_settings(
            MinimumThroughputBillingCommitment={"Status": "ENABLED"})
        self.kinesis.create_stream(StreamName="cold", ShardCount=1)
        self.assertError(
            self.kinesis.update_stream_warm_throughput, "ValidationException",
            f"Request is invalid. Stream cold under account {self.account} is in "
            "Provisioned mode.",
            StreamName="cold", WarmThroughputMiBps=100)
        self.assertError(
            self.kinesis.update_stream_warm_throughput, "ResourceNotFoundException",
            f"Stream nope under account {self.account} not found.",
            StreamName="nope", WarmThroughputMiBps=100)
        self.assertError(
            self.raw.update_stream_warm_throughput, "ValidationException",
            "1 validation error detected: Value '-1' at 'warmThroughputMiBps' "
            "failed to satisfy constraint: Member must have value greater than or "
            "equal to 0",
            StreamName="cold", WarmThroughputMiBps=-1)


class StateTest(AccountTest):
    """Streams stay CREATING and UPDATING for a minute here, long past any
    test, so the states can be seen without waiting."""
    server_args = ("--create-stream-delay-ms", "60000",
                   "--update-stream-delay-ms", "60000")

    def not_active(self, name, state):
        return (f"Stream {name} under account {self.account} not ACTIVE, "
                f"instead in state {state}")

    def test_creating_stream_refuses_list_shards_and_changes(self):
        self.kinesis.create_stream(StreamName="new", ShardCount=1)
        self.assertEqual(self.summary("new")["StreamStatus"], "CREATING")
        for call, kwargs in (
                (self.kinesis.list_shards, {"StreamName": "new"}),
                (self.kinesis.increase_stream_retention_period,
                 {"StreamName": "new", "RetentionPeriodHours": 48}),
                (self.kinesis.decrease_stream_retention_period,
                 {"StreamName": "new", "RetentionPeriodHours": 24}),
                (self.kinesis.update_stream_mode,
                 {"StreamARN": self.arn("new"),
                  "StreamModeDetails": {"StreamMode": "ON_DEMAND"}}),
                (self.kinesis.update_max_record_size,
                 {"StreamARN": self.arn("new"), "MaxRecordSizeInKiB": 2048})):
            with self.subTest(call=call.__name__):
                self.assertError(call, "ResourceInUseException",
                                 self.not_active("new", "CREATING"), **kwargs)

    def test_changes_pass_through_updating(self):
        # New streams on this class's server stay CREATING; a second server
        # without the create delay gives an ACTIVE stream to change.
        server = start_server(self, "--update-stream-delay-ms", "60000")
        client = kinesis_client(server, self.account)
        client.create_stream(StreamName="busy", ShardCount=1)
        client.increase_stream_retention_period(StreamName="busy",
                                                RetentionPeriodHours=48)
        summary = client.describe_stream_summary(
            StreamName="busy")["StreamDescriptionSummary"]
        self.assertEqual(summary["StreamStatus"], "UPDATING")
        self.assertEqual(summary["RetentionPeriodHours"], 48)
        # Reading the shard list still works while UPDATING; changes do not.
        self.assertEqual(len(client.list_shards(StreamName="busy")["Shards"]), 1)
        for call, kwargs in (
                (client.increase_stream_retention_period,
                 {"StreamName": "busy", "RetentionPeriodHours": 72}),
                (client.update_stream_mode,
                 {"StreamARN": self.arn("busy"),
                  "StreamModeDetails": {"StreamMode": "ON_DEMAND"}}),
                (client.update_max_record_size,
                 {"StreamARN": self.arn("busy"), "MaxRecordSizeInKiB": 2048})):
            with self.subTest(call=call.__name__):
                with self.assertRaises(ClientError) as raised:
                    call(**kwargs)
                self.assertEqual(raised.exception.response["Error"]["Message"],
                                 self.not_active("busy", "UPDATING"))
        stop_cleanly(server)


class DeclaredStreamsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        clean_aws_environment(cls)

    def write_config(self, directory, streams, **extra):
        path = os.path.join(directory, "sluice.json")
        with open(path, "w") as f:
            json.dump({"streams": streams, **extra}, f)
        return path

    def test_declared_streams_exist_at_start(self):
        with tempfile.TemporaryDirectory() as directory:
            config = self.write_config(directory, [
                {"name": "orders", "shard_count": 2, "retention_hours": 48,
                 "tags": {"team": "data"}},
                {"name": "clicks", "mode": "ON_DEMAND"},
                {"name": "orders", "shard_count": 1, "region": "eu-west-1"},
                {"name": "audit", "shard_count": 3, "account_id": "222222222222"},
            ], aws={"region": "us-west-2"})
            server = start_server(self, "--config", config)
            # The config's region is the default for declared streams.
            west = kinesis_client(server, region="us-west-2")
            self.assertEqual(west.list_streams()["StreamNames"], ["clicks", "orders"])
            orders = west.describe_stream_summary(
                StreamName="orders")["StreamDescriptionSummary"]
            self.assertEqual(orders["StreamStatus"], "ACTIVE")
            self.assertEqual(orders["OpenShardCount"], 2)
            self.assertEqual(orders["RetentionPeriodHours"], 48)
            self.assertEqual(orders["StreamModeDetails"]["StreamMode"], "PROVISIONED")
            clicks = west.describe_stream_summary(
                StreamName="clicks")["StreamDescriptionSummary"]
            self.assertEqual(clicks["StreamModeDetails"]["StreamMode"], "ON_DEMAND")
            self.assertEqual(clicks["OpenShardCount"], 4)
            europe = kinesis_client(server, region="eu-west-1")
            self.assertEqual(
                europe.describe_stream_summary(
                    StreamName="orders")["StreamDescriptionSummary"]["OpenShardCount"],
                1)
            other = kinesis_client(server, "222222222222", region="us-west-2")
            self.assertEqual(other.list_streams()["StreamNames"], ["audit"])
            # Declared streams are ordinary streams.
            west.put_record(StreamName="orders", Data=b"o", PartitionKey="k")
            stop_cleanly(server)

    def test_a_restart_leaves_existing_streams_as_they_are(self):
        with tempfile.TemporaryDirectory() as directory:
            config = self.write_config(directory, [
                {"name": "orders", "shard_count": 2}])
            data_dir = os.path.join(directory, "data")
            server = start_server(self, "--config", config, "--data-dir", data_dir,
                                  in_memory=False)
            client = kinesis_client(server)
            client.increase_stream_retention_period(StreamName="orders",
                                                    RetentionPeriodHours=96)
            client.put_record(StreamName="orders", Data=b"kept", PartitionKey="k",
                              ExplicitHashKey="0")
            created = client.describe_stream_summary(
                StreamName="orders")["StreamDescriptionSummary"]
            stop_cleanly(server)

            server = start_server(self, "--config", config, "--data-dir", data_dir,
                                  in_memory=False)
            client = kinesis_client(server)
            again = client.describe_stream_summary(
                StreamName="orders")["StreamDescriptionSummary"]
            self.assertEqual(again["RetentionPeriodHours"], 96)
            self.assertEqual(again["StreamCreationTimestamp"],
                             created["StreamCreationTimestamp"])
            iterator = client.get_shard_iterator(
                StreamName="orders", ShardId=shard_id(0),
                ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            records = client.get_records(ShardIterator=iterator)["Records"]
            self.assertEqual([r["Data"] for r in records], [b"kept"])
            stop_cleanly(server)

    def test_a_bad_declaration_stops_startup_naming_the_path(self):
        from sluice_process import run_sluice
        with tempfile.TemporaryDirectory() as directory:
            config = self.write_config(directory, [
                {"name": "ok", "shard_count": 1},
                {"name": "bad", "shard_count": 0}])
            done = run_sluice("serve", "--port", "0", "--in-memory",
                              "--config", config)
            self.assertEqual(done.returncode, 2)
            self.assertEqual(
                done.stderr,
                f"sluice: config file '{config}': 'streams[1].shard_count' must be "
                "an integer from 1 to 100000\n")

    def test_a_declaration_over_the_shard_limit_stops_startup(self):
        from sluice_process import SluiceProcess
        with tempfile.TemporaryDirectory() as directory:
            config = self.write_config(directory, [
                {"name": "huge", "shard_count": 3}],
                kinesis={"shard_limit": 2})
            server = SluiceProcess("--config", config)
            self.addCleanup(server.cleanup)
            with self.assertRaises(AssertionError):
                server.start()
            self.assertEqual(server.wait(), 1)
            self.assertIn(
                "sluice: cannot create stream 'huge' declared in the config file: "
                "This request would exceed the shard limit for the account "
                f"{DEFAULT_ACCOUNT} in us-east-1.", server.stderr())


if __name__ == "__main__":
    unittest.main()
