"""Kinesis over CBOR 1.1 (application/x-amz-cbor-1.1), the AWS Java SDK's and
KCL's default codec: requests byte for byte as the Java SDK v2 writes them
(indefinite-length maps and arrays, blobs as byte strings, tag-1 millisecond
timestamps), answers checked item by item: blobs come back as byte strings,
timestamps as tag 1 with integer milliseconds, errors as CBOR maps. The CBOR
client (cbor_client.py) is written from RFC 8949, independent of the server."""

import time
import unittest

import boto3
import botocore.config

from cbor_client import Chunked, EpochMillis, Raw, Tagged, decode, encode
from sluice_process import (CBOR_11, JSON_11, poll_until, signed_headers,
                            start_server, stop_cleanly)

ACCOUNT = "000000000000"
MAX_RECORD_BYTES = 1024 * 1024  # data + partition key, the default maximum


def now_millis():
    return time.time_ns() // 1_000_000


class CborTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = start_server(cls)

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.server)

    def post(self, operation, body):
        """POSTs raw bytes as a CBOR request; returns (response, bytes)."""
        return self.server.request("POST", "/", body,
                                   signed_headers(operation, content_type=CBOR_11))

    def call(self, operation, request=None, **encode_options):
        """A CBOR request that must succeed; returns the decoded answer ({}
        for an empty body)."""
        response, data = self.post(operation, encode(request or {}, **encode_options))
        self.assertEqual(response.status, 200, f"{operation}: {data!r}")
        self.assertEqual(response.getheader("Content-Type"), CBOR_11)
        self.assertTrue(response.getheader("x-amzn-RequestId"))
        return decode(data) if data else {}

    def assertCborError(self, response, data, error_type, message=None):
        self.assertEqual(response.status, 400, data)
        self.assertEqual(response.getheader("Content-Type"), CBOR_11)
        self.assertEqual(response.getheader("x-amzn-ErrorType"), error_type)
        body = decode(data)  # raises unless the whole body is one CBOR item
        self.assertEqual(body["__type"], error_type)
        if message is None:
            self.assertNotIn("message", body)
        else:
            self.assertEqual(body["message"], message)
        return body

    def create(self, name, shards=1):
        self.call("CreateStream", {"StreamName": name, "ShardCount": shards})
        self.addCleanup(self.call, "DeleteStream", {"StreamName": name})
        poll_until(lambda: self.call("DescribeStreamSummary", {"StreamName": name})
                   ["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE",
                   10, f"{name} to become ACTIVE")

    def put(self, stream, data, key="k"):
        return self.call("PutRecord", {"StreamName": stream, "Data": data,
                                       "PartitionKey": key})

    def iterator(self, stream, iterator_type, shard="shardId-000000000000", **extra):
        return self.call("GetShardIterator", {
            "StreamName": stream, "ShardId": shard,
            "ShardIteratorType": iterator_type, **extra})["ShardIterator"]

    def records(self, stream, iterator_type, **extra):
        """Every record from the position to the tip of shard 0."""
        iterator = self.iterator(stream, iterator_type, **extra)
        records = []
        for _ in range(100):
            page = self.call("GetRecords", {"ShardIterator": iterator, "Limit": 1000})
            records += page["Records"]
            iterator = page["NextShardIterator"]
            if not page["Records"] and page["MillisBehindLatest"] == 0:
                return records
        raise AssertionError("the shard's tip was never reached")

    def assertTimestampMillis(self, value, low, high):
        """`value` is tag 1 with integer epoch milliseconds in [low, high]."""
        self.assertIsInstance(value, Tagged)
        self.assertEqual(value.tag, 1)
        self.assertIs(type(value.value), int)
        self.assertGreaterEqual(value.value, low)
        self.assertLessEqual(value.value, high)


class CborDataPlaneTest(CborTestCase):
    def test_stream_lifecycle_with_timestamps_in_milliseconds(self):
        before = now_millis()
        self.create("lifecycle", 2)
        after = now_millis()
        summary = self.call("DescribeStreamSummary", {"StreamName": "lifecycle"})[
            "StreamDescriptionSummary"]
        self.assertEqual(summary["StreamName"], "lifecycle")
        self.assertEqual(summary["StreamARN"],
                         f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/lifecycle")
        self.assertEqual(summary["OpenShardCount"], 2)
        self.assertEqual(summary["RetentionPeriodHours"], 24)
        # Whole seconds here would be read by the Java SDK as 1970.
        self.assertTimestampMillis(summary["StreamCreationTimestamp"],
                                   before - 1000, after)

        listed = self.call("ListStreams")
        self.assertIn("lifecycle", listed["StreamNames"])
        self.assertFalse(listed["HasMoreStreams"])
        [entry] = [s for s in listed["StreamSummaries"]
                   if s["StreamName"] == "lifecycle"]
        self.assertEqual(entry["StreamCreationTimestamp"],
                         summary["StreamCreationTimestamp"])

        described = self.call("DescribeStream", {"StreamName": "lifecycle"})[
            "StreamDescription"]
        self.assertEqual(described["StreamCreationTimestamp"],
                         summary["StreamCreationTimestamp"])
        self.assertEqual(len(described["Shards"]), 2)

    def test_put_record_and_get_records_carry_bytes_and_millisecond_times(self):
        self.create("bytes")
        data = bytes(range(256))  # not text, not base64: raw bytes both ways
        before = now_millis()
        put = self.put("bytes", data)
        after = now_millis()
        self.assertEqual(put["ShardId"], "shardId-000000000000")
        self.assertIsInstance(put["SequenceNumber"], str)
        self.assertRegex(put["SequenceNumber"], r"^[1-9][0-9]{55}$")

        page = self.call("GetRecords", {
            "ShardIterator": self.iterator("bytes", "TRIM_HORIZON")})
        [record] = page["Records"]
        self.assertIs(type(record["Data"]), bytes)
        self.assertEqual(record["Data"], data)
        self.assertEqual(record["PartitionKey"], "k")
        self.assertEqual(record["SequenceNumber"], put["SequenceNumber"])
        self.assertTimestampMillis(record["ApproximateArrivalTimestamp"],
                                   before - 1000, after + 1000)
        self.assertIsInstance(page["NextShardIterator"], str)
        self.assertEqual(page["MillisBehindLatest"], 0)

    def test_put_records_with_empty_chunked_and_hashed_entries(self):
        self.create("batch", 2)
        entries = [
            {"Data": b"", "PartitionKey": "empty"},
            {"Data": Chunked(b"x" * 5000, 1000), "PartitionKey": "chunked"},
            {"Data": b"\x00\xff", "PartitionKey": "k", "ExplicitHashKey": "0"},
        ]
        answer = self.call("PutRecords", {"StreamName": "batch", "Records": entries})
        self.assertEqual(answer["FailedRecordCount"], 0)
        self.assertEqual(len(answer["Records"]), 3)
        for result in answer["Records"]:
            self.assertIsInstance(result["SequenceNumber"], str)
        # ExplicitHashKey 0 belongs to the first shard.
        self.assertEqual(answer["Records"][2]["ShardId"], "shardId-000000000000")

        got = {}
        for shard in ("shardId-000000000000", "shardId-000000000001"):
            iterator = self.iterator("batch", "TRIM_HORIZON", shard=shard)
            for record in self.call("GetRecords", {"ShardIterator": iterator})["Records"]:
                got[record["SequenceNumber"]] = record["Data"]
        self.assertEqual([got[r["SequenceNumber"]] for r in answer["Records"]],
                         [b"", b"x" * 5000, b"\x00\xff"])

    def test_every_iterator_type_including_millisecond_at_timestamp(self):
        self.create("iterators")
        first = self.put("iterators", b"1")
        [stored] = self.records("iterators", "TRIM_HORIZON")
        first_arrival = stored["ApproximateArrivalTimestamp"].value
        # The next record must arrive in a later millisecond; the server's
        # clock is this machine's.
        poll_until(lambda: now_millis() > first_arrival + 1, 5, "the next millisecond")
        second = self.put("iterators", b"2")

        def data(iterator_type, **extra):
            return [r["Data"] for r in self.records("iterators", iterator_type, **extra)]

        self.assertEqual(data("TRIM_HORIZON"), [b"1", b"2"])
        self.assertEqual(data("AT_SEQUENCE_NUMBER",
                              StartingSequenceNumber=second["SequenceNumber"]), [b"2"])
        self.assertEqual(data("AFTER_SEQUENCE_NUMBER",
                              StartingSequenceNumber=first["SequenceNumber"]), [b"2"])
        # Tag 1 carries milliseconds: one millisecond past the first record's
        # arrival skips it, which whole seconds could not express.
        self.assertEqual(data("AT_TIMESTAMP", Timestamp=EpochMillis(first_arrival)),
                         [b"1", b"2"])
        self.assertEqual(data("AT_TIMESTAMP", Timestamp=EpochMillis(first_arrival + 1)),
                         [b"2"])
        self.assertEqual(data("AT_TIMESTAMP", Timestamp=EpochMillis(946684800000)),
                         [b"1", b"2"])  # 2000-01-01: before the trim horizon

        latest = self.iterator("iterators", "LATEST")
        self.assertEqual(self.call("GetRecords", {"ShardIterator": latest})["Records"], [])
        self.put("iterators", b"3")
        self.assertEqual([r["Data"] for r in self.call(
            "GetRecords", {"ShardIterator": latest})["Records"]], [b"3"])

    def test_list_shards_with_and_without_a_timestamp_filter(self):
        self.create("shards", 2)
        shards = self.call("ListShards", {"StreamName": "shards"})["Shards"]
        self.assertEqual([s["ShardId"] for s in shards],
                         ["shardId-000000000000", "shardId-000000000001"])
        self.assertEqual(shards[0]["HashKeyRange"]["StartingHashKey"], "0")
        self.assertEqual(shards[1]["HashKeyRange"]["EndingHashKey"],
                         str(2**128 - 1))
        self.assertIsInstance(
            shards[0]["SequenceNumberRange"]["StartingSequenceNumber"], str)
        for filter_type in ("AT_TIMESTAMP", "FROM_TIMESTAMP"):
            with self.subTest(filter_type=filter_type):
                filtered = self.call("ListShards", {
                    "StreamName": "shards",
                    "ShardFilter": {"Type": filter_type,
                                    "Timestamp": EpochMillis(now_millis())}})
                self.assertEqual([s["ShardId"] for s in filtered["Shards"]],
                                 [s["ShardId"] for s in shards])
        page = self.call("ListShards", {"StreamName": "shards", "MaxResults": 1})
        self.assertEqual(len(page["Shards"]), 1)
        rest = self.call("ListShards", {"NextToken": page["NextToken"]})
        self.assertEqual([s["ShardId"] for s in rest["Shards"]],
                         ["shardId-000000000001"])

    def test_definite_length_containers_and_chunked_text_are_read_too(self):
        # Not what the Java SDK writes, but well-formed CBOR other encoders
        # write; AWS reads any well-formed request.
        self.call("CreateStream", {"StreamName": "definite", "ShardCount": 1},
                  definite=True)
        self.addCleanup(self.call, "DeleteStream", {"StreamName": "definite"})
        summary = self.call("DescribeStreamSummary",
                            {"StreamName": Chunked("definite", 3)})
        self.assertEqual(summary["StreamDescriptionSummary"]["StreamName"], "definite")

    def test_cbor_and_json_clients_share_the_same_records(self):
        self.create("mixed")
        self.put("mixed", b"\x00from cbor\xff")
        boto = boto3.client(
            "kinesis", endpoint_url=self.server.endpoint, region_name="us-east-1",
            aws_access_key_id="x", aws_secret_access_key="y",
            config=botocore.config.Config(retries={"max_attempts": 1}))
        boto.put_record(StreamName="mixed", Data=b"from json", PartitionKey="k")
        iterator = boto.get_shard_iterator(
            StreamName="mixed", ShardId="shardId-000000000000",
            ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        json_view = boto.get_records(ShardIterator=iterator)["Records"]
        cbor_view = self.records("mixed", "TRIM_HORIZON")
        self.assertEqual([r["Data"] for r in json_view],
                         [b"\x00from cbor\xff", b"from json"])
        self.assertEqual([r["Data"] for r in cbor_view],
                         [b"\x00from cbor\xff", b"from json"])
        # The same instant: JSON's seconds with a millisecond fraction, CBOR's
        # integer milliseconds.
        for json_record, cbor_record in zip(json_view, cbor_view):
            seconds = json_record["ApproximateArrivalTimestamp"].timestamp()
            self.assertEqual(round(seconds * 1000),
                             cbor_record["ApproximateArrivalTimestamp"].value)


class CborControlPlaneTest(CborTestCase):
    def test_tags_retention_and_limits(self):
        self.create("control")
        self.call("AddTagsToStream", {"StreamName": "control",
                                      "Tags": {"team": "data", "env": "test"}})
        tags = self.call("ListTagsForStream", {"StreamName": "control"})
        self.assertEqual(tags["Tags"], [{"Key": "env", "Value": "test"},
                                        {"Key": "team", "Value": "data"}])
        self.assertIs(tags["HasMoreTags"], False)

        self.call("IncreaseStreamRetentionPeriod",
                  {"StreamName": "control", "RetentionPeriodHours": 48})
        summary = self.call("DescribeStreamSummary", {"StreamName": "control"})
        self.assertEqual(summary["StreamDescriptionSummary"]["RetentionPeriodHours"], 48)

        limits = self.call("DescribeLimits")
        self.assertIsInstance(limits["ShardLimit"], int)
        self.assertGreaterEqual(limits["OpenShardCount"], 1)


class CborErrorTest(CborTestCase):
    def test_unknown_stream_is_resource_not_found_in_cbor(self):
        response, data = self.post("PutRecord", encode(
            {"StreamName": "nosuch", "Data": b"x", "PartitionKey": "k"}))
        self.assertCborError(response, data, "ResourceNotFoundException",
                             f"Stream nosuch under account {ACCOUNT} not found.")

    def test_malformed_cbor_is_a_bare_serialization_exception(self):
        good = encode({"StreamName": "s"})
        bodies = {
            "truncated": good[:-1],
            "trailing bytes": good + b"\x00",
            "break outside a container": b"\xff",
            "not a map": encode(["s"]),
            "JSON text": b'{"StreamName": "s"}',
            "reserved additional info": b"\xbf\x61a\x1c\xff",
            "length past the end": b"\xbf\x61a\x5b" + b"\xff" * 8 + b"\xff",
            "integer key": b"\xa1\x01\x02",
            "invalid UTF-8": b"\xa1\x61a\x62\xc3\x28",
            "unknown tag": encode({"StreamName": Raw(b"\xc0\x61s")}),
            "too deep": b"\xa1\x61a" + b"\x9f" * 2000 + b"\xff" * 2000,
        }
        for what, body in bodies.items():
            with self.subTest(what):
                response, data = self.post("DescribeStreamSummary", body)
                self.assertCborError(response, data, "SerializationException")

    def test_empty_body_and_unknown_operation(self):
        response, data = self.post("DescribeStreamSummary", b"")
        self.assertCborError(response, data, "SerializationException")
        response, data = self.post("NoSuchOperation", encode({}))
        self.assertCborError(response, data, "UnknownOperationException")

    def test_wrong_member_types_are_serialization_exceptions_with_aws_words(self):
        cases = [
            ("CreateStream", {"StreamName": "typed", "ShardCount": "1"},
             "class java.lang.String can not be converted to an Integer"),
            ("PutRecord", {"StreamName": "typed", "Data": 5, "PartitionKey": "k"},
             "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not "
             "be converted to a Blob"),
            ("PutRecord", {"StreamName": "typed", "Data": b"x", "PartitionKey": True},
             "class java.lang.Boolean can not be converted to an String"),
            ("GetShardIterator", {"StreamName": "typed", "ShardId": "shardId-000000000000",
                                  "ShardIteratorType": "AT_TIMESTAMP",
                                  "Timestamp": "yesterday"},
             "class java.lang.String can not be converted to milliseconds since epoch"),
        ]
        for operation, request, message in cases:
            with self.subTest(operation=operation, request=request):
                response, data = self.post(operation, encode(request))
                self.assertCborError(response, data, "SerializationException", message)

    def test_model_violations_are_validation_exceptions(self):
        self.create("validated")
        response, data = self.post("PutRecord", encode(
            {"StreamName": "validated", "Data": b"x", "PartitionKey": ""}))
        self.assertCborError(
            response, data, "ValidationException",
            "1 validation error detected: Value '' at 'partitionKey' failed to satisfy "
            "constraint: Member must have length greater than or equal to 1")
        response, data = self.post("DescribeStreamSummary", encode({"StreamName": "a b"}))
        self.assertCborError(
            response, data, "ValidationException",
            "1 validation error detected: Value 'a b' at 'streamName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: "
            "[a-zA-Z0-9_.-]+")

    def test_record_size_limit_counts_the_byte_string(self):
        self.create("sized")
        at_limit = b"\x00" * (MAX_RECORD_BYTES - 1)  # plus the 1-byte key
        self.put("sized", at_limit)
        over = b"\x00" * MAX_RECORD_BYTES
        response, data = self.post("PutRecord", encode(
            {"StreamName": "sized", "Data": over, "PartitionKey": "k"}))
        self.assertCborError(
            response, data, "ValidationException",
            f"1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 "
            f"lim={MAX_RECORD_BYTES} cap={MAX_RECORD_BYTES}]' at 'data' failed to "
            f"satisfy constraint: Member must have length less than or equal to "
            f"{MAX_RECORD_BYTES - 1}")
        [record] = self.records("sized", "TRIM_HORIZON")
        self.assertEqual(record["Data"], at_limit)

    def test_json_requests_still_get_json(self):
        response, data = self.server.request(
            "POST", "/", b"{}", signed_headers("ListStreams", content_type=JSON_11))
        self.assertEqual(response.status, 200)
        self.assertEqual(response.getheader("Content-Type"), JSON_11)
        self.assertTrue(data.startswith(b"{"))


if __name__ == "__main__":
    unittest.main()
