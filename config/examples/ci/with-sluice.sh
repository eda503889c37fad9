#!/usr/bin/env bash
# Runs a command (a test suite) against a Sluice started just for it:
#
#   with-sluice.sh ARCHIVE_DIR -- COMMAND [ARG...]
#
# 1. starts `sluice serve --in-memory --port 0` in the background with the
#    streams and delivery streams of $SLUICE_CONFIG (default: sluice.json
#    next to this script), Firehose objects going to ARCHIVE_DIR;
# 2. waits (at most 30 s) for GET /health to answer;
# 3. runs COMMAND with AWS_ENDPOINT_URL and dummy credentials exported, so
#    boto3, the AWS CLI and the SDKs talk to Sluice unchanged;
# 4. flushes every delivery stream, so ARCHIVE_DIR holds every record put
#    (keep it as the job's artifact), stops Sluice with SIGTERM and exits
#    with COMMAND's status (or 1 if Sluice failed).
#
# SLUICE_BIN and SLUICE_CLI name the binaries (default: build/server/sluice
# and build/client/sluice-cli under the repository). Needs curl.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
sluice="${SLUICE_BIN:-$root/build/server/sluice}"
cli="${SLUICE_CLI:-$root/build/client/sluice-cli}"
config="${SLUICE_CONFIG:-$here/sluice.json}"

[ $# -ge 3 ] && [ "$2" = "--" ] || {
  echo "usage: with-sluice.sh ARCHIVE_DIR -- COMMAND [ARG...]" >&2
  exit 2
}
archive="$1"
shift 2

work="$(mktemp -d)"
"$sluice" serve --config "$config" --in-memory --port 0 \
  --archive-root "$archive" >"$work/stdout" 2>"$work/stderr" &
pid=$!
stop() {
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap stop EXIT

# The first line on stdout says where it listens:
#   sluice 0.1.0 listening on http://127.0.0.1:PORT (in memory)
endpoint=""
for _ in $(seq 300); do
  endpoint="$(sed -n 's/.* listening on \(http:[^ ]*\) .*/\1/p' "$work/stdout")"
  [ -n "$endpoint" ] && curl -fsS "$endpoint/health" >/dev/null 2>&1 && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "with-sluice: sluice did not start:" >&2
    cat "$work/stderr" >&2
    exit 1
  fi
  endpoint=""
  sleep 0.1
done
[ -n "$endpoint" ] || { echo "with-sluice: no /health answer in 30 s" >&2; exit 1; }
echo "with-sluice: sluice is up at $endpoint" >&2

export AWS_ENDPOINT_URL="$endpoint" AWS_ACCESS_KEY_ID=test \
  AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
status=0
"$@" || status=$?

for name in $("$cli" firehose list); do
  "$cli" firehose flush "$name" >/dev/null || status=1
done
kill -TERM "$pid"
wait "$pid" || { echo "with-sluice: sluice exited with $?" >&2; status=1; }
exit "$status"
