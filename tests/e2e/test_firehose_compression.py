"""Firehose CompressionFormat end to end: objects written as ZIP, Snappy and
HADOOP_SNAPPY, read back with Python alone (zipfile and `unzip` for ZIP; a
small pure-Python Snappy decoder for both Snappy containers, since
python-snappy is not at hand) and compared byte for byte with what was
put."""

import os
import shutil
import subprocess
import tempfile
import unittest
import zipfile

from sluice_process import start_server, stop_cleanly
from test_firehose import firehose_client, flush, s3_config


def raw_snappy(block):
    """One raw Snappy block (the format libsnappy's Compress() writes)."""
    pos, length, shift = 0, 0, 0
    while True:  # the preamble: the uncompressed length as a varint
        byte = block[pos]
        pos += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            break
    out = bytearray()
    while pos < len(block):
        tag = block[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:  # literal
            size = tag >> 2
            if size >= 60:
                extra = size - 59
                size = int.from_bytes(block[pos:pos + extra], "little")
                pos += extra
            size += 1
            out += block[pos:pos + size]
            pos += size
            continue
        if kind == 1:
            size = ((tag >> 2) & 7) + 4
            offset = ((tag >> 5) << 8) | block[pos]
            pos += 1
        elif kind == 2:
            size = (tag >> 2) + 1
            offset = int.from_bytes(block[pos:pos + 2], "little")
            pos += 2
        else:
            size = (tag >> 2) + 1
            offset = int.from_bytes(block[pos:pos + 4], "little")
            pos += 4
        if offset == 0 or offset > len(out):
            raise ValueError(f"bad Snappy copy offset {offset}")
        for _ in range(size):  # copies may overlap their own output
            out.append(out[-offset])
    if len(out) != length:
        raise ValueError(f"Snappy block gave {len(out)} bytes, said {length}")
    return bytes(out)


def snappy_java(body):
    """snappy-java's stream: 16-byte header, then length-prefixed blocks."""
    if body[:8] != b"\x82SNAPPY\x00":
        raise ValueError(f"not a snappy-java stream: {body[:8]!r}")
    if body[8:16] != b"\x00\x00\x00\x01\x00\x00\x00\x01":
        raise ValueError(f"unexpected snappy-java versions {body[8:16]!r}")
    out, pos, blocks = bytearray(), 16, 0
    while pos < len(body):
        size = int.from_bytes(body[pos:pos + 4], "big")
        out += raw_snappy(body[pos + 4:pos + 4 + size])
        pos += 4 + size
        blocks += 1
    return bytes(out), blocks


def hadoop_snappy(body):
    """Hadoop's block format: uncompressed length, then compressed chunks."""
    out, pos, blocks = bytearray(), 0, 0
    while pos < len(body):
        expected = int.from_bytes(body[pos:pos + 4], "big")
        pos += 4
        produced = 0
        while produced < expected:
            size = int.from_bytes(body[pos:pos + 4], "big")
            chunk = raw_snappy(body[pos + 4:pos + 4 + size])
            pos += 4 + size
            produced += len(chunk)
            out += chunk
        if produced != expected:
            raise ValueError(f"Hadoop block gave {produced}, said {expected}")
        blocks += 1
    return bytes(out), blocks


class FirehoseCompressionTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="sluice-compression-")
        cls.addClassCleanup(shutil.rmtree, cls.workdir, True)
        cls.archive = os.path.join(cls.workdir, "archive")
        cls.server = start_server(cls, "--archive-root", cls.archive)
        cls.firehose = firehose_client(cls.server)

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.server)

    def deliver(self, name, compression, records):
        """Creates a stream with `compression`, puts `records`, flushes;
        returns the one object's key and bytes."""
        self.firehose.create_delivery_stream(
            DeliveryStreamName=name,
            ExtendedS3DestinationConfiguration=s3_config(
                name, CompressionFormat=compression))
        for at in range(0, len(records), 500):
            response = self.firehose.put_record_batch(
                DeliveryStreamName=name,
                Records=[{"Data": r} for r in records[at:at + 500]])
            self.assertEqual(response["FailedPutCount"], 0)
        [obj] = flush(self.server, name)
        self.assertEqual(obj["Records"], len(records))
        with open(os.path.join(self.archive, name, obj["Key"]), "rb") as f:
            return obj["Key"], f.read()

    @staticmethod
    def records(count):
        return [f'{{"id":{i},"text":"abcabcabcabc"}}\n'.encode()
                for i in range(count)]

    def test_zip_is_an_archive_with_one_entry(self):
        records = self.records(2000)
        key, body = self.deliver("zip", "ZIP", records)
        self.assertTrue(key.endswith(".zip"), key)
        path = os.path.join(self.archive, "zip", key)
        with zipfile.ZipFile(path) as archive:
            [info] = archive.infolist()
            self.assertEqual(info.compress_type, zipfile.ZIP_DEFLATED)
            # Named after the object's UUID, as AWS was seen to name it.
            self.assertEqual(info.filename,
                             os.path.basename(key)[-len(".zip") - 36:-4])
            self.assertIsNone(archive.testzip())
            self.assertEqual(archive.read(info), b"".join(records))
        self.assertLess(len(body), len(b"".join(records)))
        if shutil.which("unzip"):
            unzip = subprocess.run(["unzip", "-p", path], capture_output=True,
                                   timeout=30)
            self.assertEqual(unzip.returncode, 0, unzip.stderr)
            self.assertEqual(unzip.stdout, b"".join(records))

    def test_snappy_is_snappy_javas_stream(self):
        records = self.records(3000)  # over 100 KiB: several blocks
        key, body = self.deliver("snappy", "Snappy", records)
        self.assertTrue(key.endswith(".snappy"), key)
        data, blocks = snappy_java(body)
        self.assertEqual(data, b"".join(records))
        self.assertGreater(blocks, 1)
        self.assertLess(len(body), len(data))

    def test_hadoop_snappy_is_hadoops_block_format(self):
        records = self.records(3000)
        key, body = self.deliver("hadoop", "HADOOP_SNAPPY", records)
        self.assertTrue(key.endswith(".snappy"), key)
        data, blocks = hadoop_snappy(body)
        self.assertEqual(data, b"".join(records))
        self.assertGreater(blocks, 1)

    def test_file_extension_overrides_the_compressions(self):
        self.firehose.create_delivery_stream(
            DeliveryStreamName="ext",
            ExtendedS3DestinationConfiguration=s3_config(
                "ext", CompressionFormat="HADOOP_SNAPPY",
                FileExtension=".hsnappy"))
        self.firehose.put_record(DeliveryStreamName="ext",
                                 Record={"Data": b"one record"})
        [obj] = flush(self.server, "ext")
        self.assertTrue(obj["Key"].endswith(".hsnappy"), obj["Key"])
        with open(os.path.join(self.archive, "ext", obj["Key"]), "rb") as f:
            self.assertEqual(hadoop_snappy(f.read())[0], b"one record")

    def test_describe_echoes_the_format(self):
        self.firehose.create_delivery_stream(
            DeliveryStreamName="echo",
            ExtendedS3DestinationConfiguration=s3_config(
                "echo", CompressionFormat="Snappy"))
        description = self.firehose.describe_delivery_stream(
            DeliveryStreamName="echo")["DeliveryStreamDescription"]
        destination = description["Destinations"][0]
        self.assertEqual(
            destination["ExtendedS3DestinationDescription"]["CompressionFormat"],
            "Snappy")


if __name__ == "__main__":
    unittest.main()
