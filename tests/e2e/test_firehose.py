"""Firehose end to end, driven by boto3: every operation and its errors,
PutRecordBatch per-record results, and what lands in the archive: object keys
and contents checked byte for byte after a flush, GZIP, buffering by size,
prefixes that try to leave the bucket, exactly-once delivery across a
SIGKILL in the middle of delivery, and SluiceAdmin.ReadDeliveryStream."""

import gzip
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import unittest

import boto3
import botocore.config
from botocore.exceptions import ClientError

from sluice_process import poll_until, run_sluice, start_server, stop_cleanly

ACCOUNT = "000000000000"
ROLE = "arn:aws:iam::000000000000:role/firehose"
DEADLINE_S = 30
ADMIN_TARGET = "SluiceAdmin."
# <name>-<version>-yyyy-MM-dd-HH-mm-ss-<uuid><extension>
OBJECT_NAME = re.compile(
    r"^(?P<name>.+)-(?P<version>\d+)-(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})-"
    r"(?P<h>\d{2})-(?P<mi>\d{2})-(?P<s>\d{2})-"
    r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    r"(?P<ext>(\.[a-z]+)?)$")


def firehose_client(server, validate=True):
    config = botocore.config.Config(
        retries={"max_attempts": 1, "mode": "standard"},
        parameter_validation=validate)
    return boto3.client("firehose", endpoint_url=server.endpoint,
                        region_name="us-east-1", aws_access_key_id="x",
                        aws_secret_access_key="y", config=config)


def flush(server, name):
    """Sluice's admin call: delivers everything buffered; returns the
    objects written."""
    response, body = server.call("FlushDeliveryStream",
                                 json.dumps({"DeliveryStreamName": name}),
                                 api=ADMIN_TARGET)
    if response.status != 200:
        raise AssertionError(f"flush of {name} failed: {response.status} {body}")
    return body["Objects"]


def s3_config(bucket, **extra):
    config = {"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket}"}
    config.update(extra)
    return config


def files_under(root):
    """Every file below `root`, as paths relative to it."""
    found = []
    for directory, _, names in os.walk(root):
        for name in names:
            found.append(os.path.relpath(os.path.join(directory, name), root))
    return sorted(found)


class ErrorAssertions:
    def assertError(self, call, code, message=None, status=400, **kwargs):
        with self.assertRaises(ClientError) as caught:
            call(**kwargs)
        error = caught.exception.response["Error"]
        self.assertEqual(error["Code"], code, error)
        if message is not None:
            self.assertEqual(error["Message"], message)
        self.assertEqual(
            caught.exception.response["ResponseMetadata"]["HTTPStatusCode"],
            status)
        return error["Message"]


class FirehoseApiTest(ErrorAssertions, unittest.TestCase):
    """One in-memory server for the class; each test uses its own names."""

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="sluice-firehose-")
        cls.addClassCleanup(shutil.rmtree, cls.workdir, True)
        cls.archive = os.path.join(cls.workdir, "archive")
        cls.server = start_server(cls, "--archive-root", cls.archive)
        cls.firehose = firehose_client(cls.server)
        cls.raw = firehose_client(cls.server, validate=False)

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.server)

    def create(self, name, bucket=None, **config):
        self.firehose.create_delivery_stream(
            DeliveryStreamName=name,
            ExtendedS3DestinationConfiguration=s3_config(bucket or name,
                                                         **config))

    def read_object(self, bucket, key):
        with open(os.path.join(self.archive, bucket, key), "rb") as f:
            return f.read()

    # --- control plane --------------------------------------------------------

    def test_create_describe_list_delete(self):
        arn = self.firehose.create_delivery_stream(
            DeliveryStreamName="lifecycle",
            ExtendedS3DestinationConfiguration=s3_config("lifecycle-bucket"),
        )["DeliveryStreamARN"]
        self.assertEqual(
            arn, f"arn:aws:firehose:us-east-1:{ACCOUNT}:deliverystream/lifecycle")
        description = self.firehose.describe_delivery_stream(
            DeliveryStreamName="lifecycle")["DeliveryStreamDescription"]
        self.assertEqual(description["DeliveryStreamName"], "lifecycle")
        self.assertEqual(description["DeliveryStreamARN"], arn)
        self.assertEqual(description["DeliveryStreamStatus"], "ACTIVE")
        self.assertEqual(description["DeliveryStreamType"], "DirectPut")
        self.assertEqual(description["VersionId"], "1")
        self.assertEqual(description["DeliveryStreamEncryptionConfiguration"],
                         {"Status": "DISABLED"})
        self.assertFalse(description["HasMoreDestinations"])
        [destination] = description["Destinations"]
        self.assertEqual(destination["DestinationId"],
                         "destinationId-000000000001")
        extended = destination["ExtendedS3DestinationDescription"]
        self.assertEqual(extended["BucketARN"], "arn:aws:s3:::lifecycle-bucket")
        self.assertEqual(extended["RoleARN"], ROLE)
        self.assertEqual(extended["BufferingHints"],
                         {"SizeInMBs": 5, "IntervalInSeconds": 300})
        self.assertEqual(extended["CompressionFormat"], "UNCOMPRESSED")
        self.assertEqual(extended["EncryptionConfiguration"],
                         {"NoEncryptionConfig": "NoEncryption"})
        self.assertEqual(extended["S3BackupMode"], "Disabled")
        self.assertNotIn("Prefix", extended)
        self.assertEqual(destination["S3DestinationDescription"]["BucketARN"],
                         "arn:aws:s3:::lifecycle-bucket")
        self.assertIn("lifecycle", self.firehose.list_delivery_streams(
            Limit=10000)["DeliveryStreamNames"])

        self.firehose.delete_delivery_stream(DeliveryStreamName="lifecycle")
        message = f"Firehose lifecycle under account {ACCOUNT} not found."
        self.assertError(self.firehose.describe_delivery_stream,
                         "ResourceNotFoundException", message,
                         DeliveryStreamName="lifecycle")
        self.assertError(self.firehose.delete_delivery_stream,
                         "ResourceNotFoundException", message,
                         DeliveryStreamName="lifecycle")
        self.assertNotIn("lifecycle", self.firehose.list_delivery_streams(
            Limit=10000)["DeliveryStreamNames"])

    def test_name_in_use(self):
        self.create("twice")
        self.assertError(
            self.firehose.create_delivery_stream, "ResourceInUseException",
            f"Firehose twice under accountId {ACCOUNT} already exists",
            DeliveryStreamName="twice",
            ExtendedS3DestinationConfiguration=s3_config("twice"))

    def test_list_pages_in_name_order(self):
        for name in ["page-c", "page-a", "page-b"]:
            self.create(name)
        first = self.firehose.list_delivery_streams(
            Limit=2, ExclusiveStartDeliveryStreamName="page-")
        self.assertEqual(first["DeliveryStreamNames"], ["page-a", "page-b"])
        self.assertTrue(first["HasMoreDeliveryStreams"])
        rest = self.firehose.list_delivery_streams(
            Limit=10000, ExclusiveStartDeliveryStreamName="page-b")
        self.assertEqual(rest["DeliveryStreamNames"][0], "page-c")
        self.assertEqual(self.firehose.list_delivery_streams(
            DeliveryStreamType="KinesisStreamAsSource")["DeliveryStreamNames"],
            [])
        self.assertIn("page-a", self.firehose.list_delivery_streams(
            DeliveryStreamType="DirectPut", Limit=10000)["DeliveryStreamNames"])

    def test_model_validation(self):
        message = self.assertError(
            self.raw.create_delivery_stream, "ValidationException",
            DeliveryStreamName="bad name",
            ExtendedS3DestinationConfiguration=s3_config("b"))
        self.assertIn("deliveryStreamName", message)
        self.assertError(self.raw.list_delivery_streams, "ValidationException",
                         Limit=0)

    def test_creation_refusals_name_the_field(self):
        cases = [
            ({}, "Exactly one destination configuration must be specified."),
            ({"ExtendedS3DestinationConfiguration": s3_config("x"),
              "S3DestinationConfiguration": s3_config("x")},
             "Exactly one destination configuration must be specified."),
            ({"RedshiftDestinationConfiguration": {
                "RoleARN": ROLE,
                "ClusterJDBCURL": "jdbc:redshift://c.abc.us-east-1.redshift."
                                  "amazonaws.com:5439/db",
                "CopyCommand": {"DataTableName": "t"},
                "S3Configuration": s3_config("x")}},
             "Sluice does not deliver to Redshift destinations; use "
             "ExtendedS3DestinationConfiguration, which writes to the local "
             "archive."),
            ({"ExtendedS3DestinationConfiguration": s3_config(
                "x", DataFormatConversionConfiguration={"Enabled": True})},
             "DataFormatConversionConfiguration (Parquet/ORC conversion) is "
             "not supported by Sluice yet."),
            ({"ExtendedS3DestinationConfiguration": s3_config(
                "x", ProcessingConfiguration={"Enabled": True, "Processors": [
                    {"Type": "RecordDeAggregation", "Parameters": [
                        {"ParameterName": "SubRecordType",
                         "ParameterValue": "JSON"}]}]})},
             "ProcessingConfiguration processor type RecordDeAggregation is "
             "not supported by Sluice yet; only Lambda and "
             "AppendDelimiterToRecord are."),
            ({"DeliveryStreamType": "MSKAsSource",
              "ExtendedS3DestinationConfiguration": s3_config("x")},
             "DeliveryStreamType MSKAsSource is not supported by Sluice yet; "
             "only DirectPut and KinesisStreamAsSource are."),
        ]
        for extra, message in cases:
            with self.subTest(message=message):
                self.assertError(self.firehose.create_delivery_stream,
                                 "InvalidArgumentException", message,
                                 DeliveryStreamName="refused", **extra)
        self.assertNotIn("refused", self.firehose.list_delivery_streams(
            Limit=10000)["DeliveryStreamNames"])

    def test_prefix_rules(self):
        cases = [
            ({"Prefix": "a/!{timestamp:yyyy}/"},
             "ErrorOutputPrefix must be specified when Prefix contains "
             "expressions."),
            ({"Prefix": "a/!{timestamp:yyyy}/", "ErrorOutputPrefix": "e/!{timestamp:yyyy}/"},
             "ErrorOutputPrefix must contain the expression "
             "!{firehose:error-output-type} when it contains expressions."),
            ({"Prefix": "a/!{firehose:error-output-type}/",
              "ErrorOutputPrefix": "e/!{firehose:error-output-type}/"},
             "Prefix cannot contain the expression "
             "!{firehose:error-output-type}; only ErrorOutputPrefix may."),
            ({"Prefix": "a/!{timestamp:yyyy/"},
             "Prefix 'a/!{timestamp:yyyy/' is invalid: '!{' at position 2 "
             "does not open an expression of the form !{namespace:value}."),
            ({"Prefix": "a/!{nope:x}/", "ErrorOutputPrefix": "e/"},
             "Prefix 'a/!{nope:x}/' is invalid: unknown namespace 'nope'; "
             "expressions use the namespaces timestamp and firehose."),
            ({"Prefix": "a/!{timestamp:yyyy-QQ}/",
              "ErrorOutputPrefix": "e/!{firehose:error-output-type}"},
             "Prefix 'a/!{timestamp:yyyy-QQ}/' is invalid: timestamp pattern "
             "'yyyy-QQ' uses the pattern letter 'Q', which Sluice does not "
             "support."),
        ]
        for config, message in cases:
            with self.subTest(config=config):
                self.assertError(
                    self.firehose.create_delivery_stream,
                    "InvalidArgumentException", message,
                    DeliveryStreamName="prefixes",
                    ExtendedS3DestinationConfiguration=s3_config("p", **config))

    # --- data plane -----------------------------------------------------------

    def test_put_record_batch_answers_each_record(self):
        self.create("batch")
        single = self.firehose.put_record(DeliveryStreamName="batch",
                                          Record={"Data": b"one"})
        self.assertIs(single["Encrypted"], False)
        batch = self.firehose.put_record_batch(
            DeliveryStreamName="batch",
            Records=[{"Data": f"r{i}".encode()} for i in range(500)])
        self.assertEqual(batch["FailedPutCount"], 0)
        self.assertIs(batch["Encrypted"], False)
        ids = [entry["RecordId"] for entry in batch["RequestResponses"]]
        self.assertEqual(len(ids), 500)
        self.assertEqual(len(set(ids + [single["RecordId"]])), 501)
        [obj] = flush(self.server, "batch")
        self.assertEqual(obj["Records"], 501)
        self.assertEqual(self.read_object("batch", obj["Key"]),
                         b"one" + b"".join(f"r{i}".encode() for i in range(500)))

    def test_put_to_missing_stream(self):
        message = f"Firehose ghost under account {ACCOUNT} not found."
        self.assertError(self.firehose.put_record, "ResourceNotFoundException",
                         message, DeliveryStreamName="ghost",
                         Record={"Data": b"x"})
        self.assertError(self.firehose.put_record_batch,
                         "ResourceNotFoundException", message,
                         DeliveryStreamName="ghost", Records=[{"Data": b"x"}])
        response, body = self.server.call(
            "FlushDeliveryStream", json.dumps({"DeliveryStreamName": "ghost"}),
            api=ADMIN_TARGET)
        self.assertEqual(response.status, 400)
        self.assertEqual(body["__type"], "ResourceNotFoundException")

    def test_record_and_batch_size_limits(self):
        self.create("limits")
        self.firehose.put_record(DeliveryStreamName="limits",
                                 Record={"Data": b"x" * 1_024_000})
        message = self.assertError(self.raw.put_record, "ValidationException",
                                   DeliveryStreamName="limits",
                                   Record={"Data": b"x" * 1_024_001})
        self.assertIn("1024000", message)
        self.assertError(self.raw.put_record_batch, "ValidationException",
                         DeliveryStreamName="limits",
                         Records=[{"Data": b"x"}] * 501)
        self.assertError(
            self.firehose.put_record_batch, "InvalidArgumentException",
            "Records size exceeds the 4 MiB limit of PutRecordBatch: "
            "5000000 bytes.",
            DeliveryStreamName="limits",
            Records=[{"Data": b"y" * 1_000_000}] * 5)
        [obj] = flush(self.server, "limits")
        self.assertEqual(obj["Records"], 1)  # nothing of the refused ones

    def test_flush_writes_aws_keys_and_exact_contents(self):
        self.create("keys", Prefix="logs/")
        records = [b"first", b"\x00\xffbinary", b"{\"a\": 1}\n"]
        for data in records:
            self.firehose.put_record(DeliveryStreamName="keys",
                                     Record={"Data": data})
        [obj] = flush(self.server, "keys")
        self.assertEqual(obj["Bucket"], "keys")
        directory, name = obj["Key"].rsplit("/", 1)
        match = OBJECT_NAME.match(name)
        self.assertIsNotNone(match, name)
        self.assertEqual(match["name"], "keys")
        self.assertEqual(match["version"], "1")
        self.assertEqual(match["ext"], "")
        # The default yyyy/MM/dd/HH/ prefix, after the literal one, from the
        # same instant as the name.
        self.assertEqual(directory, "logs/{y}/{mo}/{d}/{h}".format(**match.groupdict()))
        self.assertEqual(self.read_object("keys", obj["Key"]), b"".join(records))
        self.assertEqual(files_under(os.path.join(self.archive, "keys")),
                         [obj["Key"]])
        self.assertEqual(flush(self.server, "keys"), [])  # nothing left

    def test_gzip_objects_are_readable_by_zcat(self):
        self.create("zipped", CompressionFormat="GZIP")
        payload = [f"line {i}\n".encode() for i in range(500)]
        self.firehose.put_record_batch(
            DeliveryStreamName="zipped",
            Records=[{"Data": data} for data in payload])
        [obj] = flush(self.server, "zipped")
        self.assertTrue(obj["Key"].endswith(".gz"), obj["Key"])
        path = os.path.join(self.archive, "zipped", obj["Key"])
        with open(path, "rb") as f:
            self.assertEqual(gzip.decompress(f.read()), b"".join(payload))
        zcat = subprocess.run(["zcat", path], capture_output=True, timeout=30)
        self.assertEqual(zcat.returncode, 0, zcat.stderr)
        self.assertEqual(zcat.stdout, b"".join(payload))

    def test_hive_prefix_random_string_and_extension(self):
        self.create("hive",
                    Prefix="events/year=!{timestamp:yyyy}/month=!{timestamp:MM}/"
                           "day=!{timestamp:dd}/!{firehose:random-string}/",
                    ErrorOutputPrefix="errors/!{firehose:error-output-type}/",
                    FileExtension=".json")
        self.firehose.put_record(DeliveryStreamName="hive",
                                 Record={"Data": b"{}"})
        [obj] = flush(self.server, "hive")
        parts = obj["Key"].split("/")
        self.assertEqual(parts[0], "events")
        match = OBJECT_NAME.match(parts[-1])
        self.assertIsNotNone(match, obj["Key"])
        self.assertEqual(parts[1:4], [f"year={match['y']}", f"month={match['mo']}",
                                      f"day={match['d']}"])
        self.assertRegex(parts[4], r"^[A-Za-z0-9]{11}$")
        self.assertEqual(len(parts), 6)  # no default timestamp appended
        self.assertEqual(match["ext"], ".json")

    def test_prefixes_never_leave_the_bucket(self):
        for name, prefix in [("escape-dots", "../../../outside/"),
                             ("escape-abs", "/etc/"),
                             ("escape-mixed", "a/./b//../c/")]:
            with self.subTest(prefix=prefix):
                self.create(name, bucket="jail", Prefix=prefix)
                self.firehose.put_record(DeliveryStreamName=name,
                                         Record={"Data": prefix.encode()})
                [obj] = flush(self.server, name)
                self.assertTrue(obj["Key"].startswith(prefix), obj["Key"])
        # Nothing appeared beside the archive or beside the bucket, and the
        # bucket's directory holds all three objects.
        self.assertEqual(sorted(os.listdir(self.workdir)), ["archive"])
        self.assertFalse({"outside", "etc", "c", "%2F", "%2E%2E"}
                         & set(os.listdir(self.archive)))
        contents = set()
        for relative in files_under(os.path.join(self.archive, "jail")):
            with open(os.path.join(self.archive, "jail", relative), "rb") as f:
                contents.add(f.read())
        self.assertEqual(contents, {b"../../../outside/", b"/etc/",
                                    b"a/./b//../c/"})

    def test_append_delimiter_processor(self):
        self.create("lines", ProcessingConfiguration={
            "Enabled": True,
            "Processors": [{"Type": "AppendDelimiterToRecord"}]})
        self.firehose.put_record_batch(
            DeliveryStreamName="lines",
            Records=[{"Data": b"a"}, {"Data": b"b"}])
        [obj] = flush(self.server, "lines")
        self.assertEqual(self.read_object("lines", obj["Key"]), b"a\nb\n")

    def test_size_hint_delivers_without_a_flush(self):
        self.create("by-size", BufferingHints={"SizeInMBs": 1,
                                               "IntervalInSeconds": 900})
        chunk = b"z" * (600 * 1024)
        self.firehose.put_record(DeliveryStreamName="by-size",
                                 Record={"Data": chunk})
        self.firehose.put_record(DeliveryStreamName="by-size",
                                 Record={"Data": chunk})
        bucket = os.path.join(self.archive, "by-size")
        [key] = poll_until(
            lambda: [f for f in files_under(bucket) if "sluice-tmp" not in f]
            if os.path.isdir(bucket) else [],
            DEADLINE_S, "an object once 1 MiB was buffered")
        self.assertEqual(self.read_object("by-size", key), chunk + chunk)

    def test_interval_hint_delivers_without_a_flush(self):
        self.create("by-time", BufferingHints={"SizeInMBs": 128,
                                               "IntervalInSeconds": 0})
        self.firehose.put_record(DeliveryStreamName="by-time",
                                 Record={"Data": b"soon"})
        bucket = os.path.join(self.archive, "by-time")
        [key] = poll_until(
            lambda: [f for f in files_under(bucket) if "sluice-tmp" not in f]
            if os.path.isdir(bucket) else [],
            DEADLINE_S, "an object once the interval passed")
        self.assertEqual(self.read_object("by-time", key), b"soon")

    def test_update_destination(self):
        self.create("updated", Prefix="v1/")
        self.assertError(
            self.firehose.update_destination, "ConcurrentModificationException",
            f"Cannot update Firehose updated under account {ACCOUNT}: "
            "CurrentDeliveryStreamVersionId 7 does not match the current "
            "version 1.",
            DeliveryStreamName="updated", CurrentDeliveryStreamVersionId="7",
            DestinationId="destinationId-000000000001",
            ExtendedS3DestinationUpdate={"Prefix": "v2/"})
        self.assertError(
            self.firehose.update_destination, "InvalidArgumentException",
            f"Destination destinationId-000000000002 not found in Firehose "
            f"updated under account {ACCOUNT}.",
            DeliveryStreamName="updated", CurrentDeliveryStreamVersionId="1",
            DestinationId="destinationId-000000000002",
            ExtendedS3DestinationUpdate={"Prefix": "v2/"})
        self.assertError(
            self.firehose.update_destination, "InvalidArgumentException",
            "DataFormatConversionConfiguration (Parquet/ORC conversion) is "
            "not supported by Sluice yet.",
            DeliveryStreamName="updated", CurrentDeliveryStreamVersionId="1",
            DestinationId="destinationId-000000000001",
            ExtendedS3DestinationUpdate={
                "DataFormatConversionConfiguration": {"Enabled": True}})
        self.firehose.update_destination(
            DeliveryStreamName="updated", CurrentDeliveryStreamVersionId="1",
            DestinationId="destinationId-000000000001",
            ExtendedS3DestinationUpdate={"Prefix": "v2/",
                                         "CompressionFormat": "GZIP",
                                         "BufferingHints": {"SizeInMBs": 64}})
        description = self.firehose.describe_delivery_stream(
            DeliveryStreamName="updated")["DeliveryStreamDescription"]
        self.assertEqual(description["VersionId"], "2")
        self.assertIn("LastUpdateTimestamp", description)
        extended = description["Destinations"][0]["ExtendedS3DestinationDescription"]
        self.assertEqual(extended["Prefix"], "v2/")
        self.assertEqual(extended["CompressionFormat"], "GZIP")
        # BufferingHints merge member by member.
        self.assertEqual(extended["BufferingHints"],
                         {"SizeInMBs": 64, "IntervalInSeconds": 300})
        self.firehose.put_record(DeliveryStreamName="updated",
                                 Record={"Data": b"after"})
        [obj] = flush(self.server, "updated")
        self.assertTrue(obj["Key"].startswith("v2/"))
        match = OBJECT_NAME.match(obj["Key"].rsplit("/", 1)[1])
        self.assertEqual(match["version"], "2")
        self.assertEqual(match["ext"], ".gz")

    def test_encryption(self):
        self.create("secret")
        self.firehose.start_delivery_stream_encryption(
            DeliveryStreamName="secret",
            DeliveryStreamEncryptionConfigurationInput={"KeyType": "AWS_OWNED_CMK"})
        description = self.firehose.describe_delivery_stream(
            DeliveryStreamName="secret")["DeliveryStreamDescription"]
        self.assertEqual(description["DeliveryStreamEncryptionConfiguration"],
                         {"Status": "ENABLED", "KeyType": "AWS_OWNED_CMK"})
        self.assertIs(self.firehose.put_record(
            DeliveryStreamName="secret", Record={"Data": b"x"})["Encrypted"], True)
        self.assertError(
            self.firehose.start_delivery_stream_encryption,
            "InvalidArgumentException",
            "KeyARN is required when KeyType is CUSTOMER_MANAGED_CMK.",
            DeliveryStreamName="secret",
            DeliveryStreamEncryptionConfigurationInput={
                "KeyType": "CUSTOMER_MANAGED_CMK"})
        self.firehose.stop_delivery_stream_encryption(DeliveryStreamName="secret")
        description = self.firehose.describe_delivery_stream(
            DeliveryStreamName="secret")["DeliveryStreamDescription"]
        self.assertEqual(description["DeliveryStreamEncryptionConfiguration"],
                         {"Status": "DISABLED"})

    def test_tags(self):
        self.firehose.create_delivery_stream(
            DeliveryStreamName="tagged",
            ExtendedS3DestinationConfiguration=s3_config("tagged"),
            Tags=[{"Key": "b", "Value": "2"}])
        self.firehose.tag_delivery_stream(
            DeliveryStreamName="tagged",
            Tags=[{"Key": "a", "Value": "1"}, {"Key": "c", "Value": "3"}])
        page = self.firehose.list_tags_for_delivery_stream(
            DeliveryStreamName="tagged", Limit=2)
        self.assertEqual(page["Tags"], [{"Key": "a", "Value": "1"},
                                        {"Key": "b", "Value": "2"}])
        self.assertTrue(page["HasMoreTags"])
        page = self.firehose.list_tags_for_delivery_stream(
            DeliveryStreamName="tagged", ExclusiveStartTagKey="b")
        self.assertEqual(page["Tags"], [{"Key": "c", "Value": "3"}])
        self.assertFalse(page["HasMoreTags"])
        self.firehose.untag_delivery_stream(DeliveryStreamName="tagged",
                                            TagKeys=["a", "nope"])
        self.assertEqual(self.firehose.list_tags_for_delivery_stream(
            DeliveryStreamName="tagged")["Tags"],
            [{"Key": "b", "Value": "2"}, {"Key": "c", "Value": "3"}])
        self.firehose.tag_delivery_stream(
            DeliveryStreamName="tagged",
            Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(48)])
        self.assertError(
            self.firehose.tag_delivery_stream, "LimitExceededException",
            f"Tagging Firehose tagged under account {ACCOUNT} would give it 51 "
            "tags; a delivery stream can have at most 50.",
            DeliveryStreamName="tagged", Tags=[{"Key": "one-more", "Value": "v"}])
        self.assertError(self.raw.tag_delivery_stream, "ValidationException",
                         DeliveryStreamName="tagged",
                         Tags=[{"Key": "aws:owner", "Value": "me"}])
        self.assertError(self.firehose.list_tags_for_delivery_stream,
                         "ResourceNotFoundException",
                         f"Firehose ghost under account {ACCOUNT} not found.",
                         DeliveryStreamName="ghost")
        # Deleting the stream drops its tags: a new incarnation has none.
        self.firehose.delete_delivery_stream(DeliveryStreamName="tagged")
        self.create("tagged")
        self.assertEqual(self.firehose.list_tags_for_delivery_stream(
            DeliveryStreamName="tagged")["Tags"], [])


def kinesis_client(server):
    config = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"})
    return boto3.client("kinesis", endpoint_url=server.endpoint,
                        region_name="us-east-1", aws_access_key_id="x",
                        aws_secret_access_key="y", config=config)


def lines_of(archive, bucket, objects):
    """The newline-separated records of `objects`, in object order."""
    lines = []
    for obj in objects:
        with open(os.path.join(archive, bucket, obj["Key"]), "rb") as f:
            lines += f.read().decode().splitlines()
    return lines


def kpl_aggregate(records):
    """A KPL aggregated record of (partition key, data) pairs, encoded here
    from the .proto in aws-behaviour.md section 5, independently of the
    server's codec: magic, AggregatedRecord, MD5 of the protobuf bytes."""
    def varint(n):
        out = bytearray()
        while n >= 0x80:
            out.append((n & 0x7F) | 0x80)
            n >>= 7
        out.append(n)
        return bytes(out)

    def field(number, payload):  # length-delimited
        return varint(number << 3 | 2) + varint(len(payload)) + payload

    keys = list(dict.fromkeys(key for key, _ in records))
    message = b"".join(field(1, key.encode()) for key in keys)
    for key, data in records:
        inner = varint(1 << 3) + varint(keys.index(key)) + field(3, data)
        message += field(3, inner)
    return b"\xf3\x89\x9a\xc2" + message + hashlib.md5(message).digest()


class FirehoseKinesisSourceTest(ErrorAssertions, unittest.TestCase):
    """KinesisStreamAsSource: the delivery stream reads a Kinesis stream."""

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="sluice-firehose-")
        self.addCleanup(shutil.rmtree, self.workdir, True)
        self.data = os.path.join(self.workdir, "data")
        self.archive = os.path.join(self.data, "archive")

    def start(self):
        server = start_server(self, "--data-dir", self.data, in_memory=False)
        return server, kinesis_client(server), firehose_client(server)

    def create(self, firehose, name, stream):
        return firehose.create_delivery_stream(
            DeliveryStreamName=name, DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration={
                "KinesisStreamARN":
                    f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{stream}",
                "RoleARN": ROLE},
            ExtendedS3DestinationConfiguration=s3_config(
                name, ProcessingConfiguration={"Enabled": True, "Processors": [
                    {"Type": "AppendDelimiterToRecord"}]}))

    def test_reads_every_shard_from_trim_horizon_and_refuses_puts(self):
        server, kinesis, firehose = self.start()
        kinesis.create_stream(StreamName="source", ShardCount=2)
        before = [f"before-{i}" for i in range(20)]
        for i, data in enumerate(before):
            kinesis.put_record(StreamName="source", Data=data.encode(),
                               PartitionKey=f"key-{i}")
        self.create(firehose, "from-kinesis", "source")
        description = firehose.describe_delivery_stream(
            DeliveryStreamName="from-kinesis")["DeliveryStreamDescription"]
        self.assertEqual(description["DeliveryStreamType"], "KinesisStreamAsSource")
        source = description["Source"]["KinesisStreamSourceDescription"]
        self.assertEqual(source["KinesisStreamARN"],
                         f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/source")
        self.assertEqual(source["RoleARN"], ROLE)
        self.assertIn("DeliveryStartTimestamp", source)
        message = ("This operation is not permitted on KinesisStreamAsSource "
                   "delivery stream type.")
        self.assertError(firehose.put_record, "InvalidArgumentException", message,
                         DeliveryStreamName="from-kinesis", Record={"Data": b"x"})
        self.assertError(firehose.put_record_batch, "InvalidArgumentException",
                         message, DeliveryStreamName="from-kinesis",
                         Records=[{"Data": b"x"}])

        # A split: the parent is read to its end before its children.
        shard = kinesis.list_shards(StreamName="source")["Shards"][0]
        low = int(shard["HashKeyRange"]["StartingHashKey"])
        high = int(shard["HashKeyRange"]["EndingHashKey"])
        kinesis.split_shard(StreamName="source", ShardToSplit=shard["ShardId"],
                            NewStartingHashKey=str((low + high) // 2))
        poll_until(lambda: kinesis.describe_stream_summary(StreamName="source")[
            "StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE",
            DEADLINE_S, "the split to finish")
        after = [f"after-{i}" for i in range(20)]
        for i, data in enumerate(after):
            kinesis.put_record(StreamName="source", Data=data.encode(),
                               PartitionKey=f"key-{i}")
        lines = lines_of(self.archive, "from-kinesis",
                         flush(server, "from-kinesis"))
        self.assertEqual(sorted(lines), sorted(before + after))
        for i in range(20):  # same key, so same hash: parent, then child
            self.assertLess(lines.index(f"before-{i}"), lines.index(f"after-{i}"))
        self.assertEqual(flush(server, "from-kinesis"), [])

        # A restart resumes from the delivery stream's own checkpoints.
        self.assertEqual(server.stop(), 0)
        server, kinesis, firehose = self.start()
        kinesis.put_record(StreamName="source", Data=b"later", PartitionKey="k")
        self.assertEqual(lines_of(self.archive, "from-kinesis",
                                  flush(server, "from-kinesis")), ["later"])
        self.assertEqual(server.stop(), 0)

    def test_kpl_aggregated_records_are_delivered_as_their_user_records(self):
        server, kinesis, firehose = self.start()
        kinesis.create_stream(StreamName="kpl-source", ShardCount=1)
        aggregate = kpl_aggregate([("user-1", b"first"), ("user-2", b"second"),
                                   ("user-1", b"third")])
        kinesis.put_record(StreamName="kpl-source", Data=aggregate,
                           PartitionKey="kpl")
        kinesis.put_record(StreamName="kpl-source", Data=b"plain", PartitionKey="p")
        # Looks aggregated, but its digest is wrong: an ordinary record.
        broken = aggregate[:-1] + bytes([aggregate[-1] ^ 1])
        kinesis.put_record(StreamName="kpl-source", Data=broken, PartitionKey="b")
        self.create(firehose, "from-kpl", "kpl-source")
        [written] = flush(server, "from-kpl")
        self.assertEqual(written["Records"], 5)
        with open(os.path.join(self.archive, "from-kpl", written["Key"]), "rb") as f:
            self.assertEqual(f.read(), b"first\nsecond\nthird\nplain\n" + broken + b"\n")
        self.assertEqual(server.stop(), 0)

    def test_a_new_incarnation_reads_from_trim_horizon_again(self):
        server, kinesis, firehose = self.start()
        kinesis.create_stream(StreamName="again", ShardCount=1)
        kinesis.put_record(StreamName="again", Data=b"one", PartitionKey="k")
        self.create(firehose, "reader", "again")
        self.assertEqual(lines_of(self.archive, "reader",
                                  flush(server, "reader")), ["one"])
        firehose.delete_delivery_stream(DeliveryStreamName="reader")
        shutil.rmtree(os.path.join(self.archive, "reader"))
        self.create(firehose, "reader", "again")
        self.assertEqual(lines_of(self.archive, "reader",
                                  flush(server, "reader")), ["one"])
        self.assertEqual(server.stop(), 0)

    def test_unknown_source_stream_is_refused(self):
        server, _, firehose = self.start()
        self.assertError(
            firehose.create_delivery_stream, "InvalidArgumentException",
            f"Kinesis stream arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/nope "
            "does not exist or is not accessible.",
            DeliveryStreamName="orphan", DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration={
                "KinesisStreamARN": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/nope",
                "RoleARN": ROLE},
            ExtendedS3DestinationConfiguration=s3_config("orphan"))
        self.assertError(
            firehose.create_delivery_stream, "InvalidArgumentException",
            "KinesisStreamSourceConfiguration is required when "
            "DeliveryStreamType is KinesisStreamAsSource.",
            DeliveryStreamName="orphan", DeliveryStreamType="KinesisStreamAsSource",
            ExtendedS3DestinationConfiguration=s3_config("orphan"))
        self.assertEqual(server.stop(), 0)


class FirehoseStateDelayTest(ErrorAssertions, unittest.TestCase):
    """CREATING and DELETING last as long as the delay flags say."""

    def test_creating_then_active_and_deleting_then_gone(self):
        # Long enough that the checks made while CREATING and DELETING
        # happen inside the window even on a slow machine.
        server = start_server(self, "--create-delivery-stream-delay-ms", "2000",
                              "--delete-delivery-stream-delay-ms", "2000")
        firehose = firehose_client(server)
        firehose.create_delivery_stream(
            DeliveryStreamName="slow",
            ExtendedS3DestinationConfiguration=s3_config("slow"))
        status = lambda: firehose.describe_delivery_stream(  # noqa: E731
            DeliveryStreamName="slow")["DeliveryStreamDescription"][
                "DeliveryStreamStatus"]
        self.assertEqual(status(), "CREATING")
        message = f"Firehose slow under account {ACCOUNT} not found."
        self.assertError(firehose.put_record, "ResourceNotFoundException",
                         message, DeliveryStreamName="slow",
                         Record={"Data": b"x"})
        self.assertError(firehose.delete_delivery_stream, "ResourceInUseException",
                         f"Firehose slow under account {ACCOUNT} is in CREATING "
                         "state, cannot be deleted.", DeliveryStreamName="slow")
        poll_until(lambda: status() == "ACTIVE", DEADLINE_S, "ACTIVE")
        firehose.put_record(DeliveryStreamName="slow", Record={"Data": b"x"})

        firehose.delete_delivery_stream(DeliveryStreamName="slow")
        self.assertEqual(status(), "DELETING")
        poll_until(lambda: "slow" not in firehose.list_delivery_streams()[
            "DeliveryStreamNames"], DEADLINE_S, "the delivery stream to go")
        self.assertError(firehose.describe_delivery_stream,
                         "ResourceNotFoundException", message,
                         DeliveryStreamName="slow")
        stop_cleanly(server)


class FirehoseQuotaTest(ErrorAssertions, unittest.TestCase):
    """With --enforce-limits, the Direct PUT quota fails records one by one,
    and only the stored ones arrive. The config file sets the byte rate to
    100,000/s, so one request decides it whatever the machine's speed."""

    def test_over_quota_records_fail_alone_and_the_rest_are_delivered(self):
        workdir = tempfile.mkdtemp(prefix="sluice-firehose-")
        self.addCleanup(shutil.rmtree, workdir, True)
        archive = os.path.join(workdir, "archive")
        config = os.path.join(workdir, "sluice.json")
        with open(config, "w") as f:
            json.dump({"firehose": {"direct_put_bytes_per_second": 100000}}, f)
        server = start_server(self, "--config", config, "--enforce-limits",
                              "--archive-root", archive)
        firehose = firehose_client(server)
        firehose.create_delivery_stream(
            DeliveryStreamName="quota",
            ExtendedS3DestinationConfiguration=s3_config("quota"))
        # 500 x 1,000 bytes against a bucket of 100,000: the first 100 fit.
        records = [f"{i:03d}-".encode().ljust(1000, b"q") for i in range(500)]
        answer = firehose.put_record_batch(
            DeliveryStreamName="quota",
            Records=[{"Data": data} for data in records])
        self.assertEqual(answer["FailedPutCount"], 400)
        responses = answer["RequestResponses"]
        self.assertEqual(len(responses), 500)
        for entry in responses[:100]:
            self.assertEqual(set(entry), {"RecordId"})
        for entry in responses[100:]:
            self.assertEqual(entry, {"ErrorCode": "ServiceUnavailableException",
                                     "ErrorMessage": "Slow down."})
        # A record larger than a second's worth never fits: 503, whole.
        self.assertError(firehose.put_record, "ServiceUnavailableException",
                         "Slow down.", status=503, DeliveryStreamName="quota",
                         Record={"Data": b"p" * 100001})
        [obj] = flush(server, "quota")
        with open(os.path.join(archive, "quota", obj["Key"]), "rb") as f:
            self.assertEqual(f.read(), b"".join(records[:100]))
        stop_cleanly(server)


class FirehoseDurabilityTest(unittest.TestCase):
    """Servers with a data directory, stopped and killed."""

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="sluice-firehose-")
        self.addCleanup(shutil.rmtree, self.workdir, True)
        self.data = os.path.join(self.workdir, "data")

    def start(self):
        return start_server(self, "--data-dir", self.data, in_memory=False)

    def archive_files(self, bucket):
        root = os.path.join(self.data, "archive", bucket)
        return files_under(root) if os.path.isdir(root) else []

    def test_buffered_records_survive_a_restart(self):
        server = self.start()
        firehose = firehose_client(server)
        firehose.create_delivery_stream(
            DeliveryStreamName="kept",
            ExtendedS3DestinationConfiguration=s3_config("kept"))
        firehose.put_record(DeliveryStreamName="kept", Record={"Data": b"one"})
        self.assertEqual(server.stop(), 0)
        self.assertEqual(self.archive_files("kept"), [])

        server = self.start()
        firehose = firehose_client(server)
        firehose.put_record(DeliveryStreamName="kept", Record={"Data": b"two"})
        [obj] = flush(server, "kept")
        self.assertTrue(obj["Key"].startswith(""))
        with open(os.path.join(self.data, "archive", "kept", obj["Key"]), "rb") as f:
            self.assertEqual(f.read(), b"onetwo")
        self.assertEqual(flush(server, "kept"), [])
        self.assertEqual(server.stop(), 0)

    def test_sigkill_during_delivery_delivers_every_record_exactly_once(self):
        server = self.start()
        firehose = firehose_client(server)
        firehose.create_delivery_stream(
            DeliveryStreamName="crash",
            ExtendedS3DestinationConfiguration=s3_config(
                "crash", CompressionFormat="GZIP",
                BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 900}))
        # 40 MiB of unique records, every one acknowledged before the kill:
        # about forty objects to write.
        expected = set()
        for batch in range(40):
            records = [f"{batch:04d}-{i:04d}-".encode().ljust(4096, b".") + b"\n"
                       for i in range(256)]
            answer = firehose.put_record_batch(
                DeliveryStreamName="crash",
                Records=[{"Data": data} for data in records])
            self.assertEqual(answer["FailedPutCount"], 0)
            expected.update(records)

        flusher = threading.Thread(target=lambda: self._flush_quietly(server),
                                   daemon=True)
        flusher.start()
        poll_until(lambda: len(self.archive_files("crash")) >= 3, DEADLINE_S,
                   "delivery to be under way")
        server.send_signal(signal.SIGKILL)
        server.wait()
        flusher.join(DEADLINE_S)

        server = self.start()
        flush(server, "crash")
        delivered = []
        names = self.archive_files("crash")
        self.assertFalse([n for n in names if n.endswith(".sluice-tmp")], names)
        for name in names:
            with open(os.path.join(self.data, "archive", "crash", name), "rb") as f:
                data = gzip.decompress(f.read())
            delivered += [line + b"\n" for line in data.split(b"\n")[:-1]]
        self.assertEqual(len(delivered), len(expected))
        self.assertEqual(set(delivered), expected)
        self.assertEqual(server.stop(), 0)

    def write_config(self, delivery_streams):
        path = os.path.join(self.workdir, "sluice.json")
        with open(path, "w") as f:
            json.dump({"delivery_streams": delivery_streams}, f)
        return path

    def test_delivery_streams_declared_in_the_config_file(self):
        path = self.write_config([{
            "name": "declared",
            "extended_s3": {"BucketARN": "arn:aws:s3:::declared-bucket",
                            "Prefix": "in/", "CompressionFormat": "GZIP"},
            "tags": {"team": "data"}}])
        server = start_server(self, "--config", path, "--data-dir", self.data,
                              in_memory=False)
        firehose = firehose_client(server)
        description = firehose.describe_delivery_stream(
            DeliveryStreamName="declared")["DeliveryStreamDescription"]
        extended = description["Destinations"][0]["ExtendedS3DestinationDescription"]
        self.assertEqual(extended["RoleARN"], f"arn:aws:iam::{ACCOUNT}:role/sluice")
        self.assertEqual(extended["CompressionFormat"], "GZIP")
        self.assertEqual(firehose.list_tags_for_delivery_stream(
            DeliveryStreamName="declared")["Tags"], [{"Key": "team", "Value": "data"}])
        firehose.put_record(DeliveryStreamName="declared", Record={"Data": b"cfg"})
        [obj] = flush(server, "declared")
        self.assertTrue(obj["Key"].startswith("in/"))
        # A restart with the same file keeps the stream (and its version) as is.
        firehose.update_destination(
            DeliveryStreamName="declared", CurrentDeliveryStreamVersionId="1",
            DestinationId="destinationId-000000000001",
            ExtendedS3DestinationUpdate={"Prefix": "changed/"})
        self.assertEqual(server.stop(), 0)
        server = start_server(self, "--config", path, "--data-dir", self.data,
                              in_memory=False)
        description = firehose_client(server).describe_delivery_stream(
            DeliveryStreamName="declared")["DeliveryStreamDescription"]
        self.assertEqual(description["VersionId"], "2")
        self.assertEqual(server.stop(), 0)

    def test_a_declared_delivery_stream_sluice_cannot_honour_stops_startup(self):
        path = self.write_config([{
            "name": "parquet",
            "extended_s3": {"BucketARN": "arn:aws:s3:::b",
                            "DataFormatConversionConfiguration": {
                                "Enabled": True}}}])
        result = run_sluice("serve", "--config", path, "--in-memory",
                            "--port", "0")
        self.assertEqual(result.returncode, 1)
        self.assertIn(
            "cannot create delivery stream 'parquet' declared in the config "
            "file: DataFormatConversionConfiguration (Parquet/ORC conversion) "
            "is not supported by Sluice yet",
            result.stderr)
        path = self.write_config([{"name": "x", "extended_s3": {}, "oops": 1}])
        result = run_sluice("serve", "--config", path, "--in-memory",
                            "--port", "0")
        self.assertEqual(result.returncode, 2)
        self.assertIn("unknown key 'delivery_streams[0].oops'", result.stderr)

    @staticmethod
    def _flush_quietly(server):
        try:
            flush(server, "crash")
        except Exception:  # the server is killed mid-flush on purpose
            pass


def create_active(firehose, name, bucket):
    """A delivery stream into `bucket` with the default hints, once ACTIVE."""
    firehose.create_delivery_stream(DeliveryStreamName=name,
                                    ExtendedS3DestinationConfiguration=s3_config(bucket))
    poll_until(lambda: firehose.describe_delivery_stream(DeliveryStreamName=name)
               ["DeliveryStreamDescription"]["DeliveryStreamStatus"] == "ACTIVE",
               DEADLINE_S, f"{name} ACTIVE")


class ReadDeliveryStreamTest(unittest.TestCase):
    """SluiceAdmin.ReadDeliveryStream: the delivery stream's own log, paged by
    position, and what a delivery trims from it."""

    def read(self, server, body, expect=200):
        response, answer = server.call("ReadDeliveryStream", json.dumps(body),
                                       api=ADMIN_TARGET)
        self.assertEqual(response.status, expect, answer)
        return answer

    def test_pages_by_position_and_loses_what_a_delivery_trimmed(self):
        server = start_server(self, "--test-clock")
        firehose = firehose_client(server)
        create_active(firehose, "readable", "r")

        def set_clock(millis):
            response, _ = server.call("SetClock", json.dumps({"EpochMillis": millis}),
                                      api=ADMIN_TARGET)
            self.assertEqual(response.status, 200)

        set_clock(1_800_000_000_000)
        ids = [r["RecordId"] for r in firehose.put_record_batch(
            DeliveryStreamName="readable",
            Records=[{"Data": b"a"}, {"Data": b"b"}])["RequestResponses"]]
        set_clock(1_800_000_001_000)
        ids.append(firehose.put_record(DeliveryStreamName="readable",
                                       Record={"Data": b"c"})["RecordId"])

        whole = self.read(server, {"DeliveryStreamName": "readable"})
        self.assertEqual(whole["Records"], [
            {"RecordId": ids[0], "Position": 0,
             "ApproximateArrivalTimestamp": 1_800_000_000.0, "Data": "YQ=="},
            {"RecordId": ids[1], "Position": 1,
             "ApproximateArrivalTimestamp": 1_800_000_000.0, "Data": "Yg=="},
            {"RecordId": ids[2], "Position": 2,
             "ApproximateArrivalTimestamp": 1_800_000_001.0, "Data": "Yw=="}])
        self.assertEqual((whole["NextPosition"], whole["Tip"], whole["TrimHorizon"]),
                         (3, 3, 0))
        page = self.read(server, {"DeliveryStreamName": "readable", "Position": 1,
                                  "Limit": 1})
        self.assertEqual([r["Position"] for r in page["Records"]], [1])
        self.assertEqual(page["NextPosition"], 2)
        positions = self.read(server, {"DeliveryStreamName": "readable", "Limit": 0})
        self.assertEqual((positions["Records"], positions["NextPosition"],
                          positions["Tip"]), ([], 0, 3))

        # Delivered with no reader registered: what arrived before the last
        # record is trimmed, and a read from position 0 starts after it.
        self.assertEqual(sum(o["Records"] for o in flush(server, "readable")), 3)
        after = self.read(server, {"DeliveryStreamName": "readable", "Position": 0})
        self.assertEqual(after["TrimHorizon"], 2)
        self.assertEqual([r["Data"] for r in after["Records"]], ["Yw=="])
        tail = subprocess.run(
            [os.environ["SLUICE_CLI"], "--endpoint", server.endpoint, "firehose",
             "tail", "readable", "--from", "trim-horizon"],
            capture_output=True, text=True, timeout=DEADLINE_S,
            env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")})
        self.assertEqual((tail.returncode, tail.stdout), (0, "c\n"), tail.stderr)

        for body in ({}, {"DeliveryStreamName": 7},
                     {"DeliveryStreamName": "readable", "Limit": 10001},
                     {"DeliveryStreamName": "readable", "Position": -1}):
            answer = self.read(server, body, expect=400)
            self.assertEqual(answer["__type"], "ValidationException", body)
        missing = self.read(server, {"DeliveryStreamName": "ghost"}, expect=400)
        self.assertEqual(missing["__type"], "ResourceNotFoundException")


class InMemoryArchiveTest(unittest.TestCase):
    def test_the_temporary_archive_is_removed_when_the_server_stops(self):
        server = start_server(self)  # --in-memory, no --archive-root
        firehose = firehose_client(server)
        create_active(firehose, "ephemeral", "tmp")
        firehose.put_record(DeliveryStreamName="ephemeral", Record={"Data": b"x"})
        [written] = flush(server, "ephemeral")
        match = re.search(r"archive root \(temporary[^)]*\): (\S+)", server.stderr())
        self.assertIsNotNone(match, server.stderr())
        root = match.group(1)
        self.assertTrue(os.path.isfile(os.path.join(root, "tmp", written["Key"])))
        stop_cleanly(server)
        self.assertFalse(os.path.exists(root))


if __name__ == "__main__":
    unittest.main()
