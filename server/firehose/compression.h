// The CompressionFormat of an S3 destination: the bytes of an object as
// Firehose writes them, and the suffix it gives the object's name. Every
// format is deterministic (no timestamps, no file names that vary), so a
// redelivery after a crash rewrites the very same bytes.
//
//   GZIP           one gzip member (RFC 1952), mtime 0, no name        .gz
//   ZIP            a .zip archive with one deflated entry named after  .zip
//                  the object's UUID
//   Snappy         snappy-java's stream format (SnappyOutputStream):  .snappy
//                  the 16-byte header "\x82SNAPPY\0", version 1,
//                  compatible version 1, then chunks of a big-endian
//                  int32 length and a raw Snappy block (32 KiB of input)
//   HADOOP_SNAPPY  Hadoop's block format (BlockCompressorStream): per   .snappy
//                  32 KiB block a big-endian int32 uncompressed length,
//                  then int32 compressed length and a raw Snappy block
//
// docs/firehose.md says which of these points are verified against AWS.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace sluice::firehose {

// Whether Sluice writes objects in `format` (a CompressionFormat value).
bool IsSupportedCompression(std::string_view format);

// The object name suffix Firehose adds for `format` ("" for UNCOMPRESSED).
std::string_view CompressionExtension(std::string_view format);

// `body` compressed as `format`. `key` is the object's key: a ZIP archive's
// entry is named after the UUID in its name (else the name without ".zip").
// kInternalFailure for a format IsSupportedCompression() refuses.
Result<std::string> CompressObject(std::string_view format,
                                   std::string_view key, std::string body);

// A gzip member (RFC 1952) of `bytes`, with no file name and mtime 0, so the
// same input always gives the same bytes; `zcat` reads it.
Result<std::string> GzipCompress(std::string_view bytes);

// A ZIP archive holding `bytes` as the single deflated entry `entry_name`,
// dated 1980-01-01 00:00 (the earliest DOS time) so that the archive is the
// same every time. Python's zipfile and `unzip` read it. No ZIP64: inputs
// over 4 GiB are refused (objects are at most 128 MiB).
Result<std::string> ZipCompress(std::string_view entry_name,
                                std::string_view bytes);

// snappy-java's SnappyOutputStream format (see above).
std::string SnappyJavaCompress(std::string_view bytes);

// Hadoop's SnappyCodec block format (see above).
std::string HadoopSnappyCompress(std::string_view bytes);

}  // namespace sluice::firehose
