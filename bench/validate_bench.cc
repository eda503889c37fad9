// How long ValidateInput takes on the PutRecords hot path: a 500-record batch
// of 100-byte records, half with an ExplicitHashKey, parsed once and
// validated many times. Then what decoding the same batch costs in each
// codec: the JSON body (base64 data) and the CBOR body the Java SDK would send
// (byte strings, indefinite-length maps), each decoded into the document
// handlers read. Run: build/bench/validate_bench [iterations]
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/base64.h"
#include "common/cbor_codec.h"
#include "common/json.h"
#include "common/json_codec.h"
#include "server/model/service_model.h"

int main(int argc, char** argv) {
  using sluice::model::KinesisModel;
  using sluice::model::ValidateInput;
  int iterations = argc > 1 ? std::atoi(argv[1]) : 2000;

  std::string data = sluice::Base64Encode(std::string(100, 'x'));
  std::string body = R"({"StreamName": "bench-stream", "Records": [)";
  for (int i = 0; i < 500; ++i) {
    if (i > 0) body += ',';
    body += R"({"PartitionKey": "key-)" + std::to_string(i) +
            R"(", "Data": ")" + data + '"';
    if (i % 2 == 0) {
      body += R"(, "ExplicitHashKey": "1234567890123456789012345678901234567)";
      body += std::to_string(i % 10) + '"';
    }
    body += '}';
  }
  body += "]}";
  sluice::json::Document doc;
  doc.Parse<sluice::json::kParseFlags>(body.data(), body.size());
  if (doc.HasParseError()) {
    std::fprintf(stderr, "bad JSON: %s\n",
                 rapidjson::GetParseError_En(doc.GetParseError()));
    return 1;
  }

  // The first call also compiles the model's patterns; keep it out.
  if (sluice::Status s = ValidateInput(KinesisModel(), "PutRecords", doc);
      !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  // CPU time too: on a shared machine wall time counts other processes.
  auto cpu_now = [] {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 +
           static_cast<double>(ts.tv_nsec) / 1e3;
  };
  double cpu_start = cpu_now();
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) {
    if (!ValidateInput(KinesisModel(), "PutRecords", doc).ok()) return 1;
  }
  std::chrono::duration<double, std::micro> elapsed =
      std::chrono::steady_clock::now() - start;
  double cpu = cpu_now() - cpu_start;
  std::printf(
      "PutRecords, 500 records of 100 bytes: %.1f us CPU (%.1f us wall) per "
      "ValidateInput (%d iterations, %zu-byte body)\n",
      cpu / iterations, elapsed.count() / iterations, iterations, body.size());

  // The same batch as CBOR, written by our encoder, which writes maps and
  // arrays as the Java SDK's Jackson does.
  auto cbor = sluice::NewCborEncoder();
  cbor->StartObject();
  cbor->Key("StreamName");
  cbor->String("bench-stream");
  cbor->Key("Records");
  cbor->StartArray();
  for (const sluice::json::Value& record : doc["Records"].GetArray()) {
    cbor->StartObject();
    for (auto it = record.MemberBegin(); it != record.MemberEnd(); ++it) {
      std::string_view name = sluice::json::AsView(it->name);
      cbor->Key(name);
      if (name == "Data") {
        cbor->Blob(*sluice::Base64Decode(sluice::json::AsView(it->value)));
      } else {
        cbor->String(sluice::json::AsView(it->value));
      }
    }
    cbor->EndObject();
  }
  cbor->EndArray();
  cbor->EndObject();
  std::string cbor_body = cbor->Take();

  // Decoding, with a fresh copy of the body each time as the router has (the
  // JSON decoder parses in place).
  auto time_decode =
      [&](const char* name, const std::string& original,
          bool (*decode)(std::string&, sluice::json::Document&)) {
        double decode_start = cpu_now();
        for (int i = 0; i < iterations; ++i) {
          std::string copy = original;
          sluice::json::Document decoded;
          if (!decode(copy, decoded) ||
              !ValidateInput(KinesisModel(), "PutRecords", decoded).ok()) {
            std::fprintf(stderr, "%s body did not decode and validate\n", name);
            return false;
          }
        }
        std::printf(
            "  %s: %.1f us CPU per decode + ValidateInput (%zu-byte body)\n",
            name, (cpu_now() - decode_start) / iterations, original.size());
        return true;
      };
  if (!time_decode("JSON 1.1", body, sluice::DecodeJsonObject)) return 1;
  if (!time_decode("CBOR 1.1", cbor_body, sluice::DecodeCborObject)) return 1;
  return 0;
}
