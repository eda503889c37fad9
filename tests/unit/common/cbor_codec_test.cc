#include "common/cbor_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {
namespace {

// "a1 61 76" -> the bytes A1 61 76; spaces are for reading only.
std::string Bytes(std::string_view hex) {
  std::string out;
  int high = -1;
  for (char c : hex) {
    if (c == ' ') continue;
    int nibble = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    if (high < 0) {
      high = nibble;
    } else {
      out.push_back(static_cast<char>(high << 4 | nibble));
      high = -1;
    }
  }
  EXPECT_EQ(high, -1) << "odd number of hex digits in " << hex;
  return out;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    auto b = static_cast<unsigned char>(c);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

// Appends rather than `"..." + std::string`, which GCC 12 at -O3 warns about
// falsely (-Wrestrict).
std::string Concat(std::string head, std::string_view tail) {
  head.append(tail);
  return head;
}

std::string ToJson(const json::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// The document a whole body decodes to, as JSON text; "REFUSED" if it does
// not decode.
std::string DecodeBody(std::string body) {
  json::Document doc;
  if (!DecodeCborObject(body, doc)) return "REFUSED";
  return ToJson(doc);
}

// A body of one map {"v": <item>}: the decoder takes only maps at the top,
// so RFC 8949's examples of other items are checked inside one.
std::string InMap(std::string_view item_hex) {
  return Bytes("a1 61 76") + Bytes(item_hex);
}

// What `item_hex` decodes to as the value of "v", as JSON text, or "REFUSED".
std::string DecodeItem(std::string_view item_hex) {
  json::Document doc;
  std::string body = InMap(item_hex);
  if (!DecodeCborObject(body, doc)) return "REFUSED";
  return ToJson(doc["v"]);
}

// The number `item_hex` decodes to (NaN when refused or not a number).
double DecodeNumber(std::string_view item_hex) {
  json::Document doc;
  std::string body = InMap(item_hex);
  if (!DecodeCborObject(body, doc) || !doc["v"].IsNumber()) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  return doc["v"].GetDouble();
}

// --- RFC 8949 Appendix A ----------------------------------------------------

TEST(DecodeCborObjectTest, ReadsTheRfcIntegerExamples) {
  EXPECT_EQ(DecodeItem("00"), "0");
  EXPECT_EQ(DecodeItem("01"), "1");
  EXPECT_EQ(DecodeItem("0a"), "10");
  EXPECT_EQ(DecodeItem("17"), "23");
  EXPECT_EQ(DecodeItem("18 18"), "24");
  EXPECT_EQ(DecodeItem("18 19"), "25");
  EXPECT_EQ(DecodeItem("18 64"), "100");
  EXPECT_EQ(DecodeItem("19 03e8"), "1000");
  EXPECT_EQ(DecodeItem("1a 000f4240"), "1000000");
  EXPECT_EQ(DecodeItem("1b 000000e8d4a51000"), "1000000000000");
  EXPECT_EQ(DecodeItem("1b ffffffffffffffff"), "18446744073709551615");
  EXPECT_EQ(DecodeItem("20"), "-1");
  EXPECT_EQ(DecodeItem("29"), "-10");
  EXPECT_EQ(DecodeItem("38 63"), "-100");
  EXPECT_EQ(DecodeItem("39 03e7"), "-1000");
  EXPECT_EQ(DecodeItem("3b 7fffffffffffffff"), "-9223372036854775808");
  // Below int64: a double, as RapidJSON holds a JSON number that large.
  EXPECT_EQ(DecodeNumber("3b ffffffffffffffff"), -18446744073709551616.0);
  // Bignums (tags 2 and 3) have no place in an AWS request.
  EXPECT_EQ(DecodeItem("c2 49 010000000000000000"), "REFUSED");
  EXPECT_EQ(DecodeItem("c3 49 010000000000000000"), "REFUSED");
}

TEST(DecodeCborObjectTest, ReadsTheRfcFloatExamples) {
  EXPECT_EQ(DecodeNumber("f9 0000"), 0.0);
  EXPECT_TRUE(std::signbit(DecodeNumber("f9 8000")));
  EXPECT_EQ(DecodeNumber("f9 3c00"), 1.0);
  EXPECT_EQ(DecodeNumber("fb 3ff199999999999a"), 1.1);
  EXPECT_EQ(DecodeNumber("f9 3e00"), 1.5);
  EXPECT_EQ(DecodeNumber("f9 7bff"), 65504.0);
  EXPECT_EQ(DecodeNumber("fa 47c35000"), 100000.0);
  EXPECT_EQ(DecodeNumber("fa 7f7fffff"), 3.4028234663852886e+38);
  EXPECT_EQ(DecodeNumber("fb 7e37e43c8800759c"), 1.0e+300);
  EXPECT_EQ(DecodeNumber("f9 0001"), 5.960464477539063e-8);
  EXPECT_EQ(DecodeNumber("f9 0400"), 0.00006103515625);
  EXPECT_EQ(DecodeNumber("f9 c400"), -4.0);
  EXPECT_EQ(DecodeNumber("fb c010666666666666"), -4.1);
}

TEST(DecodeCborObjectTest, RefusesInfinitiesAndNaNWhichJsonCannotCarry) {
  for (const char* item : {"f9 7c00", "f9 7e00", "f9 fc00", "fa 7f800000",
                           "fa 7fc00000", "fa ff800000", "fb 7ff0000000000000",
                           "fb 7ff8000000000000", "fb fff0000000000000"}) {
    EXPECT_EQ(DecodeItem(item), "REFUSED") << item;
  }
}

TEST(DecodeCborObjectTest, ReadsTheRfcSimpleValueExamples) {
  EXPECT_EQ(DecodeItem("f4"), "false");
  EXPECT_EQ(DecodeItem("f5"), "true");
  EXPECT_EQ(DecodeItem("f6"), "null");
  EXPECT_EQ(DecodeItem("f7"), "null");        // undefined: JSON has only null
  EXPECT_EQ(DecodeItem("f0"), "REFUSED");     // simple(16)
  EXPECT_EQ(DecodeItem("f8 ff"), "REFUSED");  // simple(255)
}

TEST(DecodeCborObjectTest, ReadsTheRfcTagExamplesTheAwsWay) {
  // AWS's CBOR protocol puts epoch *milliseconds* under tag 1 (RFC 8949 says
  // seconds); handlers get seconds, as from JSON.
  EXPECT_EQ(DecodeNumber("c1 1a 514b67b0"), 1363896.240);
  EXPECT_EQ(DecodeNumber("c1 fb 41d452d9ec200000"), 1363896240.5 / 1000.0);
  EXPECT_EQ(DecodeItem("c0 74 323031332d30332d32315432303a30343a30305a"),
            "REFUSED");
  EXPECT_EQ(DecodeItem("d7 44 01020304"), "REFUSED");
  EXPECT_EQ(DecodeItem("d8 18 45 6449455446"), "REFUSED");
  EXPECT_EQ(DecodeItem("d8 20 76 687474703a2f2f7777772e6578616d706c652e636f6d"),
            "REFUSED");
}

TEST(DecodeCborObjectTest, ReadsTheRfcStringExamples) {
  EXPECT_EQ(DecodeItem("40"), R"("")");
  EXPECT_EQ(DecodeItem("44 01020304"), R"("AQIDBA==")");  // bytes as base64
  EXPECT_EQ(DecodeItem("60"), R"("")");
  EXPECT_EQ(DecodeItem("61 61"), R"("a")");
  EXPECT_EQ(DecodeItem("64 49455446"), R"("IETF")");
  EXPECT_EQ(DecodeItem("62 225c"), R"("\"\\")");
  EXPECT_EQ(DecodeItem("62 c3bc"), "\"\xc3\xbc\"");
  EXPECT_EQ(DecodeItem("63 e6b0b4"), "\"\xe6\xb0\xb4\"");
  EXPECT_EQ(DecodeItem("64 f0908591"), "\"\xf0\x90\x85\x91\"");
  EXPECT_EQ(DecodeItem("5f 42 0102 43 030405 ff"), R"("AQIDBAU=")");
  EXPECT_EQ(DecodeItem("7f 65 7374726561 64 6d696e67 ff"), R"("streaming")");
  EXPECT_EQ(DecodeItem("5f ff"), R"("")");
  EXPECT_EQ(DecodeItem("7f ff"), R"("")");
}

TEST(DecodeCborObjectTest, ReadsTheRfcArrayAndMapExamples) {
  EXPECT_EQ(DecodeItem("80"), "[]");
  EXPECT_EQ(DecodeItem("83 010203"), "[1,2,3]");
  EXPECT_EQ(DecodeItem("83 01 820203 820405"), "[1,[2,3],[4,5]]");
  std::string one_to_25 = "[1";
  for (int i = 2; i <= 25; ++i) {
    one_to_25 += ',';
    one_to_25 += std::to_string(i);
  }
  one_to_25 += "]";
  EXPECT_EQ(DecodeItem("98 19 0102030405060708090a0b0c0d0e0f10111213141516"
                       "17 1818 1819"),
            one_to_25);
  EXPECT_EQ(DecodeItem("a0"), "{}");
  EXPECT_EQ(DecodeItem("a2 6161 01 6162 820203"), R"({"a":1,"b":[2,3]})");
  EXPECT_EQ(DecodeItem("82 6161 a1 6162 6163"), R"(["a",{"b":"c"}])");
  EXPECT_EQ(DecodeItem("a5 6161 6141 6162 6142 6163 6143 6164 6144 6165 6145"),
            R"({"a":"A","b":"B","c":"C","d":"D","e":"E"})");
  // Integer keys are fine CBOR, but JSON objects (and AWS shapes) have only
  // string keys.
  EXPECT_EQ(DecodeItem("a2 01020304"), "REFUSED");
}

TEST(DecodeCborObjectTest, ReadsTheRfcIndefiniteLengthExamples) {
  EXPECT_EQ(DecodeItem("9f ff"), "[]");
  EXPECT_EQ(DecodeItem("9f 01 820203 9f0405ff ff"), "[1,[2,3],[4,5]]");
  EXPECT_EQ(DecodeItem("9f 01 820203 820405 ff"), "[1,[2,3],[4,5]]");
  EXPECT_EQ(DecodeItem("83 01 820203 9f0405ff"), "[1,[2,3],[4,5]]");
  EXPECT_EQ(DecodeItem("83 01 9f0203ff 820405"), "[1,[2,3],[4,5]]");
  EXPECT_EQ(DecodeItem("bf 6161 01 6162 9f0203ff ff"), R"({"a":1,"b":[2,3]})");
  EXPECT_EQ(DecodeItem("82 6161 bf 6162 6163 ff"), R"(["a",{"b":"c"}])");
  EXPECT_EQ(DecodeItem("bf 6346756e f5 63416d74 21 ff"),
            R"({"Fun":true,"Amt":-2})");
  EXPECT_EQ(DecodeItem("bf ff"), "{}");
}

// --- what the Java SDK sends ----------------------------------------------

TEST(DecodeCborObjectTest, ReadsAJavaSdkPutRecordsRequest) {
  // {_ "Records": [_ {_ "Data": h'00ff', "PartitionKey": "k"}],
  //    "StreamName": "s"}, written as Jackson writes it.
  std::string body = Bytes(
      "bf 67 5265636f726473 9f bf 64 44617461 42 00ff"
      " 6c 506172746974696f6e4b6579 61 6b ff ff"
      " 6a 53747265616d4e616d65 61 73 ff");
  EXPECT_EQ(DecodeBody(body),
            R"({"Records":[{"Data":"AP8=","PartitionKey":"k"}],)"
            R"("StreamName":"s"})");
}

TEST(DecodeCborObjectTest, TurnsTagOneMillisecondsIntoEpochSeconds) {
  // GetShardIterator AT_TIMESTAMP as the Java SDK writes it.
  EXPECT_EQ(DecodeNumber("c1 1b 0000018bcfe5687b"), 1700000000.123);
  EXPECT_EQ(DecodeNumber("c1 00"), 0.0);
  EXPECT_EQ(DecodeNumber("c1 20"), -0.001);              // before 1970
  EXPECT_EQ(DecodeNumber("c1 fa 47c35000"), 100.0);      // a float, ms
  EXPECT_EQ(DecodeNumber("1a 6553f100"), 1700000000.0);  // untagged: as is
  EXPECT_EQ(DecodeItem("c1 61 31"), "REFUSED");          // not a number
  EXPECT_EQ(DecodeItem("c1 c1 00"), "REFUSED");          // tag on a tag
  EXPECT_EQ(DecodeItem("c1 f9 7c00"), "REFUSED");        // infinite
  EXPECT_EQ(DecodeItem("c1 f6"), "REFUSED");             // null
  EXPECT_EQ(DecodeItem("c1"), "REFUSED");                // no content
}

TEST(DecodeCborObjectTest, IgnoresTheSelfDescribedCborTag) {
  EXPECT_EQ(DecodeBody(Bytes("d9d9f7 a1 6161 01")), R"({"a":1})");
  EXPECT_EQ(DecodeItem("d9d9f7 01"), "1");
}

TEST(DecodeCborObjectTest, ConcatenatesByteChunksBeforeBase64) {
  // Base64 of each chunk on its own would be "AQ==Agm=": wrong.
  EXPECT_EQ(DecodeItem("5f 41 01 42 0203 ff"), R"("AQID")");
  EXPECT_EQ(DecodeItem("41 00"), R"("AA==")");
  EXPECT_EQ(DecodeItem("42 0000"), R"("AAA=")");
  EXPECT_EQ(DecodeItem("43 000000"), R"("AAAA")");
}

TEST(DecodeCborObjectTest, KeepsKeysInOrderWithDuplicatesAsJsonDoes) {
  EXPECT_EQ(DecodeBody(Bytes("a2 6161 01 6161 02")), R"({"a":1,"a":2})");
}

// --- refused input ----------------------------------------------------------

TEST(DecodeCborObjectTest, TakesOnlyOneMapAtTheTop) {
  EXPECT_EQ(DecodeBody(""), "REFUSED");
  EXPECT_EQ(DecodeBody(Bytes("a0")), "{}");
  EXPECT_EQ(DecodeBody(Bytes("80")), "REFUSED");
  EXPECT_EQ(DecodeBody(Bytes("9f ff")), "REFUSED");
  EXPECT_EQ(DecodeBody(Bytes("01")), "REFUSED");
  EXPECT_EQ(DecodeBody(Bytes("61 61")), "REFUSED");
  EXPECT_EQ(DecodeBody(Bytes("f6")), "REFUSED");
  EXPECT_EQ(DecodeBody(Bytes("c1 a0")), "REFUSED");
  EXPECT_EQ(DecodeBody(Bytes("a0 00")), "REFUSED");  // trailing bytes
  EXPECT_EQ(DecodeBody(Bytes("a0 a0")), "REFUSED");
  EXPECT_EQ(DecodeBody(Bytes("bf ff ff")), "REFUSED");
  EXPECT_EQ(DecodeBody("{}"), "REFUSED");  // JSON is not CBOR
}

TEST(DecodeCborObjectTest, RefusesKeysThatAreNotText) {
  EXPECT_EQ(DecodeBody(Bytes("a1 01 02")), "REFUSED");
  EXPECT_EQ(DecodeBody(Bytes("a1 41 61 02")), "REFUSED");     // bytes
  EXPECT_EQ(DecodeBody(Bytes("a1 f6 02")), "REFUSED");        // null
  EXPECT_EQ(DecodeBody(Bytes("a1 80 02")), "REFUSED");        // array
  EXPECT_EQ(DecodeBody(Bytes("a1 c1 61 61 02")), "REFUSED");  // tagged
  EXPECT_EQ(DecodeBody(Bytes("bf 7f 61 61 ff 02 ff")), R"({"a":2})");
}

TEST(DecodeCborObjectTest, RefusesTextThatIsNotUtf8) {
  EXPECT_EQ(DecodeItem("62 c328"), "REFUSED");      // bad continuation
  EXPECT_EQ(DecodeItem("62 c080"), "REFUSED");      // overlong NUL
  EXPECT_EQ(DecodeItem("63 e08080"), "REFUSED");    // overlong
  EXPECT_EQ(DecodeItem("63 eda080"), "REFUSED");    // a surrogate
  EXPECT_EQ(DecodeItem("64 f4908080"), "REFUSED");  // above U+10FFFF
  EXPECT_EQ(DecodeItem("61 ff"), "REFUSED");
  EXPECT_EQ(DecodeItem("61 80"), "REFUSED");               // lone continuation
  EXPECT_EQ(DecodeItem("62 e6b0"), "REFUSED");             // cut short
  EXPECT_EQ(DecodeBody(Bytes("a1 61 ff 01")), "REFUSED");  // in a key
  // Each chunk of a text string must hold whole characters.
  EXPECT_EQ(DecodeItem("7f 61 c3 61 bc ff"), "REFUSED");
  EXPECT_EQ(DecodeItem("7f 62 c3bc ff"), "\"\xc3\xbc\"");
  // Byte strings may hold anything.
  EXPECT_EQ(DecodeItem("41 ff"), R"("/w==")");
}

// RFC 8949 Appendix F: every class of malformed item, inside a map.
TEST(DecodeCborObjectTest, RefusesEveryRfcMalformedExample) {
  // The wrapper itself is fine: what follows is refused for the item alone.
  ASSERT_EQ(DecodeItem("00"), "0");
  const char* kMalformed[] = {
      // end of input in a head
      "18", "19", "1a", "1b", "19 01", "1a 0102", "1b 01020304050607", "38",
      "58", "78", "98", "9a 01ff00", "b8", "d8", "e0", "f8", "f9 00", "fa 0000",
      "fb 000000",
      // definite-length strings with short data
      "41", "61", "5a ffffffff 00", "5b ffffffffffffffff 010203",
      "7a ffffffff 00", "7b 7fffffffffffffff 010203",
      // definite-length maps and arrays without enough items
      "81", "81 81 81 81 81 81 81 81 81", "82 00", "a1", "a2 0102", "a1 00",
      "a2 000000",
      // a tag without content
      "c0",
      // indefinite-length strings without a break
      "5f 41 00", "7f 61 00",
      // indefinite-length maps and arrays without a break
      "9f", "9f 01 02", "bf", "bf 01 02 01 02", "81 9f", "9f 80 00",
      "9f 9f 9f 9f 9f ff ff ff ff", "9f 81 9f 81 9f 9f ff ff ff",
      // reserved additional information
      "1c", "1d", "1e", "3c", "3d", "3e", "5c", "5d", "5e", "7c", "7d", "7e",
      "9c", "9d", "9e", "bc", "bd", "be", "dc", "dd", "de", "fc", "fd", "fe",
      // reserved two-byte encodings of simple values
      "f8 00", "f8 01", "f8 18", "f8 1f",
      // chunks of the wrong type
      "5f 00 ff", "5f 21 ff", "5f 61 00 ff", "5f 80 ff", "5f a0 ff",
      "5f c0 00 ff", "5f e0 ff", "7f 41 00 ff",
      // chunks of indefinite length
      "5f 5f 41 00 ff ff", "7f 7f 61 00 ff ff",
      // a break outside an indefinite-length item
      "ff",
      // a break inside a definite-length array, map or tag
      "81 ff", "82 00 ff", "a1 ff", "a1 ff 00", "a1 00 ff", "a2 00 00 ff",
      "9f 81 ff", "9f 82 9f 81 9f 9f ff ff ff ff", "c1 ff",
      // a break where a map value belongs
      "bf 00 ff", "bf 00 00 00 ff", "bf 61 61 ff",
      // indefinite length for integers and tags
      "1f", "3f", "df"};
  for (const char* item : kMalformed) {
    EXPECT_EQ(DecodeItem(item), "REFUSED") << item;
  }
}

TEST(DecodeCborObjectTest, RefusesCountsTheInputCannotHoldBeforeAllocating) {
  // These would ask for 2^64-1 items or bytes; refused at once.
  EXPECT_EQ(DecodeItem("9b ffffffffffffffff"), "REFUSED");
  EXPECT_EQ(DecodeItem("bb ffffffffffffffff"), "REFUSED");
  EXPECT_EQ(DecodeItem("bb 8000000000000000 6161 01"), "REFUSED");
  EXPECT_EQ(DecodeItem("5b ffffffffffffffff"), "REFUSED");
  EXPECT_EQ(DecodeItem("7b ffffffffffffffff"), "REFUSED");
  EXPECT_EQ(DecodeItem("5f 5b ffffffffffffffff ff"), "REFUSED");
  // Exactly enough input is fine.
  EXPECT_EQ(DecodeItem("82 00 00"), "[0,0]");
  EXPECT_EQ(DecodeItem("a1 6161 00"), R"({"a":0})");
}

TEST(DecodeCborObjectTest, RefusesNestingDeeperThanJsonAllows) {
  // The map at the top counts as one level, as JSON's object does.
  auto nested = [](size_t arrays) {
    return Bytes("a1 6161") + std::string(arrays, '\x81') + Bytes("00");
  };
  auto nested_indefinite = [](size_t arrays) {
    return Bytes("a1 6161") + std::string(arrays, '\x9f') +
           std::string(arrays, '\xff');
  };
  EXPECT_NE(DecodeBody(nested(999)), "REFUSED");
  EXPECT_EQ(DecodeBody(nested(1000)), "REFUSED");
  EXPECT_NE(DecodeBody(nested_indefinite(999)), "REFUSED");
  EXPECT_EQ(DecodeBody(nested_indefinite(1000)), "REFUSED");
  EXPECT_EQ(DecodeBody(nested_indefinite(1000000)), "REFUSED");
}

// --- encoding ---------------------------------------------------------------

std::string Encoded(void (*write)(Encoder&)) {
  auto out = NewCborEncoder();
  write(*out);
  return Hex(out->Take());
}

TEST(CborEncoderTest, WritesIndefiniteContainersAndDefiniteStrings) {
  auto out = NewCborEncoder();
  EXPECT_TRUE(out->Empty());
  out->StartObject();
  EXPECT_FALSE(out->Empty());
  out->Key("a");
  out->StartArray();
  out->String("IETF");
  out->Bool(true);
  out->Bool(false);
  out->Null();
  out->EndArray();
  out->EndObject();
  EXPECT_EQ(Hex(out->Take()), "bf61619f6449455446f5f4f6ffff");
}

TEST(CborEncoderTest, WritesIntegersInTheirShortestForm) {
  auto hex_of = [](int64_t value) {
    auto out = NewCborEncoder();
    out->Int(value);
    return Hex(out->Take());
  };
  EXPECT_EQ(hex_of(0), "00");
  EXPECT_EQ(hex_of(23), "17");
  EXPECT_EQ(hex_of(24), "1818");
  EXPECT_EQ(hex_of(255), "18ff");
  EXPECT_EQ(hex_of(256), "190100");
  EXPECT_EQ(hex_of(65535), "19ffff");
  EXPECT_EQ(hex_of(65536), "1a00010000");
  EXPECT_EQ(hex_of(4294967295), "1affffffff");
  EXPECT_EQ(hex_of(4294967296), "1b0000000100000000");
  EXPECT_EQ(hex_of(std::numeric_limits<int64_t>::max()), "1b7fffffffffffffff");
  EXPECT_EQ(hex_of(-1), "20");
  EXPECT_EQ(hex_of(-24), "37");
  EXPECT_EQ(hex_of(-25), "3818");
  EXPECT_EQ(hex_of(-1000), "3903e7");
  EXPECT_EQ(hex_of(std::numeric_limits<int64_t>::min()), "3b7fffffffffffffff");
}

TEST(CborEncoderTest, WritesDoublesAsSinglesWhenNothingIsLost) {
  auto hex_of = [](double value) {
    auto out = NewCborEncoder();
    out->Double(value);
    return Hex(out->Take());
  };
  EXPECT_EQ(hex_of(1.5), "fa3fc00000");
  EXPECT_EQ(hex_of(100000.0), "fa47c35000");
  EXPECT_EQ(hex_of(1.1), "fb3ff199999999999a");
  EXPECT_EQ(hex_of(1.0e300), "fb7e37e43c8800759c");
}

TEST(CborEncoderTest, WritesBlobsAsByteStringsAndTimestampsAsTagOneMillis) {
  EXPECT_EQ(Encoded([](Encoder& out) { out.Blob(std::string("\x00\xff", 2)); }),
            "4200ff");
  EXPECT_EQ(Encoded([](Encoder& out) { out.Blob(""); }), "40");
  EXPECT_EQ(Encoded([](Encoder& out) { out.Blob(std::string(24, 'x')); }),
            Concat("5818", Hex(std::string(24, 'x'))));
  EXPECT_EQ(Encoded([](Encoder& out) { out.Timestamp(1700000000123); }),
            "c11b0000018bcfe5687b");
  EXPECT_EQ(Encoded([](Encoder& out) { out.Timestamp(0); }), "c100");
  EXPECT_EQ(Encoded([](Encoder& out) { out.Timestamp(-1); }), "c120");
}

TEST(CborEncoderTest, WritesLongStringsWithTheirLength) {
  std::string text(300, 'a');
  EXPECT_EQ(Encoded([](Encoder& out) { out.String(std::string(300, 'a')); }),
            Concat("79012c", Hex(text)));
}

// --- round trips
// --------------------------------------------------------------

TEST(CborRoundTripTest, WhatTheEncoderWritesDecodesToWhatJsonWouldGive) {
  auto out = NewCborEncoder();
  out->StartObject();
  out->Key("Records");
  out->StartArray();
  out->StartObject();
  out->Key("Data");
  out->Blob(std::string("\x00\xff", 2));
  out->Key("ApproximateArrivalTimestamp");
  out->Timestamp(1700000000123);
  out->Key("SequenceNumber");
  out->String("4959");
  out->EndObject();
  out->EndArray();
  out->Key("MillisBehindLatest");
  out->Int(0);
  out->Key("Negative");
  out->Int(-70000);
  out->Key("Ratio");
  out->Double(0.25);
  out->Key("Flag");
  out->Bool(false);
  out->Key("Nothing");
  out->Null();
  out->Key("Text");
  out->String("\xe6\xb0\xb4");
  out->EndObject();
  std::string body = out->Take();
  json::Document doc;
  ASSERT_TRUE(DecodeCborObject(body, doc));
  EXPECT_EQ(json::AsView(doc["Records"][0]["Data"]), "AP8=");
  EXPECT_EQ(doc["Records"][0]["ApproximateArrivalTimestamp"].GetDouble(),
            1700000000.123);
  EXPECT_EQ(json::AsView(doc["Records"][0]["SequenceNumber"]), "4959");
  EXPECT_EQ(doc["MillisBehindLatest"].GetInt64(), 0);
  EXPECT_EQ(doc["Negative"].GetInt64(), -70000);
  EXPECT_EQ(doc["Ratio"].GetDouble(), 0.25);
  EXPECT_FALSE(doc["Flag"].GetBool());
  EXPECT_TRUE(doc["Nothing"].IsNull());
  EXPECT_EQ(json::AsView(doc["Text"]), "\xe6\xb0\xb4");
}

TEST(CborRoundTripTest, MillisecondTimestampsComeBackToTheSameMillisecond) {
  // Handlers turn the seconds back into milliseconds with floor(s * 1000) or
  // llround(s * 1000); the nearest double to ms / 1000 alone fails the first
  // for some values, e.g. 1089724113116.
  std::mt19937_64 random(7);
  for (int i = 0; i < 100000; ++i) {
    auto millis = static_cast<int64_t>(random() % 4102444800000);  // to 2100
    auto out = NewCborEncoder();
    out->StartObject();
    out->Key("t");
    out->Timestamp(millis);
    out->EndObject();
    std::string body = out->Take();
    json::Document doc;
    ASSERT_TRUE(DecodeCborObject(body, doc));
    double seconds = doc["t"].GetDouble();
    ASSERT_EQ(static_cast<int64_t>(std::floor(seconds * 1000.0)), millis);
    ASSERT_EQ(std::llround(seconds * 1000.0), millis);
  }
}

// --- hostile input
// --------------------------------------------------------------

// A request with every kind of item, for cutting and mutating.
std::string RichBody() {
  return Bytes(
      "d9d9f7 bf 67 5265636f726473 9f bf 64 44617461 5f 42 00ff 41 01 ff"
      " 6c 506172746974696f6e4b6579 7f 61 6b 62 c3bc ff ff"
      " a2 61 61 c1 1b 0000018bcfe5687b 61 62 83 f9 3e00 fa 47c35000"
      " fb 3ff199999999999a ff"
      " 6a 53747265616d4e616d65 61 73 61 6e 3b 7fffffffffffffff"
      " 61 74 f5 61 66 f4 61 7a f6 61 75 f7 ff");
}

TEST(CborFuzzTest, EveryTruncationOfAValidBodyIsRefused) {
  std::string body = RichBody();
  ASSERT_NE(DecodeBody(body), "REFUSED");
  for (size_t size = 0; size < body.size(); ++size) {
    EXPECT_EQ(DecodeBody(body.substr(0, size)), "REFUSED") << size;
  }
}

TEST(CborFuzzTest, MutatedAndRandomBodiesNeverCrash) {
  std::mt19937 random(2024);
  std::string rich = RichBody();
  int decoded = 0;
  for (int i = 0; i < 200000; ++i) {
    std::string body;
    if (i % 2 == 0) {
      // Flip one to three bytes of a valid body.
      body = rich;
      int flips = 1 + static_cast<int>(random() % 3);
      for (int f = 0; f < flips; ++f) {
        body[random() % body.size()] = static_cast<char>(random());
      }
    } else {
      // A map head, then random bytes.
      body.push_back(
          static_cast<char>(i % 4 == 1 ? 0xbf : 0xa0 + random() % 4));
      size_t size = random() % 48;
      for (size_t k = 0; k < size; ++k) {
        body.push_back(static_cast<char>(random()));
      }
    }
    json::Document doc;
    if (DecodeCborObject(body, doc)) {
      ++decoded;
      EXPECT_TRUE(doc.IsObject());
    }
  }
  // Some mutations (e.g. inside string contents) still decode; the test must
  // have exercised the success path too.
  EXPECT_GT(decoded, 0);
}

}  // namespace
}  // namespace sluice
