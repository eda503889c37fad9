"""boto3 against the real binary: tags (by stream and by ARN), resource
policies, server-side encryption settings and enhanced monitoring, and a
restart that keeps tags and policies.

Tests share one in-memory server per class; each test works in its own
account, so no test sees another's streams.
"""

import json
import shutil
import tempfile
import unittest

from test_kinesis_admin import AccountTest, clean_aws_environment, kinesis_client
from sluice_process import start_server

INVALID_CHARACTERS = ("Some tags contain invalid characters. Valid characters: "
                      "Unicode letters, digits, white space, _ . / = + - % @ :.")
ALL_METRICS = sorted(["IncomingBytes", "IncomingRecords", "OutgoingBytes",
                      "OutgoingRecords", "WriteProvisionedThroughputExceeded",
                      "ReadProvisionedThroughputExceeded",
                      "IteratorAgeMilliseconds"])
KEY_GUID = "12345678-1234-1234-1234-123456789012"


class TagsTest(AccountTest):

    def setUp(self):
        super().setUp()
        self.kinesis.create_stream(StreamName="tagged", ShardCount=1)

    def tags(self, **kwargs):
        return self.kinesis.list_tags_for_stream(StreamName="tagged", **kwargs)

    def test_add_overwrites_and_list_is_sorted_by_key(self):
        self.kinesis.add_tags_to_stream(StreamName="tagged",
                                        Tags={"team": "data", "Env": "dev"})
        self.kinesis.add_tags_to_stream(StreamARN=self.arn("tagged"),
                                        Tags={"Env": "prod", "empty": ""})
        answer = self.tags()
        self.assertEqual(answer["Tags"], [{"Key": "Env", "Value": "prod"},
                                          {"Key": "empty", "Value": ""},
                                          {"Key": "team", "Value": "data"}])
        self.assertFalse(answer["HasMoreTags"])

    def test_list_pages_with_limit_and_exclusive_start_key(self):
        self.kinesis.add_tags_to_stream(StreamName="tagged",
                                        Tags={k: k for k in "abcde"})
        first = self.tags(Limit=2)
        self.assertEqual([t["Key"] for t in first["Tags"]], ["a", "b"])
        self.assertTrue(first["HasMoreTags"])
        rest = self.tags(ExclusiveStartTagKey="b")
        self.assertEqual([t["Key"] for t in rest["Tags"]], ["c", "d", "e"])
        self.assertFalse(rest["HasMoreTags"])

    def test_remove_ignores_unknown_keys(self):
        self.kinesis.add_tags_to_stream(StreamName="tagged",
                                        Tags={"a": "1", "b": "2"})
        self.kinesis.remove_tags_from_stream(StreamName="tagged",
                                             TagKeys=["a", "nope"])
        self.assertEqual(self.tags()["Tags"], [{"Key": "b", "Value": "2"}])

    def test_more_than_fifty_tags_are_refused(self):
        self.kinesis.add_tags_to_stream(StreamName="tagged",
                                        Tags={f"k{i}": "v" for i in range(45)})
        # Overwriting existing keys does not count against the limit.
        self.kinesis.add_tags_to_stream(StreamName="tagged",
                                        Tags={f"k{i}": "w" for i in range(50)})
        self.assertError(
            self.kinesis.add_tags_to_stream, "InvalidArgumentException",
            f"Failed to add tags to stream tagged under account {self.account} "
            "because a given stream cannot have more than 50 tags associated "
            "with it.",
            StreamName="tagged", Tags={"one-more": "v"})
        self.assertEqual(len(self.tags()["Tags"]), 50)

    def test_bad_characters_and_reserved_prefix_are_refused(self):
        self.assertError(self.kinesis.add_tags_to_stream,
                         "InvalidArgumentException", INVALID_CHARACTERS,
                         StreamName="tagged", Tags={"a*b": "v"})
        self.assertError(self.kinesis.add_tags_to_stream,
                         "InvalidArgumentException", INVALID_CHARACTERS,
                         StreamName="tagged", Tags={"k": "v#"})
        self.assertError(self.kinesis.remove_tags_from_stream,
                         "InvalidArgumentException", INVALID_CHARACTERS,
                         StreamName="tagged", TagKeys=["a!"])
        self.assertError(
            self.kinesis.add_tags_to_stream, "InvalidArgumentException",
            f"Failed to add tags to stream tagged under account {self.account} "
            "because the tag key aws:owner uses the reserved prefix aws:.",
            StreamName="tagged", Tags={"aws:owner": "me"})
        self.kinesis.add_tags_to_stream(StreamName="tagged",
                                        Tags={"ok _.:/=+-@%": "é"})

    def test_model_limits_on_keys_and_values(self):
        self.assertError(
            self.raw.add_tags_to_stream, "ValidationException",
            "1 validation error detected: Value '{}' at 'tags' failed to "
            "satisfy constraint: Member must have length greater than or "
            "equal to 1",
            StreamName="tagged", Tags={})
        self.assertError(
            self.raw.remove_tags_from_stream, "ValidationException",
            "1 validation error detected: Value '[]' at 'tagKeys' failed to "
            "satisfy constraint: Member must have length greater than or "
            "equal to 1",
            StreamName="tagged", TagKeys=[])

    def test_missing_stream(self):
        message = f"Stream ghost under account {self.account} not found."
        for call, kwargs in [
                (self.kinesis.add_tags_to_stream, {"Tags": {"a": "b"}}),
                (self.kinesis.remove_tags_from_stream, {"TagKeys": ["a"]}),
                (self.kinesis.list_tags_for_stream, {})]:
            self.assertError(call, "ResourceNotFoundException", message,
                             StreamName="ghost", **kwargs)

    def test_create_stream_tags_are_listed(self):
        self.kinesis.create_stream(StreamName="born", ShardCount=1,
                                   Tags={"x": "1"})
        self.assertEqual(
            self.kinesis.list_tags_for_stream(StreamName="born")["Tags"],
            [{"Key": "x", "Value": "1"}])

    def test_create_stream_refuses_bad_tag_characters(self):
        self.assertError(self.kinesis.create_stream, "InvalidArgumentException",
                         INVALID_CHARACTERS, StreamName="bad", ShardCount=1,
                         Tags={"a*": "1"})
        self.assertEqual(
            self.kinesis.list_streams()["StreamNames"], ["tagged"])

    def test_resource_arn_operations_share_the_stream_tags(self):
        arn = self.arn("tagged")
        self.kinesis.tag_resource(ResourceARN=arn, Tags={"b": "2", "a": "1"})
        self.kinesis.add_tags_to_stream(StreamName="tagged", Tags={"c": "3"})
        self.assertEqual(
            self.kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"],
            [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"},
             {"Key": "c", "Value": "3"}])
        self.kinesis.untag_resource(ResourceARN=arn, TagKeys=["a", "c"])
        self.assertEqual(self.tags()["Tags"], [{"Key": "b", "Value": "2"}])
        self.assertError(self.kinesis.tag_resource, "InvalidArgumentException",
                         INVALID_CHARACTERS, ResourceARN=arn,
                         Tags={"a&b": "1"})

    def test_resource_arn_errors(self):
        ghost = self.arn("ghost")
        self.assertError(self.kinesis.list_tags_for_resource,
                         "ResourceNotFoundException",
                         f"Stream ghost under account {self.account} not found.",
                         ResourceARN=ghost)
        consumer = self.arn("tagged") + "/consumer/app:1700000000"
        self.assertError(self.kinesis.tag_resource,
                         "ResourceNotFoundException",
                         f"Consumer {consumer} under account {self.account} "
                         "not found.",
                         ResourceARN=consumer, Tags={"a": "b"})
        other = "arn:aws:kinesis:us-east-1:999999999999:stream/tagged"
        self.assertError(
            self.kinesis.list_tags_for_resource, "AccessDeniedException",
            f"User: arn:aws:iam::{self.account}:root is not authorized to "
            f"perform: kinesis:ListTagsForResource on resource: {other} "
            "because no resource-based policy allows the "
            "kinesis:ListTagsForResource action",
            ResourceARN=other)


class ResourcePolicyTest(AccountTest):

    def setUp(self):
        super().setUp()
        self.kinesis.create_stream(StreamName="guarded", ShardCount=1)

    def test_put_get_delete(self):
        arn = self.arn("guarded")
        self.assertEqual(
            self.kinesis.get_resource_policy(ResourceARN=arn)["Policy"], "{}")
        policy = json.dumps({"Version": "2012-10-17", "Statement": []},
                            indent=1)
        self.kinesis.put_resource_policy(ResourceARN=arn, Policy=policy)
        self.assertEqual(
            self.kinesis.get_resource_policy(ResourceARN=arn)["Policy"], policy)
        self.kinesis.delete_resource_policy(ResourceARN=arn)
        self.assertEqual(
            self.kinesis.get_resource_policy(ResourceARN=arn)["Policy"], "{}")
        self.assertError(
            self.kinesis.delete_resource_policy, "ResourceNotFoundException",
            f"No resource policy found for resource ARN {arn}.",
            ResourceARN=arn)

    def test_policy_of_a_missing_stream(self):
        self.assertError(
            self.kinesis.put_resource_policy, "ResourceNotFoundException",
            f"Stream ghost under account {self.account} not found.",
            ResourceARN=self.arn("ghost"), Policy="{}")

    def test_deleting_the_stream_drops_its_policy(self):
        arn = self.arn("guarded")
        self.kinesis.put_resource_policy(ResourceARN=arn, Policy='{"a":1}')
        self.kinesis.delete_stream(StreamName="guarded")
        self.kinesis.create_stream(StreamName="guarded", ShardCount=1)
        self.assertEqual(
            self.kinesis.get_resource_policy(ResourceARN=arn)["Policy"], "{}")


class EncryptionTest(AccountTest):

    def setUp(self):
        super().setUp()
        self.kinesis.create_stream(StreamName="secret", ShardCount=1)

    def description(self):
        return self.kinesis.describe_stream(
            StreamName="secret")["StreamDescription"]

    def test_start_and_stop_change_what_put_and_describe_report(self):
        for key_id in [KEY_GUID, "alias/aws/kinesis",
                       f"arn:aws:kms:us-east-1:{self.account}:key/{KEY_GUID}",
                       f"arn:aws:kms:us-east-1:{self.account}:alias/mine"]:
            self.kinesis.start_stream_encryption(
                StreamName="secret", EncryptionType="KMS", KeyId=key_id)
            described = self.description()
            self.assertEqual(described["EncryptionType"], "KMS")
            self.assertEqual(described["KeyId"], key_id)
        put = self.kinesis.put_record(StreamName="secret", Data=b"x",
                                      PartitionKey="k")
        self.assertEqual(put["EncryptionType"], "KMS")
        self.kinesis.stop_stream_encryption(
            StreamName="secret", EncryptionType="KMS", KeyId="alias/aws/kinesis")
        described = self.description()
        self.assertEqual(described["EncryptionType"], "NONE")
        self.assertNotIn("KeyId", described)
        self.assertEqual(described["StreamStatus"], "ACTIVE")

    def test_bad_type_and_key_are_refused(self):
        self.assertError(
            self.kinesis.start_stream_encryption, "InvalidArgumentException",
            "Encryption type NONE is not supported. Valid encryption types: "
            "KMS.",
            StreamName="secret", EncryptionType="NONE", KeyId=KEY_GUID)
        self.assertError(
            self.kinesis.start_stream_encryption, "InvalidArgumentException",
            "Invalid KeyId not-a-key. KeyId must be a KMS key id, a key or "
            "alias ARN, or an alias name prefixed by alias/.",
            StreamName="secret", EncryptionType="KMS", KeyId="not-a-key")
        self.assertError(
            self.raw.start_stream_encryption, "ValidationException",
            "1 validation error detected: Value 'AES' at 'encryptionType' "
            "failed to satisfy constraint: Member must satisfy enum value "
            "set: [NONE, KMS]",
            StreamName="secret", EncryptionType="AES", KeyId=KEY_GUID)
        self.assertError(
            self.kinesis.start_stream_encryption, "ResourceNotFoundException",
            f"Stream ghost under account {self.account} not found.",
            StreamName="ghost", EncryptionType="KMS", KeyId=KEY_GUID)


class MonitoringTest(AccountTest):

    def setUp(self):
        super().setUp()
        self.kinesis.create_stream(StreamName="watched", ShardCount=1)

    def test_enable_and_disable_report_current_and_desired(self):
        answer = self.kinesis.enable_enhanced_monitoring(
            StreamName="watched", ShardLevelMetrics=["IncomingBytes"])
        self.assertEqual(answer["StreamName"], "watched")
        self.assertEqual(answer["StreamARN"], self.arn("watched"))
        self.assertEqual(answer["CurrentShardLevelMetrics"], [])
        self.assertEqual(answer["DesiredShardLevelMetrics"], ["IncomingBytes"])
        answer = self.kinesis.enable_enhanced_monitoring(
            StreamName="watched", ShardLevelMetrics=["ALL"])
        self.assertEqual(answer["CurrentShardLevelMetrics"], ["IncomingBytes"])
        self.assertEqual(answer["DesiredShardLevelMetrics"], ALL_METRICS)
        described = self.kinesis.describe_stream(
            StreamName="watched")["StreamDescription"]
        self.assertEqual(
            sorted(described["EnhancedMonitoring"][0]["ShardLevelMetrics"]),
            ALL_METRICS)
        answer = self.kinesis.disable_enhanced_monitoring(
            StreamName="watched",
            ShardLevelMetrics=["IncomingBytes", "OutgoingBytes"])
        self.assertEqual(answer["CurrentShardLevelMetrics"], ALL_METRICS)
        self.assertEqual(answer["DesiredShardLevelMetrics"],
                         [m for m in ALL_METRICS
                          if m not in ("IncomingBytes", "OutgoingBytes")])
        answer = self.kinesis.disable_enhanced_monitoring(
            StreamName="watched", ShardLevelMetrics=["ALL"])
        self.assertEqual(answer["DesiredShardLevelMetrics"], [])

    def test_bad_metric_and_missing_stream(self):
        self.assertError(
            self.raw.enable_enhanced_monitoring, "ValidationException",
            "1 validation error detected: Value '[Bogus]' at "
            "'shardLevelMetrics' failed to satisfy constraint: Member must "
            "satisfy constraint: [Member must satisfy enum value set: "
            "[IncomingBytes, IncomingRecords, OutgoingBytes, OutgoingRecords, "
            "WriteProvisionedThroughputExceeded, "
            "ReadProvisionedThroughputExceeded, IteratorAgeMilliseconds, "
            "ALL]]",
            StreamName="watched", ShardLevelMetrics=["Bogus"])
        self.assertError(
            self.kinesis.enable_enhanced_monitoring,
            "ResourceNotFoundException",
            f"Stream ghost under account {self.account} not found.",
            StreamName="ghost", ShardLevelMetrics=["ALL"])


class UpdatingTest(AccountTest):
    """Streams stay UPDATING for a minute here, long past any test."""
    server_args = ("--update-stream-delay-ms", "60000")

    def test_encryption_passes_through_updating_which_refuses_changes(self):
        self.kinesis.create_stream(StreamName="busy", ShardCount=1)
        self.kinesis.start_stream_encryption(
            StreamName="busy", EncryptionType="KMS", KeyId=KEY_GUID)
        self.assertEqual(self.summary("busy")["StreamStatus"], "UPDATING")
        message = (f"Stream busy under account {self.account} not ACTIVE, "
                   "instead in state UPDATING")
        for call, kwargs in (
                (self.kinesis.add_tags_to_stream,
                 {"StreamName": "busy", "Tags": {"a": "b"}}),
                (self.kinesis.remove_tags_from_stream,
                 {"StreamName": "busy", "TagKeys": ["a"]}),
                (self.kinesis.tag_resource,
                 {"ResourceARN": self.arn("busy"), "Tags": {"a": "b"}}),
                (self.kinesis.stop_stream_encryption,
                 {"StreamName": "busy", "EncryptionType": "KMS",
                  "KeyId": KEY_GUID}),
                (self.kinesis.enable_enhanced_monitoring,
                 {"StreamName": "busy", "ShardLevelMetrics": ["ALL"]})):
            with self.subTest(call=call.__name__):
                self.assertError(call, "ResourceInUseException", message,
                                 **kwargs)
        # Reads work in any state.
        self.assertEqual(
            self.kinesis.list_tags_for_stream(StreamName="busy")["Tags"], [])
        self.assertEqual(self.kinesis.list_tags_for_resource(
            ResourceARN=self.arn("busy"))["Tags"], [])


class RestartTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        clean_aws_environment(cls)

    def test_tags_policies_encryption_and_metrics_survive_a_restart(self):
        data_dir = tempfile.mkdtemp(prefix="sluice-e2e-tags-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        server = start_server(self, "--data-dir", data_dir, in_memory=False)
        kinesis = kinesis_client(server)
        kinesis.create_stream(StreamName="durable", ShardCount=1)
        arn = "arn:aws:kinesis:us-east-1:000000000000:stream/durable"
        kinesis.add_tags_to_stream(StreamName="durable", Tags={"k": "v"})
        kinesis.put_resource_policy(ResourceARN=arn, Policy='{"p": 1}')
        kinesis.start_stream_encryption(StreamName="durable",
                                        EncryptionType="KMS",
                                        KeyId="alias/aws/kinesis")
        kinesis.enable_enhanced_monitoring(StreamName="durable",
                                           ShardLevelMetrics=["IncomingBytes"])
        self.assertEqual(server.stop(), 0)

        server = start_server(self, "--data-dir", data_dir, in_memory=False)
        kinesis = kinesis_client(server)
        self.assertEqual(
            kinesis.list_tags_for_stream(StreamName="durable")["Tags"],
            [{"Key": "k", "Value": "v"}])
        self.assertEqual(
            kinesis.get_resource_policy(ResourceARN=arn)["Policy"], '{"p": 1}')
        described = kinesis.describe_stream(
            StreamName="durable")["StreamDescription"]
        self.assertEqual(described["EncryptionType"], "KMS")
        self.assertEqual(described["KeyId"], "alias/aws/kinesis")
        self.assertEqual(described["EnhancedMonitoring"][0]["ShardLevelMetrics"],
                         ["IncomingBytes"])


if __name__ == "__main__":
    unittest.main()
