"""A small CBOR (RFC 8949) encoder and decoder for the end-to-end tests,
written from the RFC and independent of the server's codec.

The encoder writes what the AWS Java SDK (v1 and v2, through Jackson's
CBORGenerator) writes for a Kinesis request: maps and arrays of indefinite
length (0xBF ... 0xFF, 0x9F ... 0xFF), definite-length text and byte strings,
integers in their shortest form, blobs as byte strings and timestamps as tag 1
with integer epoch milliseconds. The decoder reads any well-formed item and
keeps tags visible (Tagged), so tests can check how the server wrote a value,
not only what it means.
"""

import datetime
import struct
from collections import namedtuple

Tagged = namedtuple("Tagged", "tag value")


class EpochMillis(int):
    """A timestamp to send: tag 1 + integer milliseconds, as the Java SDK's
    SdkCborGenerator writes an Instant."""

    @classmethod
    def of(cls, when):
        if isinstance(when, datetime.datetime):
            delta = when - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
            return cls(delta // datetime.timedelta(milliseconds=1))
        return cls(when)


class Chunked:
    """A text or byte string sent in indefinite-length chunks (0x5F/0x7F ...
    0xFF), as Jackson streams long strings."""

    def __init__(self, value, size):
        self.value = value
        self.size = size


class Raw(bytes):
    """Bytes spliced into the output as they are (for malformed input)."""


def _head(major, argument):
    if argument < 24:
        return bytes([major << 5 | argument])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if argument < 1 << (8 * size):
            return bytes([major << 5 | info]) + argument.to_bytes(size, "big")
    raise ValueError(f"argument {argument} does not fit in 64 bits")


def encode(value, definite=False):
    """`value` as CBOR; maps and arrays of indefinite length, as the Java SDK
    writes them, unless `definite` (as most other encoders write them)."""
    out = bytearray()
    _encode(value, out, definite)
    return bytes(out)


def _encode(value, out, definite):
    if isinstance(value, Raw):
        out += value
    elif isinstance(value, EpochMillis):
        out += _head(6, 1)
        _encode(int(value), out, definite)
    elif isinstance(value, bool):
        out.append(0xF5 if value else 0xF4)
    elif value is None:
        out.append(0xF6)
    elif isinstance(value, int):
        out += _head(0, value) if value >= 0 else _head(1, -1 - value)
    elif isinstance(value, float):
        out += b"\xfb" + struct.pack(">d", value)
    elif isinstance(value, (bytes, bytearray)):
        out += _head(2, len(value)) + bytes(value)
    elif isinstance(value, str):
        data = value.encode("utf-8")
        out += _head(3, len(data)) + data
    elif isinstance(value, Chunked):
        is_text = isinstance(value.value, str)
        data = value.value.encode("utf-8") if is_text else value.value
        major = 3 if is_text else 2
        out.append(major << 5 | 31)
        for i in range(0, len(data), value.size):
            piece = data[i:i + value.size]
            out += _head(major, len(piece)) + piece
        out.append(0xFF)
    elif isinstance(value, dict):
        out += _head(5, len(value)) if definite else b"\xbf"
        for key, item in value.items():
            _encode(key, out, definite)
            _encode(item, out, definite)
        if not definite:
            out.append(0xFF)
    elif isinstance(value, (list, tuple)):
        out += _head(4, len(value)) if definite else b"\x9f"
        for item in value:
            _encode(item, out, definite)
        if not definite:
            out.append(0xFF)
    else:
        raise TypeError(f"cannot encode {type(value).__name__}")


class DecodeError(ValueError):
    pass


_BREAK = object()


def decode(data):
    """The one item `data` holds; DecodeError when malformed or followed by
    more bytes."""
    reader = _Reader(data)
    value = reader.item()
    if value is _BREAK:
        raise DecodeError("break outside an indefinite-length item")
    if reader.pos != len(data):
        raise DecodeError(f"{len(data) - reader.pos} bytes after the item")
    return value


class _Reader:
    def __init__(self, data):
        self.data = bytes(data)
        self.pos = 0

    def take(self, size):
        if self.pos + size > len(self.data):
            raise DecodeError("truncated")
        chunk = self.data[self.pos:self.pos + size]
        self.pos += size
        return chunk

    def head(self):
        first = self.take(1)[0]
        major, info = first >> 5, first & 31
        if info < 24:
            return major, info, info
        if info <= 27:
            return major, info, int.from_bytes(self.take(1 << (info - 24)), "big")
        if info == 31:
            return major, info, None
        raise DecodeError(f"reserved additional information {info}")

    def item(self):
        major, info, argument = self.head()
        if major == 0:
            return argument
        if major == 1:
            return -1 - argument
        if major in (2, 3):
            if argument is None:
                parts = []
                while True:
                    part = self.item()
                    if part is _BREAK:
                        break
                    if type(part) is not (bytes if major == 2 else str):
                        raise DecodeError("chunk of the wrong type")
                    parts.append(part)
                return (b"" if major == 2 else "").join(parts)
            raw = self.take(argument)
            return raw if major == 2 else raw.decode("utf-8")
        if major == 4:
            items = []
            while argument is None or len(items) < argument:
                item = self.item()
                if item is _BREAK:
                    if argument is not None:
                        raise DecodeError("break in a definite-length array")
                    break
                items.append(item)
            return items
        if major == 5:
            result = {}
            count = 0
            while argument is None or count < argument:
                key = self.item()
                if key is _BREAK:
                    if argument is not None:
                        raise DecodeError("break in a definite-length map")
                    break
                value = self.item()
                if value is _BREAK:
                    raise DecodeError("break where a map value belongs")
                result[key] = value
                count += 1
            return result
        if major == 6:
            return Tagged(argument, self.item())
        # major 7
        if info == 20:
            return False
        if info == 21:
            return True
        if info in (22, 23):
            return None
        if info == 25:
            return _half(argument)
        if info == 26:
            return struct.unpack(">f", argument.to_bytes(4, "big"))[0]
        if info == 27:
            return struct.unpack(">d", argument.to_bytes(8, "big"))[0]
        if info == 31:
            return _BREAK
        raise DecodeError(f"simple value {argument}")


def _half(bits):
    exponent = (bits >> 10) & 0x1F
    mantissa = bits & 0x3FF
    if exponent == 0:
        value = mantissa * 2.0 ** -24
    elif exponent != 31:
        value = (mantissa + 1024) * 2.0 ** (exponent - 25)
    else:
        value = float("inf") if mantissa == 0 else float("nan")
    return -value if bits & 0x8000 else value
