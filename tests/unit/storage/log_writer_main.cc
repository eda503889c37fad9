// Helper for crash_test.cc: appends records "record-<offset>" to a shard log
// forever and prints the last offset of every acknowledged append on stdout,
// one line each, flushed before the next append. The test kills it with
// SIGKILL and checks the log against what was printed.
//
// Usage: log_writer <shard-dir> <never|interval|always>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "server/storage/file_shard_log.h"

namespace {

bool WriteLine(const std::string& line) {
  std::string_view rest = line;
  while (!rest.empty()) {
    ssize_t n = ::write(STDOUT_FILENO, rest.data(), rest.size());
    if (n <= 0) return false;
    rest.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sluice::storage;
  if (argc != 3) {
    std::fprintf(stderr, "usage: log_writer <shard-dir> <fsync mode>\n");
    return 2;
  }
  std::optional<FsyncMode> mode = ParseFsyncMode(argv[2]);
  if (!mode) return 2;
  FileShardLogOptions options;
  options.directory = argv[1];
  options.fsync_mode = *mode;
  options.segment_bytes = 64 << 10;  // rolls happen inside the kill window
  auto log = FileShardLog::Open(options);
  if (!log.ok()) {
    std::fprintf(stderr, "%s\n", log.status().ToString().c_str());
    return 1;
  }
  for (uint64_t round = 0;; ++round) {
    // Alternate single appends and 10-record batches (PutRecords).
    size_t count = round % 2 == 0 ? 1 : 10;
    uint64_t first = (*log)->Tip();
    std::vector<std::string> data;
    for (size_t i = 0; i < count; ++i) {
      data.push_back("record-" + std::to_string(first + i));
    }
    std::vector<RecordToAppend> batch;
    for (const std::string& d : data) {
      batch.push_back({.partition_key = "pk", .data = d, .arrival_millis = 1});
    }
    auto appended = (*log)->AppendBatch(batch);
    if (!appended.ok()) {
      std::fprintf(stderr, "%s\n", appended.status().ToString().c_str());
      return 1;
    }
    if (!WriteLine(std::to_string(appended->back().offset) + "\n")) return 1;
  }
}
