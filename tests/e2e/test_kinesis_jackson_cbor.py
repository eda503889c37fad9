"""CBOR checked against Jackson, the CBOR library both AWS Java SDKs (and the
KCL) write and read with: java/JacksonCborClient.java creates a stream, puts
a record, reads it back from an AT_TIMESTAMP iterator and gets an error, all
through Jackson's CBORGenerator and CBORParser, as the SDK's marshaller and
unmarshaller use them. This file then checks that cbor_client.py, which
test_kinesis_cbor.py drives, writes the very bytes Jackson wrote.

Needs a JDK (Java 11+ runs the single source file) and Debian's
libjackson2-dataformat-cbor (scripts/install-deps --test installs both), or
JACKSON_CLASSPATH naming the jars. Missing ones fail the test, never skip it.
"""

import os
import shutil
import subprocess
import unittest

from cbor_client import EpochMillis, Tagged, decode, encode
from sluice_process import start_server, stop_cleanly

HERE = os.path.dirname(os.path.abspath(__file__))
DEBIAN_JARS = ("/usr/share/java/jackson-core.jar",
               "/usr/share/java/jackson-dataformat-cbor.jar")
INSTALL_HINT = "run scripts/install-deps --test (default-jdk-headless, libjackson2-dataformat-cbor)"


def jackson_classpath():
    classpath = os.environ.get("JACKSON_CLASSPATH")
    if classpath:
        return classpath
    missing = [jar for jar in DEBIAN_JARS if not os.path.exists(jar)]
    if missing:
        raise AssertionError(f"Jackson jars missing: {missing}; {INSTALL_HINT}")
    return ":".join(DEBIAN_JARS)


def as_sent(value):
    """A decoded request as cbor_client.encode takes it: tag 1 back to
    EpochMillis."""
    if isinstance(value, Tagged):
        assert value.tag == 1, value
        return EpochMillis(value.value)
    if isinstance(value, dict):
        return {key: as_sent(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_sent(item) for item in value]
    return value


class JacksonCborTest(unittest.TestCase):
    def test_jackson_reads_every_answer_and_our_client_writes_what_jackson_writes(self):
        java = shutil.which("java")
        self.assertIsNotNone(java, f"no java on PATH; {INSTALL_HINT}")
        classpath = jackson_classpath()
        server = start_server(self)
        run = subprocess.run(
            [java, "-cp", classpath, os.path.join(HERE, "java", "JacksonCborClient.java"),
             str(server.port)],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=100)
        self.assertEqual(run.returncode, 0, f"stdout={run.stdout}\nstderr={run.stderr}")
        lines = run.stdout.splitlines()
        self.assertEqual(lines[-1], "OK")
        stop_cleanly(server)

        requests = [line.split(" ", 2) for line in lines if line.startswith("REQUEST ")]
        self.assertEqual([operation for _, operation, _ in requests],
                         ["CreateStream", "DescribeStreamSummary", "PutRecord",
                          "GetShardIterator", "GetRecords", "DescribeStreamSummary"])
        for _, operation, hex_bytes in requests:
            with self.subTest(operation=operation):
                sent = bytes.fromhex(hex_bytes)
                self.assertEqual(sent[0], 0xBF)  # Jackson's indefinite-length map
                self.assertEqual(encode(as_sent(decode(sent))).hex(), hex_bytes)
        # The timestamp went out as tag 1 + integer milliseconds.
        iterator_request = decode(bytes.fromhex(requests[3][2]))
        self.assertEqual(iterator_request["Timestamp"].tag, 1)
        self.assertIs(type(iterator_request["Timestamp"].value), int)
        # And the record's data as a byte string.
        self.assertIs(type(decode(bytes.fromhex(requests[2][2]))["Data"]), bytes)


if __name__ == "__main__":
    unittest.main()
