"""boto3 against the real binary: enhanced fan-out consumers
(RegisterStreamConsumer, DescribeStreamConsumer, ListStreamConsumers,
DeregisterStreamConsumer), their limits and states, tags on consumer ARNs,
DeleteStream with EnforceConsumerDeletion, DescribeStreamSummary's
ConsumerCount, and restarts that keep consumers and finish their transitions.
The AWS CLI case is in test_aws_cli.py.

Tests share one in-memory server per class; each test works in its own
account, so no test sees another's streams. botocore has no consumer waiters,
so state changes are awaited by polling DescribeStreamConsumer.
"""

import datetime
import re
import shutil
import tempfile
import unittest

from test_kinesis_admin import AccountTest, clean_aws_environment, kinesis_client
from sluice_process import poll_until, start_server

HOUR_MS = "3600000"


def consumer_seconds(arn):
    return int(arn.rsplit(":", 1)[1])


class ConsumersTest(AccountTest):

    def setUp(self):
        super().setUp()
        self.kinesis.create_stream(StreamName="s", ShardCount=1)
        self.stream_arn = self.arn("s")

    def register(self, name, **kwargs):
        return self.kinesis.register_stream_consumer(
            StreamARN=self.stream_arn, ConsumerName=name, **kwargs)["Consumer"]

    def names(self):
        consumers = self.kinesis.list_stream_consumers(
            StreamARN=self.stream_arn)["Consumers"]
        return [c["ConsumerName"] for c in consumers]

    def test_register_then_describe_by_arn_and_by_name(self):
        consumer = self.register("app")
        self.assertEqual(consumer["ConsumerName"], "app")
        self.assertEqual(consumer["ConsumerStatus"], "ACTIVE")
        created = consumer["ConsumerCreationTimestamp"]
        self.assertIsInstance(created, datetime.datetime)
        self.assertRegex(consumer["ConsumerARN"],
                         "^" + re.escape(self.stream_arn) + r"/consumer/app:\d+$")
        self.assertEqual(consumer_seconds(consumer["ConsumerARN"]),
                         int(created.timestamp()))

        by_arn = self.kinesis.describe_stream_consumer(
            ConsumerARN=consumer["ConsumerARN"])["ConsumerDescription"]
        by_name = self.kinesis.describe_stream_consumer(
            StreamARN=self.stream_arn, ConsumerName="app")["ConsumerDescription"]
        all_three = self.kinesis.describe_stream_consumer(
            ConsumerARN=consumer["ConsumerARN"], StreamARN=self.stream_arn,
            ConsumerName="app")["ConsumerDescription"]
        expected = dict(consumer, StreamARN=self.stream_arn)
        self.assertEqual(by_arn, expected)
        self.assertEqual(by_name, expected)
        self.assertEqual(all_three, expected)

        listed = self.kinesis.list_stream_consumers(StreamARN=self.stream_arn)
        self.assertEqual(listed["Consumers"], [consumer])
        self.assertNotIn("NextToken", listed)

    def test_list_pages_with_max_results_and_next_token(self):
        for name in ["e", "c", "a", "d", "b"]:
            self.register(name)
        first = self.kinesis.list_stream_consumers(StreamARN=self.stream_arn,
                                                   MaxResults=2)
        self.assertEqual([c["ConsumerName"] for c in first["Consumers"]],
                         ["a", "b"])
        second = self.kinesis.list_stream_consumers(
            StreamARN=self.stream_arn, MaxResults=2, NextToken=first["NextToken"])
        self.assertEqual([c["ConsumerName"] for c in second["Consumers"]],
                         ["c", "d"])
        last = self.kinesis.list_stream_consumers(
            StreamARN=self.stream_arn, NextToken=second["NextToken"])
        self.assertEqual([c["ConsumerName"] for c in last["Consumers"]], ["e"])
        self.assertNotIn("NextToken", last)

        paginator = self.kinesis.get_paginator("list_stream_consumers")
        names = [c["ConsumerName"]
                 for page in paginator.paginate(StreamARN=self.stream_arn,
                                                PaginationConfig={"PageSize": 2})
                 for c in page["Consumers"]]
        self.assertEqual(names, ["a", "b", "c", "d", "e"])

    def test_list_refuses_bad_tokens_limits_and_other_incarnations(self):
        self.assertError(self.kinesis.list_stream_consumers,
                         "InvalidArgumentException", "Invalid NextToken.",
                         StreamARN=self.stream_arn, NextToken="bm90IGEgdG9rZW4=")
        with self.assertRaises(Exception) as raised:
            self.raw.list_stream_consumers(StreamARN=self.stream_arn,
                                           MaxResults=10001)
        self.assertEqual(raised.exception.response["Error"]["Code"],
                         "ValidationException")
        created = self.summary("s")["StreamCreationTimestamp"]
        self.assertEqual(self.kinesis.list_stream_consumers(
            StreamARN=self.stream_arn,
            StreamCreationTimestamp=created)["Consumers"], [])
        self.assertError(self.kinesis.list_stream_consumers,
                         "ResourceNotFoundException",
                         f"Stream s under account {self.account} not found.",
                         StreamARN=self.stream_arn,
                         StreamCreationTimestamp=created - datetime.timedelta(
                             days=1))

    def test_a_name_is_unique_per_stream(self):
        self.register("app")
        self.assertError(self.kinesis.register_stream_consumer,
                         "ResourceInUseException",
                         f"Consumer app under stream s under account "
                         f"{self.account} already exists.",
                         StreamARN=self.stream_arn, ConsumerName="app")
        self.kinesis.create_stream(StreamName="other", ShardCount=1)
        self.kinesis.register_stream_consumer(StreamARN=self.arn("other"),
                                              ConsumerName="app")

    def test_a_stream_takes_twenty_consumers(self):
        for i in range(20):
            self.register(f"c{i:02}")
        self.assertError(self.kinesis.register_stream_consumer,
                         "LimitExceededException",
                         f"Stream s under account {self.account} already has "
                         "20 registered consumers, the most a stream can have.",
                         StreamARN=self.stream_arn, ConsumerName="c20")
        self.assertEqual(len(self.names()), 20)

    def test_deregister_by_arn_and_by_name(self):
        first = self.register("first")
        self.register("second")
        self.kinesis.deregister_stream_consumer(ConsumerARN=first["ConsumerARN"])
        self.assertEqual(self.names(), ["second"])
        self.kinesis.deregister_stream_consumer(StreamARN=self.stream_arn,
                                                ConsumerName="second")
        self.assertEqual(self.names(), [])
        self.assertError(self.kinesis.describe_stream_consumer,
                         "ResourceNotFoundException",
                         f"Consumer {first['ConsumerARN']} under account "
                         f"{self.account} not found.",
                         ConsumerARN=first["ConsumerARN"])
        self.assertError(self.kinesis.deregister_stream_consumer,
                         "ResourceNotFoundException",
                         f"Consumer second under stream s under account "
                         f"{self.account} not found.",
                         StreamARN=self.stream_arn, ConsumerName="second")

    def test_a_consumer_is_named_by_arn_or_by_stream_and_name(self):
        consumer = self.register("app")
        neither = ("Either ConsumerARN or both ConsumerName and StreamARN must "
                   "be provided.")
        self.assertError(self.kinesis.describe_stream_consumer,
                         "InvalidArgumentException", neither)
        self.assertError(self.kinesis.describe_stream_consumer,
                         "InvalidArgumentException", neither,
                         ConsumerName="app")
        self.assertError(self.kinesis.deregister_stream_consumer,
                         "InvalidArgumentException", neither,
                         StreamARN=self.stream_arn)
        self.assertError(
            self.kinesis.describe_stream_consumer, "InvalidArgumentException",
            f"ConsumerARN {consumer['ConsumerARN']} does not name the consumer "
            "that ConsumerName and StreamARN name.",
            ConsumerARN=consumer["ConsumerARN"], ConsumerName="other")
        self.assertEqual(self.names(), ["app"])

    def test_unknown_streams_consumers_and_foreign_arns(self):
        self.assertError(self.kinesis.register_stream_consumer,
                         "ResourceNotFoundException",
                         f"Stream ghost under account {self.account} not found.",
                         StreamARN=self.arn("ghost"), ConsumerName="app")
        self.assertError(self.kinesis.list_stream_consumers,
                         "ResourceNotFoundException",
                         f"Stream ghost under account {self.account} not found.",
                         StreamARN=self.arn("ghost"))
        ghost = self.arn("ghost") + "/consumer/app:1700000000"
        self.assertError(self.kinesis.describe_stream_consumer,
                         "ResourceNotFoundException",
                         f"Consumer {ghost} under account {self.account} "
                         "not found.",
                         ConsumerARN=ghost)
        foreign = ("arn:aws:kinesis:us-east-1:999999999999:stream/s/consumer/"
                   "app:1700000000")
        self.assertError(
            self.kinesis.describe_stream_consumer, "AccessDeniedException",
            f"User: arn:aws:iam::{self.account}:root is not authorized to "
            f"perform: kinesis:DescribeStreamConsumer on resource: {foreign} "
            "because no resource-based policy allows the "
            "kinesis:DescribeStreamConsumer action",
            ConsumerARN=foreign)

    def test_a_bad_consumer_name_is_a_validation_error(self):
        with self.assertRaises(Exception) as raised:
            self.raw.register_stream_consumer(StreamARN=self.stream_arn,
                                              ConsumerName="bad name!")
        error = raised.exception.response["Error"]
        self.assertEqual(error["Code"], "ValidationException")
        self.assertIn("'consumerName' failed to satisfy constraint: Member must "
                      "satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
                      error["Message"])

    def test_tags_on_a_consumer_arn(self):
        consumer = self.register("app", Tags={"team": "data"})
        arn = consumer["ConsumerARN"]
        tags = lambda: self.kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"]
        self.assertEqual(tags(), [{"Key": "team", "Value": "data"}])
        self.kinesis.tag_resource(ResourceARN=arn, Tags={"env": "dev"})
        self.kinesis.untag_resource(ResourceARN=arn, TagKeys=["team"])
        self.assertEqual(tags(), [{"Key": "env", "Value": "dev"}])
        # The stream's own tags are another set.
        self.assertEqual(self.kinesis.list_tags_for_stream(
            StreamName="s")["Tags"], [])
        self.assertError(self.kinesis.tag_resource, "InvalidArgumentException",
                         "Failed to add tags to consumer " + arn +
                         " because a given consumer cannot have more than 50 "
                         "tags associated with it.",
                         ResourceARN=arn,
                         Tags={f"k{i}": "v" for i in range(50)})
        self.kinesis.deregister_stream_consumer(ConsumerARN=arn)
        self.assertError(self.kinesis.list_tags_for_resource,
                         "ResourceNotFoundException",
                         f"Consumer {arn} under account {self.account} "
                         "not found.",
                         ResourceARN=arn)
        # A consumer registered again under the name starts without tags.
        again = self.register("app")
        self.assertEqual(self.kinesis.list_tags_for_resource(
            ResourceARN=again["ConsumerARN"])["Tags"], [])

    def test_delete_stream_needs_enforce_consumer_deletion(self):
        consumer = self.register("app")
        self.assertError(
            self.kinesis.delete_stream, "ResourceInUseException",
            f"DeleteStream can't delete {self.account}:s because there are "
            "consumers associated with this data stream. To delete s anyway, "
            "set the EnforceConsumerDeletion parameter to true to force the "
            "deletion of all the consumers that are associated with it.",
            StreamName="s")
        self.assertError(self.kinesis.delete_stream, "ResourceInUseException",
                         f"DeleteStream can't delete {self.account}:s because "
                         "there are consumers associated with this data "
                         "stream. To delete s anyway, set the "
                         "EnforceConsumerDeletion parameter to true to force "
                         "the deletion of all the consumers that are "
                         "associated with it.",
                         StreamName="s", EnforceConsumerDeletion=False)
        self.assertEqual(self.names(), ["app"])
        self.kinesis.delete_stream(StreamName="s", EnforceConsumerDeletion=True)
        self.assertError(self.kinesis.describe_stream_consumer,
                         "ResourceNotFoundException",
                         f"Consumer {consumer['ConsumerARN']} under account "
                         f"{self.account} not found.",
                         ConsumerARN=consumer["ConsumerARN"])
        # A new stream of the same name starts without consumers.
        self.kinesis.create_stream(StreamName="s", ShardCount=1)
        self.assertEqual(self.names(), [])
        self.assertEqual(self.kinesis.list_tags_for_resource(
            ResourceARN=self.stream_arn)["Tags"], [])

    def test_a_stream_without_consumers_deletes_without_enforcing(self):
        self.register("app")
        self.kinesis.deregister_stream_consumer(StreamARN=self.stream_arn,
                                                ConsumerName="app")
        self.kinesis.delete_stream(StreamName="s")
        self.assertEqual(self.kinesis.list_streams()["StreamNames"], [])

    def test_summary_counts_consumers(self):
        self.assertEqual(self.summary("s")["ConsumerCount"], 0)
        self.register("a")
        self.register("b")
        self.assertEqual(self.summary("s")["ConsumerCount"], 2)
        self.kinesis.deregister_stream_consumer(StreamARN=self.stream_arn,
                                                ConsumerName="a")
        self.assertEqual(self.summary("s")["ConsumerCount"], 1)


class ConsumerDelaysTest(AccountTest):
    """A consumer passes through CREATING and DELETING for the stream delays."""
    server_args = ("--create-stream-delay-ms", "200",
                   "--delete-stream-delay-ms", "200")

    def status(self, **kwargs):
        try:
            return self.kinesis.describe_stream_consumer(
                **kwargs)["ConsumerDescription"]["ConsumerStatus"]
        except self.kinesis.exceptions.ResourceNotFoundException:
            return "GONE"

    def test_creating_then_active_then_deleting_then_gone(self):
        self.kinesis.create_stream(StreamName="s", ShardCount=1)
        waiter = self.kinesis.get_waiter("stream_exists")
        waiter.wait(StreamName="s", WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        consumer = self.kinesis.register_stream_consumer(
            StreamARN=self.arn("s"), ConsumerName="app")["Consumer"]
        self.assertEqual(consumer["ConsumerStatus"], "CREATING")
        arn = consumer["ConsumerARN"]
        poll_until(lambda: self.status(ConsumerARN=arn) == "ACTIVE", 30,
                   "the consumer to become ACTIVE")

        self.kinesis.deregister_stream_consumer(ConsumerARN=arn)
        # Right after the call it is DELETING (or, on a slow machine, gone).
        self.assertIn(self.status(ConsumerARN=arn), ("DELETING", "GONE"))
        poll_until(lambda: self.status(ConsumerARN=arn) == "GONE", 30,
                   "the consumer to be gone")


class ConsumerRestartTest(unittest.TestCase):
    """Restarts with a data directory; hour-long delays keep consumers in
    CREATING or DELETING for as long as a test needs, whatever the machine's
    speed."""

    @classmethod
    def setUpClass(cls):
        clean_aws_environment(cls)

    def setUp(self):
        self.data_dir = tempfile.mkdtemp(prefix="sluice-e2e-consumers-")
        self.addCleanup(shutil.rmtree, self.data_dir, True)
        self.stream_arn = "arn:aws:kinesis:us-east-1:000000000000:stream/durable"

    def restart(self, *args):
        if getattr(self, "server", None):
            self.assertEqual(self.server.stop(), 0)
        self.server = start_server(self, "--data-dir", self.data_dir, *args,
                                   in_memory=False)
        self.kinesis = kinesis_client(self.server)

    def consumers(self):
        return {c["ConsumerName"]: c for c in self.kinesis.list_stream_consumers(
            StreamARN=self.stream_arn)["Consumers"]}

    def test_a_creating_stream_refuses_consumer_operations(self):
        self.restart("--create-stream-delay-ms", HOUR_MS)
        self.kinesis.create_stream(StreamName="young", ShardCount=1)
        young = "arn:aws:kinesis:us-east-1:000000000000:stream/young"
        not_active = ("Stream young under account 000000000000 not ACTIVE, "
                      "instead in state CREATING")
        for call, kwargs in [
                (self.kinesis.register_stream_consumer, {"ConsumerName": "app"}),
                (self.kinesis.list_stream_consumers, {})]:
            with self.assertRaises(
                    self.kinesis.exceptions.ResourceInUseException) as raised:
                call(StreamARN=young, **kwargs)
            self.assertEqual(raised.exception.response["Error"]["Message"],
                             not_active)

    def test_consumers_and_their_tags_survive_a_restart(self):
        self.restart()
        self.kinesis.create_stream(StreamName="durable", ShardCount=1)
        kept = self.kinesis.register_stream_consumer(
            StreamARN=self.stream_arn, ConsumerName="kept",
            Tags={"k": "v"})["Consumer"]
        self.restart()
        self.assertEqual(self.consumers(), {"kept": kept})
        self.assertEqual(self.kinesis.list_tags_for_resource(
            ResourceARN=kept["ConsumerARN"])["Tags"], [{"Key": "k", "Value": "v"}])
        self.assertEqual(self.kinesis.describe_stream_summary(
            StreamName="durable")["StreamDescriptionSummary"]["ConsumerCount"], 1)

    def test_a_restart_finishes_creating_and_deleting(self):
        self.restart()
        self.kinesis.create_stream(StreamName="durable", ShardCount=1)
        self.kinesis.register_stream_consumer(StreamARN=self.stream_arn,
                                              ConsumerName="leaving",
                                              Tags={"k": "v"})
        # The stream is ACTIVE already; new consumers stay CREATING for an hour.
        self.restart("--create-stream-delay-ms", HOUR_MS,
                     "--delete-stream-delay-ms", HOUR_MS)
        for i in range(5):
            consumer = self.kinesis.register_stream_consumer(
                StreamARN=self.stream_arn, ConsumerName=f"new{i}")["Consumer"]
            self.assertEqual(consumer["ConsumerStatus"], "CREATING")
        with self.assertRaises(self.kinesis.exceptions.LimitExceededException) as raised:
            self.kinesis.register_stream_consumer(StreamARN=self.stream_arn,
                                                  ConsumerName="sixth")
        self.assertEqual(raised.exception.response["Error"]["Message"],
                         "Stream durable under account 000000000000 already "
                         "has 5 consumers in CREATING status.")
        leaving = self.consumers()["leaving"]["ConsumerARN"]
        self.kinesis.deregister_stream_consumer(ConsumerARN=leaving)
        self.assertEqual(self.consumers()["leaving"]["ConsumerStatus"], "DELETING")
        self.assertEqual(self.kinesis.describe_stream_summary(
            StreamName="durable")["StreamDescriptionSummary"]["ConsumerCount"], 6)
        with self.assertRaises(self.kinesis.exceptions.ResourceInUseException):
            self.kinesis.register_stream_consumer(StreamARN=self.stream_arn,
                                                  ConsumerName="leaving")

        self.restart("--create-stream-delay-ms", HOUR_MS,
                     "--delete-stream-delay-ms", HOUR_MS)
        consumers = self.consumers()
        self.assertEqual(sorted(consumers), [f"new{i}" for i in range(5)])
        self.assertEqual({c["ConsumerStatus"] for c in consumers.values()},
                         {"ACTIVE"})
        # The deleted consumer's tags went with it.
        with self.assertRaises(self.kinesis.exceptions.ResourceNotFoundException):
            self.kinesis.list_tags_for_resource(ResourceARN=leaving)
        self.restart()
        self.kinesis.register_stream_consumer(StreamARN=self.stream_arn,
                                              ConsumerName="sixth")


if __name__ == "__main__":
    unittest.main()
