// A Kinesis CBOR exchange through Jackson's CBOR generator and parser, the
// library both AWS Java SDKs (and so the KCL) write and read CBOR with. Writes
// requests exactly as the SDK's SdkCborGenerator does (writeStartObject, which
// is an indefinite-length map; writeBinary for blobs; writeTag(1) +
// writeNumber(epoch millis) for timestamps) and reads every answer with
// CBORParser as the SDK's unmarshaller does.
//
// Run by test_kinesis_jackson_cbor.py as a single-file program:
//   java -cp jackson-core.jar:jackson-dataformat-cbor.jar JacksonCborClient.java PORT
// Prints "REQUEST <operation> <hex>" for each request it sends (the test
// compares them with its own encoder's bytes) and "OK" at the end; any check
// that fails throws, so the exit code is not 0.
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import com.fasterxml.jackson.dataformat.cbor.CBORGenerator;
import com.fasterxml.jackson.dataformat.cbor.CBORParser;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

public class JacksonCborClient {
  static final CBORFactory FACTORY = new CBORFactory();
  static int port;

  // What one parsed value was: its token, the tag before it (-1 for none)
  // and its value (String, Long, byte[], Map or null).
  record Item(JsonToken token, int tag, Object value) {}

  interface Body {
    void write(CBORGenerator g) throws Exception;
  }

  static void check(boolean condition, String what) {
    if (!condition) throw new AssertionError(what);
  }

  // Reads the value at the parser's current token, as the SDK's tree parser
  // walks a response.
  static Item read(CBORParser p) throws Exception {
    JsonToken t = p.getCurrentToken();
    int tag = p.getCurrentTag();
    switch (t) {
      case START_OBJECT: {
        Map<String, Item> map = new LinkedHashMap<>();
        while (p.nextToken() != JsonToken.END_OBJECT) {
          String name = p.getCurrentName();
          p.nextToken();
          map.put(name, read(p));
        }
        return new Item(t, tag, map);
      }
      case START_ARRAY: {
        Map<String, Item> list = new LinkedHashMap<>();
        int i = 0;
        while (p.nextToken() != JsonToken.END_ARRAY) list.put(Integer.toString(i++), read(p));
        return new Item(t, tag, list);
      }
      case VALUE_STRING:
        return new Item(t, tag, p.getText());
      case VALUE_NUMBER_INT:
        return new Item(t, tag, p.getLongValue());
      case VALUE_EMBEDDED_OBJECT:
        return new Item(t, tag, p.getBinaryValue());
      case VALUE_TRUE:
      case VALUE_FALSE:
        return new Item(t, tag, p.getBooleanValue());
      default:
        return new Item(t, tag, null);
    }
  }

  static Map<String, Item> call(String operation, Body body, int expectedStatus) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (CBORGenerator g = FACTORY.createGenerator(bytes)) {
      g.writeStartObject();
      body.write(g);
      g.writeEndObject();
    }
    byte[] request = bytes.toByteArray();
    System.out.println("REQUEST " + operation + " " + HexFormat.of().formatHex(request));

    HttpURLConnection c = (HttpURLConnection) new URL("http://127.0.0.1:" + port + "/").openConnection();
    c.setRequestMethod("POST");
    c.setDoOutput(true);
    c.setRequestProperty("Content-Type", "application/x-amz-cbor-1.1");
    c.setRequestProperty("X-Amz-Target", "Kinesis_20131202." + operation);
    c.setRequestProperty("X-Amz-Date", "20240101T000000Z");
    c.setRequestProperty("Authorization",
        "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/kinesis/aws4_request, "
            + "SignedHeaders=host;x-amz-date, Signature=abc");
    try (OutputStream out = c.getOutputStream()) {
      out.write(request);
    }
    int status = c.getResponseCode();
    check(status == expectedStatus, operation + ": status " + status);
    check("application/x-amz-cbor-1.1".equals(c.getContentType()),
        operation + ": Content-Type " + c.getContentType());
    byte[] answer;
    try (InputStream in = status < 400 ? c.getInputStream() : c.getErrorStream()) {
      answer = in.readAllBytes();
    }
    if (answer.length == 0) return Map.of();
    try (CBORParser p = FACTORY.createParser(answer)) {
      check(p.nextToken() == JsonToken.START_OBJECT, operation + ": not a map");
      @SuppressWarnings("unchecked")
      Map<String, Item> result = (Map<String, Item>) read(p).value();
      check(p.nextToken() == null, operation + ": bytes after the answer");
      return result;
    }
  }

  @SuppressWarnings("unchecked")
  static Map<String, Item> map(Item item) {
    return (Map<String, Item>) item.value();
  }

  static void checkMillis(Item item, long low, long high, String what) {
    check(item.token() == JsonToken.VALUE_NUMBER_INT, what + " is not an integer: " + item);
    check(item.tag() == 1, what + " has tag " + item.tag());
    long millis = (Long) item.value();
    check(millis >= low && millis <= high, what + " = " + millis + " not in [" + low + ", " + high + "]");
  }

  public static void main(String[] args) throws Exception {
    port = Integer.parseInt(args[0]);
    long before = System.currentTimeMillis();
    call("CreateStream", g -> {
      g.writeFieldName("StreamName");
      g.writeString("jackson");
      g.writeFieldName("ShardCount");
      g.writeNumber(1);
    }, 200);
    Map<String, Item> summary = map(call("DescribeStreamSummary", g -> {
      g.writeFieldName("StreamName");
      g.writeString("jackson");
    }, 200).get("StreamDescriptionSummary"));
    checkMillis(summary.get("StreamCreationTimestamp"), before - 1000,
        System.currentTimeMillis(), "StreamCreationTimestamp");

    byte[] data = new byte[256];
    for (int i = 0; i < data.length; ++i) data[i] = (byte) i;
    Map<String, Item> put = call("PutRecord", g -> {
      g.writeFieldName("StreamName");
      g.writeString("jackson");
      g.writeFieldName("Data");
      g.writeBinary(data);
      g.writeFieldName("PartitionKey");
      g.writeString("k");
    }, 200);
    String sequenceNumber = (String) put.get("SequenceNumber").value();

    long arrivalCeiling = System.currentTimeMillis();
    String iterator = (String) call("GetShardIterator", g -> {
      g.writeFieldName("StreamName");
      g.writeString("jackson");
      g.writeFieldName("ShardId");
      g.writeString("shardId-000000000000");
      g.writeFieldName("ShardIteratorType");
      g.writeString("AT_TIMESTAMP");
      g.writeFieldName("Timestamp");
      g.writeTag(1);
      g.writeNumber(before - 60_000);
    }, 200).get("ShardIterator").value();

    Map<String, Item> page = call("GetRecords", g -> {
      g.writeFieldName("ShardIterator");
      g.writeString(iterator);
      g.writeFieldName("Limit");
      g.writeNumber(10);
    }, 200);
    Map<String, Item> records = map(page.get("Records"));
    check(records.size() == 1, "records: " + records);
    Map<String, Item> record = map(records.get("0"));
    Item got = record.get("Data");
    check(got.token() == JsonToken.VALUE_EMBEDDED_OBJECT, "Data is " + got.token());
    check(Arrays.equals((byte[]) got.value(), data), "Data differs");
    check(sequenceNumber.equals(record.get("SequenceNumber").value()), "SequenceNumber differs");
    checkMillis(record.get("ApproximateArrivalTimestamp"), before - 1000, arrivalCeiling + 1000,
        "ApproximateArrivalTimestamp");
    check(((Long) page.get("MillisBehindLatest").value()) == 0, "MillisBehindLatest");

    Map<String, Item> error = call("DescribeStreamSummary", g -> {
      g.writeFieldName("StreamName");
      g.writeString("nosuch");
    }, 400);
    check("ResourceNotFoundException".equals(error.get("__type").value()), "__type " + error);
    check("Stream nosuch under account 000000000000 not found.".equals(error.get("message").value()),
        "message " + error);
    System.out.println("OK");
  }
}
