"""Firehose Lambda processors end to end, driven by boto3: a handler program
(lambda_handler.py, an AWS-tutorial-style function) that drops, fails and
edits records; a handler that leaves out a recordId, one that crashes and one
that hangs, each retried NumberOfRetries times before its batch goes to the
error output; kinesisRecordMetadata for a Kinesis source; Sluice's built-in
transforms; creation-time validation; SIGKILL while transforming, then every
record exactly once in the objects or the error objects. Keys and contents
are checked byte for byte after an admin flush."""

import base64
import gzip
import json
import os
import re
import shutil
import stat
import signal
import sys
import tempfile
import threading
import unittest

from botocore.exceptions import ClientError

from sluice_process import poll_until, start_server, stop_cleanly
from test_firehose import (ROLE, kpl_aggregate, ErrorAssertions, files_under,
                           firehose_client, flush, kinesis_client, s3_config)

ACCOUNT = "000000000000"
HANDLER = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "lambda_handler.py")
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
ERROR_FIELDS = ["attemptsMade", "arrivalTimestamp", "errorCode",
                "errorMessage", "attemptEndingTimestamp", "rawData",
                "lambdaArn"]


def lambda_processing(function, retries=None, delimiter=True, **parameters):
    """A ProcessingConfiguration whose Lambda processor runs `function`."""
    values = {"LambdaArn": FUNCTION_ARN + function}
    if retries is not None:
        values["NumberOfRetries"] = str(retries)
    values.update(parameters)
    processors = [{"Type": "Lambda", "Parameters": [
        {"ParameterName": name, "ParameterValue": value}
        for name, value in values.items()]}]
    if delimiter:
        processors.append({"Type": "AppendDelimiterToRecord"})
    return {"Enabled": True, "Processors": processors}


def write_handler(directory, name, arguments):
    """An executable `directory/name` that runs lambda_handler.py."""
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(f"#!/bin/sh\nexec {sys.executable} {HANDLER} {arguments}\n")
    os.chmod(path, stat.S_IRWXU)


class FirehoseTransformTest(ErrorAssertions, unittest.TestCase):
    """One server for the class, with a handlers directory of small
    executables that run lambda_handler.py the way each test needs."""

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="sluice-transform-")
        cls.addClassCleanup(shutil.rmtree, cls.workdir, True)
        cls.archive = os.path.join(cls.workdir, "archive")
        cls.handlers = os.path.join(cls.workdir, "handlers")
        os.mkdir(cls.handlers)
        cls.event_file = os.path.join(cls.workdir, "event.json")
        cls.crash_count = os.path.join(cls.workdir, "crash-attempts")
        cls.hang_count = os.path.join(cls.workdir, "hang-attempts")
        for name, arguments in [
                ("transform", f"transform {cls.event_file}"),
                ("omit-id", "omit-id"),
                ("crash", f"crash {cls.crash_count}"),
                ("hang", f"hang {cls.hang_count}")]:
            write_handler(cls.handlers, name, arguments)
        cls.server = start_server(cls, "--archive-root", cls.archive,
                                  "--lambda-handlers-dir", cls.handlers,
                                  "--lambda-timeout-seconds", "1")
        cls.firehose = firehose_client(cls.server)

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.server)

    def create(self, name, processing, **config):
        self.firehose.create_delivery_stream(
            DeliveryStreamName=name,
            ExtendedS3DestinationConfiguration=s3_config(
                name, ProcessingConfiguration=processing, **config))

    def put(self, name, records):
        response = self.firehose.put_record_batch(
            DeliveryStreamName=name, Records=[{"Data": r} for r in records])
        self.assertEqual(response["FailedPutCount"], 0)

    def read(self, bucket, key):
        with open(os.path.join(self.archive, bucket, key), "rb") as f:
            return f.read()

    def error_lines(self, bucket, obj, compressed=False):
        data = self.read(bucket, obj["Key"])
        if compressed:
            data = gzip.decompress(data)
        self.assertTrue(data.endswith(b"\n"), data)
        lines = [json.loads(line) for line in data.decode().splitlines()]
        for line in lines:
            self.assertEqual(list(line), ERROR_FIELDS)
        return lines

    def assertErrorObject(self, obj, prefix):
        self.assertEqual(obj["ErrorOutputType"], "processing-failed")
        self.assertRegex(obj["Key"], "^" + re.escape(prefix) + r".*-" + UUID)

    # --- a handler program ----------------------------------------------------

    def test_handler_drops_fails_and_edits_records(self):
        processing = lambda_processing("transform")
        self.create("edits", processing, Prefix="data/",
                    ErrorOutputPrefix="errors/!{firehose:error-output-type}/")
        described = self.firehose.describe_delivery_stream(
            DeliveryStreamName="edits")["DeliveryStreamDescription"]
        self.assertEqual(described["Destinations"][0][
            "ExtendedS3DestinationDescription"]["ProcessingConfiguration"],
            processing)
        records = [b'{"id":1}', b'{"id":2,"action":"drop"}',
                   b'{"id":3,"action":"fail"}', b'{"id":4}',
                   b'{"id":5,"action":"fail"}']
        self.put("edits", records)
        objects = flush(self.server, "edits")
        self.assertEqual(len(objects), 2, objects)
        main, errors = objects
        self.assertNotIn("ErrorOutputType", main)
        self.assertTrue(main["Key"].startswith("data/"), main["Key"])
        self.assertEqual(main["Records"], 2)
        # Ok records as the handler edited them, then the delimiter.
        self.assertEqual(self.read("edits", main["Key"]),
                         b'{"id":1,"processed":true}\n'
                         b'{"id":4,"processed":true}\n')
        # An ErrorOutputPrefix without a timestamp gets yyyy/MM/dd/HH/.
        self.assertErrorObject(errors, "errors/processing-failed/")
        self.assertRegex(errors["Key"], r"^errors/processing-failed/"
                         r"\d{4}/\d{2}/\d{2}/\d{2}/edits-1-")
        self.assertEqual(errors["Records"], 2)
        lines = self.error_lines("edits", errors)
        self.assertEqual([base64.b64decode(l["rawData"]) for l in lines],
                         [records[2], records[4]])
        for line in lines:
            self.assertEqual(line["attemptsMade"], 1)
            self.assertEqual(line["errorCode"], "Lambda.ProcessingFailed")
            self.assertEqual(line["lambdaArn"], FUNCTION_ARN + "transform")
            self.assertIsInstance(line["arrivalTimestamp"], int)
            self.assertGreaterEqual(line["attemptEndingTimestamp"],
                                    line["arrivalTimestamp"])
        self.assertEqual(files_under(os.path.join(self.archive, "edits")),
                         sorted([main["Key"], errors["Key"]]))
        # The handler got the exact Firehose event.
        with open(self.event_file) as f:
            event = json.load(f)
        self.assertEqual(list(event), ["invocationId", "deliveryStreamArn",
                                       "region", "records"])
        self.assertRegex(event["invocationId"], "^" + UUID + "$")
        self.assertEqual(event["deliveryStreamArn"],
                         f"arn:aws:firehose:us-east-1:{ACCOUNT}:"
                         "deliverystream/edits")
        self.assertEqual(event["region"], "us-east-1")
        self.assertEqual([base64.b64decode(r["data"]) for r in event["records"]],
                         records)
        self.assertEqual(len({r["recordId"] for r in event["records"]}), 5)
        for record in event["records"]:
            self.assertEqual(list(record), ["recordId",
                                            "approximateArrivalTimestamp",
                                            "data"])
            self.assertIsInstance(record["approximateArrivalTimestamp"], int)
        # Epoch milliseconds, the same in the event and the error records.
        arrivals = {r["data"]: r["approximateArrivalTimestamp"]
                    for r in event["records"]}
        for line in lines:
            self.assertEqual(line["arrivalTimestamp"], arrivals[line["rawData"]])
            self.assertGreater(line["arrivalTimestamp"], 1_500_000_000_000)
        self.assertEqual(flush(self.server, "edits"), [])

    def test_a_missing_record_id_sends_the_whole_batch_to_errors(self):
        self.create("omits", lambda_processing("omit-id", retries=0))
        records = [b'{"n":1}', b'{"n":2}', b'{"n":3}']
        self.put("omits", records)
        [errors] = flush(self.server, "omits")
        # Without an ErrorOutputPrefix: <Prefix><type>/yyyy/MM/dd/HH/.
        self.assertRegex(errors["Key"],
                         r"^processing-failed/\d{4}/\d{2}/\d{2}/\d{2}/omits-1-")
        self.assertErrorObject(errors, "processing-failed/")
        lines = self.error_lines("omits", errors)
        self.assertEqual([base64.b64decode(l["rawData"]) for l in lines],
                         records)
        for line in lines:
            self.assertEqual(line["errorCode"], "Lambda.MissingRecordId")
            self.assertEqual(line["attemptsMade"], 1)
        self.assertEqual(files_under(os.path.join(self.archive, "omits")),
                         [errors["Key"]])

    def test_a_crashing_handler_is_retried_then_its_batch_fails(self):
        self.create("crashes", lambda_processing("crash", retries=2),
                    CompressionFormat="GZIP")
        self.put("crashes", [b"a", b"b"])
        [errors] = flush(self.server, "crashes")
        self.assertTrue(errors["Key"].endswith(".gz"), errors["Key"])
        with open(self.crash_count) as f:
            self.assertEqual(len(f.readlines()), 3)  # 1 + NumberOfRetries
        lines = self.error_lines("crashes", errors, compressed=True)
        self.assertEqual([base64.b64decode(l["rawData"]) for l in lines],
                         [b"a", b"b"])
        for line in lines:
            self.assertEqual(line["errorCode"], "Lambda.FunctionError")
            self.assertEqual(line["attemptsMade"], 3)
            self.assertIn("exited with status 1", line["errorMessage"])
            self.assertIn("the handler crashed on purpose",
                          line["errorMessage"])

    def test_a_hanging_handler_is_killed_at_the_timeout_and_reaped(self):
        self.create("hangs", lambda_processing("hang", retries=1))
        fds_before = len(os.listdir(f"/proc/{self.server.pid}/fd"))
        self.put("hangs", [b"slow"])
        [errors] = flush(self.server, "hangs")
        [line] = self.error_lines("hangs", errors)
        self.assertEqual(line["errorCode"], "Lambda.FunctionError")
        self.assertEqual(line["errorMessage"], "Task timed out after 1.00 seconds")
        self.assertEqual(line["attemptsMade"], 2)
        with open(self.hang_count) as f:
            pids = [int(p) for p in f.read().split()]
        self.assertEqual(len(pids), 2)
        for pid in pids:
            # Killed and reaped: not even a zombie is left.
            with self.assertRaises(ProcessLookupError):
                os.kill(pid, 0)
        # The pipes to both children are closed (a leak would stay forever;
        # the HTTP connection of the flush may take a moment to close).
        poll_until(lambda: len(os.listdir(f"/proc/{self.server.pid}/fd"))
                   <= fds_before, 10, "the server's fds back to their count")

    def test_a_kinesis_source_sends_kinesis_record_metadata(self):
        kinesis = kinesis_client(self.server)
        kinesis.create_stream(StreamName="transform-source", ShardCount=1)
        put = kinesis.put_record(StreamName="transform-source",
                                 Data=b'{"k":1}', PartitionKey="pk-1")
        # A KPL aggregate: Firehose de-aggregates it, and each user record
        # carries its own key and place in the aggregate.
        aggregated = kinesis.put_record(
            StreamName="transform-source", PartitionKey="outer",
            Data=kpl_aggregate([("pk-2", b'{"k":2}'), ("pk-3", b'{"k":3}')]))
        self.firehose.create_delivery_stream(
            DeliveryStreamName="from-kinesis",
            DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration={
                "KinesisStreamARN": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:"
                                    "stream/transform-source",
                "RoleARN": ROLE},
            ExtendedS3DestinationConfiguration=s3_config(
                "from-kinesis",
                ProcessingConfiguration=lambda_processing("transform")))
        [obj] = flush(self.server, "from-kinesis")
        self.assertEqual(self.read("from-kinesis", obj["Key"]),
                         b'{"k":1,"processed":true}\n{"k":2,"processed":true}\n'
                         b'{"k":3,"processed":true}\n')
        with open(self.event_file) as f:
            event = json.load(f)
        self.assertEqual(list(event), ["invocationId", "deliveryStreamArn",
                                       "sourceKinesisStreamArn", "region",
                                       "records"])
        self.assertEqual(event["sourceKinesisStreamArn"],
                         f"arn:aws:kinesis:us-east-1:{ACCOUNT}:"
                         "stream/transform-source")
        record, *users = event["records"]
        self.assertEqual(record["kinesisRecordMetadata"], {
            "shardId": put["ShardId"], "partitionKey": "pk-1",
            "approximateArrivalTimestamp":
                record["approximateArrivalTimestamp"],
            "sequenceNumber": put["SequenceNumber"], "subsequenceNumber": 0})
        self.assertEqual(len(users), 2)
        for i, user in enumerate(users):
            self.assertEqual(user["kinesisRecordMetadata"], {
                "shardId": put["ShardId"], "partitionKey": f"pk-{i + 2}",
                "approximateArrivalTimestamp":
                    user["approximateArrivalTimestamp"],
                "sequenceNumber": aggregated["SequenceNumber"],
                "subsequenceNumber": i})
        self.assertEqual(len({r["recordId"] for r in event["records"]}), 3)

    # --- built-in transforms --------------------------------------------------

    def test_builtin_transforms_add_fields_and_drop_records(self):
        self.create("stamped",
                    lambda_processing("sluice-builtin-add-field:source=web"))
        self.create("filtered",
                    lambda_processing("sluice-builtin-drop-if:level=debug"),
                    CompressionFormat="GZIP")
        self.put("stamped", [b'{"a":1}', b'{"source":"app","b":2}'])
        [obj] = flush(self.server, "stamped")
        self.assertEqual(self.read("stamped", obj["Key"]),
                         b'{"a":1,"source":"web"}\n{"source":"web","b":2}\n')
        self.put("filtered", [b'{"level":"debug","m":1}',
                              b'{"level":"info","m":2}', b"not json"])
        main, errors = flush(self.server, "filtered")
        self.assertEqual(gzip.decompress(self.read("filtered", main["Key"])),
                         b'{"level":"info","m":2}\n')
        [line] = self.error_lines("filtered", errors, compressed=True)
        self.assertEqual(line["errorCode"], "Lambda.ProcessingFailed")
        self.assertEqual(base64.b64decode(line["rawData"]), b"not json")

    def test_update_destination_adds_a_transform_checked_like_a_creation(self):
        self.firehose.create_delivery_stream(
            DeliveryStreamName="updated",
            ExtendedS3DestinationConfiguration=s3_config("updated"))
        processing = lambda_processing(
            "sluice-builtin-add-arrival-timestamp:at", delimiter=False)
        self.assertError(
            self.firehose.update_destination, "InvalidArgumentException",
            "NumberOfRetries must be an integer from 0 to 300; got 'x'.",
            DeliveryStreamName="updated", CurrentDeliveryStreamVersionId="1",
            DestinationId="destinationId-000000000001",
            ExtendedS3DestinationUpdate={
                "ProcessingConfiguration": lambda_processing(
                    "transform", NumberOfRetries="x")})
        self.firehose.update_destination(
            DeliveryStreamName="updated", CurrentDeliveryStreamVersionId="1",
            DestinationId="destinationId-000000000001",
            ExtendedS3DestinationUpdate={"ProcessingConfiguration": processing})
        description = self.firehose.describe_delivery_stream(
            DeliveryStreamName="updated")["DeliveryStreamDescription"]
        self.assertEqual(description["VersionId"], "2")
        self.assertEqual(description["Destinations"][0][
            "ExtendedS3DestinationDescription"]["ProcessingConfiguration"],
            processing)
        self.put("updated", [b'{"a":1}'])
        [obj] = flush(self.server, "updated")
        self.assertRegex(obj["Key"], r"updated-2-")
        self.assertRegex(self.read("updated", obj["Key"]).decode(),
                         r'^\{"a":1,"at":1\d{12}\}$')

    # --- creation-time validation ---------------------------------------------

    def test_bad_processor_parameters_are_refused_at_creation(self):
        arn = FUNCTION_ARN + "transform"
        cases = [
            ([("LambdaArn", arn), ("SubRecordType", "JSON")],
             "Processor parameter SubRecordType is not valid for processor "
             "type Lambda; it takes LambdaArn, NumberOfRetries, RoleArn, "
             "BufferSizeInMBs and BufferIntervalInSeconds."),
            ([("NumberOfRetries", "1")],
             "Processor of type Lambda requires the parameter LambdaArn."),
            ([("LambdaArn", arn), ("NumberOfRetries", "301")],
             "NumberOfRetries must be an integer from 0 to 300; got '301'."),
            ([("LambdaArn", arn), ("BufferSizeInMBs", "4")],
             "BufferSizeInMBs must be a number from 0.2 to 3; got '4'."),
            ([("LambdaArn", "my-function")],
             "LambdaArn my-function is not a Lambda function ARN "
             "(arn:aws:lambda:<region>:<account>:function:<name>)."),
            ([("LambdaArn", FUNCTION_ARN + "sluice-builtin-nope")],
             f"LambdaArn {FUNCTION_ARN}sluice-builtin-nope names "
             "sluice-builtin-nope, which is not a Sluice built-in transform; "
             "built-ins are sluice-builtin-add-field, "
             "sluice-builtin-add-arrival-timestamp, "
             "sluice-builtin-drop-if, sluice-builtin-multiply and "
             "sluice-builtin-to-csv."),
            ([("LambdaArn", FUNCTION_ARN + "sluice-builtin-multiply:x=a")],
             f"LambdaArn {FUNCTION_ARN}sluice-builtin-multiply:x=a: the built-in "
             "sluice-builtin-multiply takes its argument after the name, as in "
             "function:sluice-builtin-multiply:FIELD=A*B."),
            ([("LambdaArn", FUNCTION_ARN + "sluice-builtin-to-csv:a,,b")],
             f"LambdaArn {FUNCTION_ARN}sluice-builtin-to-csv:a,,b: the built-in "
             "sluice-builtin-to-csv takes its argument after the name, as in "
             "function:sluice-builtin-to-csv:FIELD,FIELD,...."),
        ]
        for parameters, message in cases:
            with self.subTest(message=message):
                processing = {"Enabled": True, "Processors": [{
                    "Type": "Lambda", "Parameters": [
                        {"ParameterName": n, "ParameterValue": v}
                        for n, v in parameters]}]}
                self.assertError(
                    self.firehose.create_delivery_stream,
                    "InvalidArgumentException", message,
                    DeliveryStreamName="refused",
                    ExtendedS3DestinationConfiguration=s3_config(
                        "refused", ProcessingConfiguration=processing))
        # A parameter name outside the model's enum is a ValidationException.
        raw = firehose_client(self.server, validate=False)
        with self.assertRaises(ClientError) as caught:
            raw.create_delivery_stream(
                DeliveryStreamName="refused",
                ExtendedS3DestinationConfiguration=s3_config(
                    "refused", ProcessingConfiguration={
                        "Enabled": True, "Processors": [{
                            "Type": "Lambda", "Parameters": [{
                                "ParameterName": "Timeout",
                                "ParameterValue": "3"}]}]}))
        self.assertEqual(caught.exception.response["Error"]["Code"],
                         "ValidationException")
        self.assertIn("Member must satisfy enum value set",
                      caught.exception.response["Error"]["Message"])
        self.assertNotIn("refused", self.firehose.list_delivery_streams(
            Limit=10000)["DeliveryStreamNames"])


class FirehoseTransformDurabilityTest(unittest.TestCase):
    """A server with a data directory, killed while it transforms."""

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="sluice-transform-")
        self.addCleanup(shutil.rmtree, self.workdir, True)
        self.data = os.path.join(self.workdir, "data")
        self.handlers = os.path.join(self.workdir, "handlers")
        os.mkdir(self.handlers)
        write_handler(self.handlers, "transform", "transform")

    def start(self):
        return start_server(self, "--data-dir", self.data,
                            "--lambda-handlers-dir", self.handlers,
                            in_memory=False)

    def archive_files(self, prefix):
        root = os.path.join(self.data, "archive", "crash")
        names = files_under(root) if os.path.isdir(root) else []
        return [n for n in names if n.startswith(prefix)]

    @staticmethod
    def _flush_quietly(server):
        try:
            flush(server, "crash")
        except Exception:  # the server is killed under it: expected
            pass

    def test_sigkill_while_transforming_delivers_every_record_exactly_once(self):
        server = self.start()
        firehose = firehose_client(server)
        firehose.create_delivery_stream(
            DeliveryStreamName="crash",
            ExtendedS3DestinationConfiguration=s3_config(
                "crash", Prefix="data/",
                ErrorOutputPrefix="errors/!{firehose:error-output-type}/",
                BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 900},
                ProcessingConfiguration=lambda_processing("transform")))
        # About twenty-four objects' worth of unique JSON records: every 5th
        # one fails, every 7th other one is dropped, the rest are edited.
        kept, failed = set(), set()
        for batch in range(24):
            records = []
            for i in range(256):
                n = batch * 256 + i
                record = {"n": n, "pad": "." * 4000}
                if n % 5 == 0:
                    record["action"] = "fail"
                elif n % 7 == 0:
                    record["action"] = "drop"
                data = json.dumps(record, separators=(",", ":")).encode()
                records.append(data)
                if n % 5 == 0:
                    failed.add(data)
                elif n % 7 != 0:
                    kept.add(n)
            answer = firehose.put_record_batch(
                DeliveryStreamName="crash",
                Records=[{"Data": data} for data in records])
            self.assertEqual(answer["FailedPutCount"], 0)

        flusher = threading.Thread(target=lambda: self._flush_quietly(server),
                                   daemon=True)
        flusher.start()
        poll_until(lambda: len(self.archive_files("data/")) >= 3, 60,
                   "delivery to be under way")
        server.send_signal(signal.SIGKILL)
        server.wait()
        flusher.join(60)

        server = self.start()
        flush(server, "crash")
        root = os.path.join(self.data, "archive", "crash")
        self.assertFalse([n for n in files_under(root)
                          if n.endswith(".sluice-tmp")])
        delivered, errors = [], []
        for name in self.archive_files("data/"):
            with open(os.path.join(root, name), "rb") as f:
                for line in f.read().decode().splitlines():
                    record = json.loads(line)
                    self.assertTrue(record["processed"])
                    delivered.append(record["n"])
        for name in self.archive_files("errors/processing-failed/"):
            with open(os.path.join(root, name), "rb") as f:
                for line in f.read().decode().splitlines():
                    errors.append(base64.b64decode(json.loads(line)["rawData"]))
        self.assertEqual(sorted(delivered), sorted(kept))  # each once
        self.assertEqual(sorted(errors), sorted(failed))
        self.assertEqual(len(files_under(root)),
                         len(self.archive_files("data/")) +
                         len(self.archive_files("errors/")))
        self.assertEqual(server.stop(), 0)

    def test_shutdown_kills_a_running_handler_and_the_object_is_redone(self):
        # "maybe-hang" hangs while the marker file exists, then transforms.
        marker = os.path.join(self.workdir, "hang-now")
        count = os.path.join(self.workdir, "hang-attempts")
        path = os.path.join(self.handlers, "maybe-hang")
        with open(path, "w") as f:
            f.write(f"#!/bin/sh\nif [ -e {marker} ]; then "
                    f"exec {sys.executable} {HANDLER} hang {count}; fi\n"
                    f"exec {sys.executable} {HANDLER} transform\n")
        os.chmod(path, stat.S_IRWXU)
        open(marker, "w").close()
        server = self.start()  # the default 60 s handler timeout
        firehose = firehose_client(server)
        firehose.create_delivery_stream(
            DeliveryStreamName="crash",
            ExtendedS3DestinationConfiguration=s3_config(
                "crash", ProcessingConfiguration=lambda_processing(
                    "maybe-hang")))
        firehose.put_record(DeliveryStreamName="crash",
                            Record={"Data": b'{"n":1}'})
        flusher = threading.Thread(target=lambda: self._flush_quietly(server),
                                   daemon=True)
        flusher.start()
        poll_until(lambda: os.path.exists(count), 30, "the handler to start")
        # SIGTERM: the server stops within STOP_DEADLINE_S (20 s), far less
        # than the handler's timeout, and cleanly.
        self.assertEqual(server.stop(), 0, server.stderr())
        flusher.join(60)
        with open(count) as f:
            [pid] = [int(p) for p in f.read().split()]
        with self.assertRaises(ProcessLookupError):
            os.kill(pid, 0)
        self.assertEqual(self.archive_files(""), [])

        os.remove(marker)
        server = self.start()
        # The engine redoes the planned object as it starts, or the flush
        # does; either way it is there once the flush returns.
        flush(server, "crash")
        [name] = self.archive_files("")
        with open(os.path.join(self.data, "archive", "crash", name), "rb") as f:
            self.assertEqual(f.read(), b'{"n":1,"processed":true}\n')
        self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    unittest.main()
