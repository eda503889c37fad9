"""Firehose's HttpEndpoint destination end to end, driven by boto3, with a
receiver on loopback (Python's http.server, port 0) that answers as told:
a receiver that fails twice then succeeds gets the records once, with
Firehose's request shape and headers; one that always fails sends the
records to the S3 backup bucket as error records once RetryOptions'
duration has passed; a wrong requestId in the answer is a failure; AllData
copies every record to the backup bucket; bad configurations are refused.
Over https:// the server verifies the receiver's certificate (a test CA given
through OpenSSL's SSL_CERT_FILE) and its host name."""

import base64
import gzip
import json
import os
import re
import shutil
import ssl
import subprocess
import tempfile
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.exceptions import ClientError

from sluice_process import poll_until, start_server, stop_cleanly
from test_firehose import (ADMIN_TARGET, ACCOUNT, ROLE, ErrorAssertions,
                           files_under, firehose_client, flush, s3_config)

DEADLINE_S = 30
UUID = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def ok(request_id):
    return 200, {"requestId": request_id, "timestamp": 1700000000000}


def fail(_request_id):
    return 500, {"errorMessage": "receiver is down"}


class Receiver:
    """An HTTP endpoint on 127.0.0.1: answers request N with answers[N]
    (the last answer repeats) and keeps every request it got."""

    def __init__(self, test, answers, tls=None):
        self.answers = answers
        self.requests = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                body = raw
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(raw)
                document = json.loads(body)
                with receiver.lock:
                    index = len(receiver.requests)
                    receiver.requests.append(
                        {"path": self.path, "headers": dict(self.headers),
                         "body": document})
                    answer = receiver.answers[min(index,
                                                  len(receiver.answers) - 1)]
                status, reply = answer(document["requestId"])
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if tls is not None:  # (certificate file, key file)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket,
                                                     server_side=True)
            scheme = "https"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()
        test.addCleanup(self.close)
        self.port = self.server.server_address[1]
        self.url = f"{scheme}://127.0.0.1:{self.port}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def got(self):
        with self.lock:
            return list(self.requests)


def records_of(request):
    return [base64.b64decode(r["data"]) for r in request["body"]["records"]]


class FirehoseHttpEndpointTest(ErrorAssertions, unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="sluice-firehose-http-")
        cls.addClassCleanup(shutil.rmtree, cls.workdir, True)
        cls.archive = os.path.join(cls.workdir, "archive")
        cls.server = start_server(cls, "--archive-root", cls.archive)
        cls.firehose = firehose_client(cls.server)
        cls.raw = firehose_client(cls.server, validate=False)

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.server)

    def create(self, name, url, interval=0, retry=60, **extra):
        config = {
            "EndpointConfiguration": {"Url": url, "Name": "receiver",
                                      "AccessKey": "the-access-key"},
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": interval},
            "RetryOptions": {"DurationInSeconds": retry},
            "S3Configuration": s3_config(name + "-backup"),
            "RoleARN": ROLE,
        }
        config.update(extra)
        return self.firehose.create_delivery_stream(
            DeliveryStreamName=name,
            HttpEndpointDestinationConfiguration=config)["DeliveryStreamARN"]

    def put(self, name, records):
        response = self.firehose.put_record_batch(
            DeliveryStreamName=name, Records=[{"Data": r} for r in records])
        self.assertEqual(response["FailedPutCount"], 0)

    def backup_objects(self, bucket):
        """The objects in `bucket`, not counting one still being written
        (its temporary file)."""
        root = os.path.join(self.archive, bucket)
        found = files_under(root) if os.path.isdir(root) else []
        return [key for key in found if not key.endswith(".sluice-tmp")]

    def read(self, bucket, key):
        with open(os.path.join(self.archive, bucket, key), "rb") as f:
            return f.read()

    def error_records(self, bucket):
        """Waits for the error object in `bucket`; returns (key, records)."""
        [key] = poll_until(lambda: self.backup_objects(bucket), DEADLINE_S,
                           f"an error object in {bucket}")
        lines = self.read(bucket, key).decode().splitlines()
        return key, [json.loads(line) for line in lines]

    def test_fails_twice_then_delivers_once_with_firehoses_request(self):
        receiver = Receiver(self, [fail, fail, ok])
        arn = self.create(
            "twice", receiver.url + "/ingest?source=sluice",
            RequestConfiguration={"CommonAttributes": [
                {"AttributeName": "team", "AttributeValue": "data"}]})
        records = [f"record {i}\n".encode() for i in range(20)]
        self.put("twice", records)
        requests = poll_until(lambda: len(receiver.got()) >= 3 and
                              receiver.got(), DEADLINE_S, "three requests")
        # Flush finds nothing left: the records were delivered.
        self.assertEqual(flush(self.server, "twice"), [])
        requests = receiver.got()
        self.assertEqual(len(requests), 3)
        request_id = requests[0]["body"]["requestId"]
        self.assertRegex(request_id, UUID)
        for request in requests:
            headers = request["headers"]
            self.assertEqual(request["path"], "/ingest?source=sluice")
            self.assertEqual(request["body"]["requestId"], request_id)
            self.assertEqual(headers["X-Amz-Firehose-Request-Id"], request_id)
            self.assertEqual(headers["X-Amz-Firehose-Protocol-Version"], "1.0")
            self.assertEqual(headers["X-Amz-Firehose-Access-Key"],
                             "the-access-key")
            self.assertEqual(headers["X-Amz-Firehose-Source-Arn"], arn)
            self.assertEqual(
                json.loads(headers["X-Amz-Firehose-Common-Attributes"]),
                {"commonAttributes": {"team": "data"}})
            self.assertEqual(headers["Content-Type"], "application/json")
            self.assertNotIn("Content-Encoding", headers)
            self.assertIsInstance(request["body"]["timestamp"], int)
            self.assertEqual(records_of(request), records)
        self.assertEqual(self.backup_objects("twice-backup"), [])

    def test_always_failing_endpoint_backs_records_up_as_errors(self):
        receiver = Receiver(self, [fail])
        self.create("down", receiver.url, retry=1)
        records = [b"lost 1", b"lost 2", b"lost 3"]
        self.put("down", records)
        key, errors = self.error_records("down-backup")
        self.assertRegex(
            key, r"^http-endpoint-failed/\d{4}/\d{2}/\d{2}/\d{2}/"
                 r"down-1-\d{4}(-\d{2}){5}-[0-9a-f-]{36}$")
        self.assertEqual([base64.b64decode(e["rawData"]) for e in errors],
                         records)
        requests = receiver.got()
        self.assertGreaterEqual(len(requests), 2)  # retried before giving up
        for error in errors:
            self.assertEqual(error["errorCode"],
                             "HttpEndpoint.DestinationException")
            self.assertIn("500", error["errorMessage"])
            self.assertEqual(error["attemptsMade"], len(requests))
            self.assertIsInstance(error["arrivalTimestamp"], int)
            self.assertGreaterEqual(error["attemptEndingTimestamp"],
                                    error["arrivalTimestamp"])
        self.assertEqual(flush(self.server, "down"), [])
        self.assertEqual(len(receiver.got()), len(requests))

    def test_a_wrong_request_id_in_the_answer_is_a_failure(self):
        receiver = Receiver(self, [lambda _: ok("not-the-request-id")])
        self.create("wrong-id", receiver.url, retry=0)
        self.put("wrong-id", [b"unacknowledged"])
        _, [error] = self.error_records("wrong-id-backup")
        self.assertEqual(error["errorCode"],
                         "HttpEndpoint.InvalidResponseFromDestination")
        self.assertEqual(base64.b64decode(error["rawData"]), b"unacknowledged")
        self.assertEqual(error["attemptsMade"], 1)
        self.assertEqual(len(receiver.got()), 1)  # no retries with 0 s

    def test_unreachable_endpoint_is_a_connection_failure(self):
        receiver = Receiver(self, [ok])
        url = receiver.url
        receiver.close()  # nothing listens there any more
        self.create("unreachable", url, retry=0)
        self.put("unreachable", [b"nowhere"])
        _, [error] = self.error_records("unreachable-backup")
        self.assertEqual(error["errorCode"], "HttpEndpoint.ConnectionFailed")

    def test_all_data_copies_every_record_to_the_backup_bucket(self):
        receiver = Receiver(self, [ok])
        self.create("all", receiver.url, interval=300, S3BackupMode="AllData",
                    S3Configuration=s3_config("all-backup", Prefix="copy/"),
                    ProcessingConfiguration={"Enabled": True, "Processors": [
                        {"Type": "AppendDelimiterToRecord"}]})
        self.put("all", [b"a", b"b"])
        [copy] = flush(self.server, "all")
        self.assertEqual(copy["Bucket"], "all-backup")
        self.assertRegex(copy["Key"], r"^copy/\d{4}/\d{2}/\d{2}/\d{2}/all-1-")
        self.assertEqual(self.read("all-backup", copy["Key"]), b"a\nb\n")
        [request] = receiver.got()
        self.assertEqual(records_of(request), [b"a\n", b"b\n"])

    def test_gzip_content_encoding(self):
        receiver = Receiver(self, [ok])
        self.create("gzipped", receiver.url, interval=300,
                    RequestConfiguration={"ContentEncoding": "GZIP"})
        self.put("gzipped", [b"compressed on the wire"])
        self.assertEqual(flush(self.server, "gzipped"), [])
        [request] = receiver.got()
        self.assertEqual(request["headers"]["Content-Encoding"], "gzip")
        self.assertEqual(records_of(request), [b"compressed on the wire"])

    def test_flush_reports_a_failed_attempt(self):
        receiver = Receiver(self, [fail, ok])
        self.create("flushed", receiver.url, interval=300)
        self.put("flushed", [b"x"])
        response, body = self.server.call(
            "FlushDeliveryStream", json.dumps({"DeliveryStreamName": "flushed"}),
            api=ADMIN_TARGET)
        self.assertNotEqual(response.status, 200, body)
        self.assertIn("HttpEndpoint.DestinationException", body["message"])
        poll_until(lambda: len(receiver.got()) == 2, DEADLINE_S,
                   "the retry")
        self.assertEqual(flush(self.server, "flushed"), [])
        self.assertEqual(len(receiver.got()), 2)

    def test_describe_and_update(self):
        self.create("described", "http://127.0.0.1:9/in", interval=60,
                    RequestConfiguration={"ContentEncoding": "GZIP"})
        description = self.firehose.describe_delivery_stream(
            DeliveryStreamName="described")["DeliveryStreamDescription"]
        [destination] = description["Destinations"]
        http = destination["HttpEndpointDestinationDescription"]
        self.assertEqual(http["EndpointConfiguration"],
                         {"Url": "http://127.0.0.1:9/in", "Name": "receiver"})
        self.assertEqual(http["BufferingHints"],
                         {"SizeInMBs": 1, "IntervalInSeconds": 60})
        self.assertEqual(http["RetryOptions"], {"DurationInSeconds": 60})
        self.assertEqual(http["RequestConfiguration"],
                         {"ContentEncoding": "GZIP", "CommonAttributes": []})
        self.assertEqual(http["S3BackupMode"], "FailedDataOnly")
        self.assertEqual(http["S3DestinationDescription"]["BucketARN"],
                         "arn:aws:s3:::described-backup")
        self.assertNotIn("ExtendedS3DestinationDescription", destination)
        self.firehose.update_destination(
            DeliveryStreamName="described", CurrentDeliveryStreamVersionId="1",
            DestinationId=destination["DestinationId"],
            HttpEndpointDestinationUpdate={
                "RetryOptions": {"DurationInSeconds": 5},
                "BufferingHints": {"SizeInMBs": 3, "IntervalInSeconds": 60}})
        description = self.firehose.describe_delivery_stream(
            DeliveryStreamName="described")["DeliveryStreamDescription"]
        self.assertEqual(description["VersionId"], "2")
        http = description["Destinations"][0][
            "HttpEndpointDestinationDescription"]
        self.assertEqual(http["RetryOptions"], {"DurationInSeconds": 5})
        self.assertEqual(http["BufferingHints"]["SizeInMBs"], 3)
        self.assertEqual(http["EndpointConfiguration"]["Url"],
                         "http://127.0.0.1:9/in")

    def test_update_to_and_from_another_destination_type(self):
        self.firehose.create_delivery_stream(
            DeliveryStreamName="switched",
            ExtendedS3DestinationConfiguration=s3_config("switched"))
        self.assertError(
            self.firehose.update_destination, "InvalidArgumentException",
            "An HttpEndpoint destination needs EndpointConfiguration and "
            "S3Configuration (S3Update when UpdateDestination switches to it).",
            DeliveryStreamName="switched", CurrentDeliveryStreamVersionId="1",
            DestinationId="destinationId-000000000001",
            HttpEndpointDestinationUpdate={
                "EndpointConfiguration": {"Url": "http://127.0.0.1:9/"}})
        self.firehose.update_destination(
            DeliveryStreamName="switched", CurrentDeliveryStreamVersionId="1",
            DestinationId="destinationId-000000000001",
            HttpEndpointDestinationUpdate={
                "EndpointConfiguration": {"Url": "http://127.0.0.1:9/"},
                "S3Update": {"RoleARN": ROLE,
                             "BucketARN": "arn:aws:s3:::switched-backup"}})
        [destination] = self.firehose.describe_delivery_stream(
            DeliveryStreamName="switched")["DeliveryStreamDescription"][
                "Destinations"]
        http = destination["HttpEndpointDestinationDescription"]
        self.assertEqual(http["EndpointConfiguration"]["Url"],
                         "http://127.0.0.1:9/")
        self.assertEqual(http["S3DestinationDescription"]["BucketARN"],
                         "arn:aws:s3:::switched-backup")
        self.firehose.update_destination(
            DeliveryStreamName="switched", CurrentDeliveryStreamVersionId="2",
            DestinationId="destinationId-000000000001",
            ExtendedS3DestinationUpdate={
                "RoleARN": ROLE, "BucketARN": "arn:aws:s3:::switched",
                "Prefix": "again/"})
        [destination] = self.firehose.describe_delivery_stream(
            DeliveryStreamName="switched")["DeliveryStreamDescription"][
                "Destinations"]
        self.assertNotIn("HttpEndpointDestinationDescription", destination)
        self.assertEqual(
            destination["ExtendedS3DestinationDescription"]["Prefix"],
            "again/")

    def test_bad_configurations_are_refused(self):
        def config(**changes):
            base = {"EndpointConfiguration": {"Url": "http://127.0.0.1:9/"},
                    "S3Configuration": s3_config("refused-backup")}
            base.update(changes)
            return base

        self.assertError(
            self.firehose.create_delivery_stream, "InvalidArgumentException",
            "HttpEndpoint Url http://user:pw@127.0.0.1/ must not carry user "
            "information; use AccessKey.",
            DeliveryStreamName="refused",
            HttpEndpointDestinationConfiguration=config(
                EndpointConfiguration={"Url": "http://user:pw@127.0.0.1/"}))
        for bad, field in [
                (config(EndpointConfiguration={"Url": "ftp://x/"}),
                 "httpEndpointDestinationConfiguration.endpointConfiguration"
                 ".url"),
                (config(BufferingHints={"SizeInMBs": 65,
                                        "IntervalInSeconds": 60}),
                 "httpEndpointDestinationConfiguration.bufferingHints"
                 ".sizeInMBs"),
                (config(RetryOptions={"DurationInSeconds": 7201}),
                 "httpEndpointDestinationConfiguration.retryOptions"
                 ".durationInSeconds"),
                (config(S3BackupMode="Everything"),
                 "httpEndpointDestinationConfiguration.s3BackupMode")]:
            with self.subTest(field=field):
                message = self.assertError(
                    self.raw.create_delivery_stream, "ValidationException",
                    DeliveryStreamName="refused",
                    HttpEndpointDestinationConfiguration=bad)
                self.assertIn(field, message)
        message = self.assertError(
            self.raw.create_delivery_stream, "ValidationException",
            DeliveryStreamName="refused",
            HttpEndpointDestinationConfiguration={
                "EndpointConfiguration": {"Url": "http://127.0.0.1:9/"}})
        self.assertIn("s3Configuration", message)
        self.assertError(
            self.firehose.create_delivery_stream, "InvalidArgumentException",
            "A Lambda processor on an HttpEndpoint destination is not "
            "supported by Sluice yet; Sluice runs transforms for S3 "
            "destinations only.",
            DeliveryStreamName="refused",
            HttpEndpointDestinationConfiguration=config(
                ProcessingConfiguration={"Enabled": True, "Processors": [{
                    "Type": "Lambda", "Parameters": [{
                        "ParameterName": "LambdaArn",
                        "ParameterValue": "arn:aws:lambda:us-east-1:"
                                          "000000000000:function:f"}]}]}))
        self.assertError(
            self.firehose.create_delivery_stream, "InvalidArgumentException",
            "Exactly one destination configuration must be specified.",
            DeliveryStreamName="refused",
            HttpEndpointDestinationConfiguration=config(),
            ExtendedS3DestinationConfiguration=s3_config("x"))
        self.assertNotIn("refused", self.firehose.list_delivery_streams(
            Limit=10000)["DeliveryStreamNames"])


def make_certificate(directory, name, host):
    """A self-signed certificate for `host` (its own CA): (cert, key)."""
    cert = os.path.join(directory, name + ".pem")
    key = os.path.join(directory, name + ".key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={host}",
         "-addext", f"subjectAltName=DNS:{host}"],
        check=True, capture_output=True, timeout=60)
    return cert, key


class FirehoseHttpsEndpointTest(ErrorAssertions, unittest.TestCase):
    """https:// endpoints: the server trusts only the test CA (OpenSSL's
    SSL_CERT_FILE, set for the server process alone)."""

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="sluice-firehose-https-")
        cls.addClassCleanup(shutil.rmtree, cls.workdir, True)
        cls.archive = os.path.join(cls.workdir, "archive")
        cls.trusted = make_certificate(cls.workdir, "trusted", "localhost")
        cls.untrusted = make_certificate(cls.workdir, "untrusted", "localhost")
        saved = os.environ.get("SSL_CERT_FILE")
        os.environ["SSL_CERT_FILE"] = cls.trusted[0]
        try:
            cls.server = start_server(cls, "--archive-root", cls.archive)
        finally:
            if saved is None:
                del os.environ["SSL_CERT_FILE"]
            else:
                os.environ["SSL_CERT_FILE"] = saved
        cls.firehose = firehose_client(cls.server)

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.server)

    def create(self, name, url):
        self.firehose.create_delivery_stream(
            DeliveryStreamName=name,
            HttpEndpointDestinationConfiguration={
                "EndpointConfiguration": {"Url": url, "AccessKey": "k"},
                "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 300},
                "RetryOptions": {"DurationInSeconds": 0},
                "S3Configuration": s3_config(name + "-backup")})

    def error_code(self, bucket):
        root = os.path.join(self.archive, bucket)
        [key] = files_under(root)
        with open(os.path.join(root, key), "rb") as f:
            [line] = f.read().splitlines()
        return json.loads(line)["errorCode"]

    def test_delivers_over_tls_to_a_trusted_certificate(self):
        receiver = Receiver(self, [ok], tls=self.trusted)
        self.create("tls", f"https://localhost:{receiver.port}/in")
        self.firehose.put_record(DeliveryStreamName="tls",
                                 Record={"Data": b"over tls"})
        self.assertEqual(flush(self.server, "tls"), [])
        [request] = receiver.got()
        self.assertEqual(request["path"], "/in")
        self.assertEqual(request["headers"]["X-Amz-Firehose-Access-Key"], "k")
        self.assertEqual(records_of(request), [b"over tls"])

    def test_an_untrusted_certificate_fails_the_handshake(self):
        receiver = Receiver(self, [ok], tls=self.untrusted)
        self.create("untrusted", f"https://localhost:{receiver.port}/")
        self.firehose.put_record(DeliveryStreamName="untrusted",
                                 Record={"Data": b"x"})
        # No retries (0 s): the flush's one attempt fails, the record is
        # backed up.
        self.assertEqual(len(flush(self.server, "untrusted")), 1)
        self.assertEqual(self.error_code("untrusted-backup"),
                         "HttpEndpoint.SSLHandshakeFailure")
        self.assertEqual(receiver.got(), [])

    def test_a_certificate_for_another_host_fails_the_handshake(self):
        receiver = Receiver(self, [ok], tls=self.trusted)  # for localhost
        self.create("other-host", f"https://127.0.0.1:{receiver.port}/")
        self.firehose.put_record(DeliveryStreamName="other-host",
                                 Record={"Data": b"x"})
        flush(self.server, "other-host")
        self.assertEqual(self.error_code("other-host-backup"),
                         "HttpEndpoint.SSLHandshakeFailure")
        self.assertEqual(receiver.got(), [])


class FirehoseHttpEndpointConfigFileTest(unittest.TestCase):
    """A delivery stream with an HTTP endpoint declared in the config file."""

    def test_declared_http_endpoint_stream_delivers(self):
        workdir = tempfile.mkdtemp(prefix="sluice-firehose-http-")
        self.addCleanup(shutil.rmtree, workdir, True)
        receiver = Receiver(self, [ok])
        path = os.path.join(workdir, "sluice.json")
        with open(path, "w") as f:
            json.dump({"delivery_streams": [{
                "name": "declared-http",
                "http_endpoint": {
                    "EndpointConfiguration": {"Url": receiver.url + "/d"},
                    "S3Configuration": {
                        "BucketARN": "arn:aws:s3:::declared-backup"}}}]}, f)
        server = start_server(self, "--config", path)
        firehose = firehose_client(server)
        description = firehose.describe_delivery_stream(
            DeliveryStreamName="declared-http")["DeliveryStreamDescription"]
        http = description["Destinations"][0][
            "HttpEndpointDestinationDescription"]
        self.assertEqual(http["EndpointConfiguration"]["Url"],
                         receiver.url + "/d")
        self.assertEqual(http["S3DestinationDescription"]["RoleARN"],
                         f"arn:aws:iam::{ACCOUNT}:role/sluice")
        firehose.put_record(DeliveryStreamName="declared-http",
                            Record={"Data": b"declared"})
        self.assertEqual(flush(server, "declared-http"), [])
        [request] = receiver.got()
        self.assertEqual(records_of(request), [b"declared"])
        self.assertEqual(server.stop(), 0)


class FirehoseHttpEndpointCrashTest(unittest.TestCase):
    """At least once across a SIGKILL, as AWS: the batch in flight is sent
    again after the restart, with the same request id."""

    def test_sigkill_then_restart_resends_the_same_request_id(self):
        workdir = tempfile.mkdtemp(prefix="sluice-firehose-http-")
        self.addCleanup(shutil.rmtree, workdir, True)
        data = os.path.join(workdir, "data")
        receiver = Receiver(self, [fail])
        server = start_server(self, "--data-dir", data, in_memory=False)
        firehose_client(server).create_delivery_stream(
            DeliveryStreamName="resent",
            HttpEndpointDestinationConfiguration={
                "EndpointConfiguration": {"Url": receiver.url},
                "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
                "RetryOptions": {"DurationInSeconds": 600},
                "S3Configuration": s3_config("resent-backup")})
        firehose_client(server).put_record_batch(
            DeliveryStreamName="resent",
            Records=[{"Data": b"in flight 1"}, {"Data": b"in flight 2"}])
        poll_until(receiver.got, DEADLINE_S, "a first attempt")
        server.kill()
        before = len(receiver.got())
        receiver.answers = [ok]

        server = start_server(self, "--data-dir", data, in_memory=False)
        requests = poll_until(
            lambda: len(receiver.got()) > before and receiver.got(),
            DEADLINE_S, "the attempt after the restart")
        self.assertEqual(flush(server, "resent"), [])
        requests = receiver.got()
        self.assertEqual(len({r["body"]["requestId"] for r in requests}), 1)
        self.assertEqual(records_of(requests[-1]),
                         [b"in flight 1", b"in flight 2"])
        self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    unittest.main()
