-- wrk script for bench/run: PutRecord or PutRecords against a Kinesis endpoint.
--
--   wrk -t2 -c32 -d10s -s kinesis_put.lua http://127.0.0.1:PORT/ -- \
--       STREAM RECORDS_PER_REQUEST RECORD_BYTES
--
-- RECORDS_PER_REQUEST = 0 sends PutRecord (one record per request); N >= 1
-- sends PutRecords with N records. Each record carries RECORD_BYTES random
-- bytes (base64 in the JSON body) and a random partition key.
--
-- Request bodies are built once per thread in init() (a pool, cycled through),
-- so wrk spends its CPU on sending, not on building JSON. At the end one line
-- starting with "WRKJSON " carries the counts and latency percentiles that
-- bench/http_bench.py reads.

local stream, per_request, record_bytes
local requests = {}
local next_request = 1
failed_records = 0   -- globals: read from done() through thread:get()
bad_bodies = 0

local threads = {}
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

-- Base64 text of `n` random bytes, canonical (unused low bits zero).
local function random_base64(n)
  local out = {}
  local full = math.floor(n / 3)
  for i = 1, full * 4 do
    local k = math.random(1, 64)
    out[#out + 1] = alphabet:sub(k, k)
  end
  local rest = n % 3
  if rest == 1 then
    local a = math.random(1, 64)
    local b = math.random(0, 3) * 16 + 1
    out[#out + 1] = alphabet:sub(a, a) .. alphabet:sub(b, b) .. "=="
  elseif rest == 2 then
    local a, b = math.random(1, 64), math.random(1, 64)
    local c = math.random(0, 15) * 4 + 1
    out[#out + 1] = alphabet:sub(a, a) .. alphabet:sub(b, b) ..
                    alphabet:sub(c, c) .. "="
  end
  return table.concat(out)
end

local function random_key()
  return string.format("pk-%08x%08x", math.random(0, 0x7fffffff),
                       math.random(0, 0x7fffffff))
end

function init(args)
  stream = args[1] or "bench-put"
  per_request = tonumber(args[2] or "0")
  record_bytes = tonumber(args[3] or "100")
  math.randomseed(os.time() * 1000 + (id or 0) * 7919)

  -- 64 distinct payloads per thread; every record gets its own random key.
  local payloads = {}
  for i = 1, 64 do payloads[i] = random_base64(record_bytes) end

  local headers = {
    ["Content-Type"] = "application/x-amz-json-1.1",
    ["X-Amz-Date"] = "20240101T000000Z",
    ["Authorization"] = "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=0",
  }

  -- Pool size: ~1024 requests for PutRecord, fewer for large batches (the
  -- pool of 100 x 10 KiB bodies is ~5.5 MB per thread).
  local pool
  if per_request == 0 then
    pool = 1024
    headers["X-Amz-Target"] = "Kinesis_20131202.PutRecord"
  else
    pool = math.max(4, math.min(64, math.floor(2000000 / (per_request * (record_bytes + 60)))))
    headers["X-Amz-Target"] = "Kinesis_20131202.PutRecords"
  end

  for i = 1, pool do
    local body
    if per_request == 0 then
      body = '{"StreamName":"' .. stream .. '","PartitionKey":"' .. random_key() ..
             '","Data":"' .. payloads[math.random(1, 64)] .. '"}'
    else
      local parts = {}
      for r = 1, per_request do
        parts[r] = '{"Data":"' .. payloads[math.random(1, 64)] ..
                   '","PartitionKey":"' .. random_key() .. '"}'
      end
      body = '{"StreamName":"' .. stream .. '","Records":[' ..
             table.concat(parts, ",") .. ']}'
    end
    requests[i] = wrk.format("POST", "/", headers, body)
  end
end

function request()
  local r = requests[next_request]
  next_request = next_request + 1
  if next_request > #requests then next_request = 1 end
  return r
end

-- PutRecords answers 200 even when some records failed (throttled or
-- errored): count those from FailedRecordCount so records/s is honest.
-- PutRecord needs no body check: any failure is a non-2xx status, which wrk
-- counts itself.
function response(status, headers, body)
  if per_request ~= 0 and status == 200 then
    local n = body:match('"FailedRecordCount"%s*:%s*(%d+)')
    if n then
      failed_records = failed_records + tonumber(n)
    else
      bad_bodies = bad_bodies + 1
    end
  end
end

function done(summary, latency, reqs)
  local failed, bad = 0, 0
  for _, t in ipairs(threads) do
    failed = failed + (t:get("failed_records") or 0)
    bad = bad + (t:get("bad_bodies") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,' ..
    '"failed_records":%d,"bad_bodies":%d,' ..
    '"lat_mean_us":%.1f,"lat_p50_us":%d,"lat_p90_us":%d,"lat_p99_us":%d,"lat_max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    failed, bad,
    latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
