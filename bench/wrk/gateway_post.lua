-- wrk script for bench/gateway_bench.py: POSTs one e-commerce event (JSON,
-- as pipelines.md describes them) per request to an ingestion-gateway route
-- with an API key.
--
--   wrk -t2 -c32 -d10s -s gateway_post.lua http://127.0.0.1:PORT/api/events \
--       -- API_KEY
--
-- Bodies are built once per thread in init() (a pool, cycled through). The
-- last line, "WRKJSON {...}", has the same fields as kinesis_put.lua's.

local requests = {}
local next_request = 1

local threads = {}
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

local types = { "page_view", "add_to_cart", "purchase" }

function init(args)
  local key = args[1] or "bench-key"
  math.randomseed(os.time() * 1000 + (id or 0) * 7919)
  local headers = {
    ["Content-Type"] = "application/json",
    ["x-api-key"] = key,
  }
  for i = 1, 1024 do
    local kind = types[math.random(1, #types)]
    local body = string.format(
      '{"event_id":"%08x-%04x","event_type":"%s","user_id":"user-%d",' ..
      '"timestamp":"2026-12-02T08:%02d:%02dZ","page":"/products/widget-%d",' ..
      '"product_id":"widget-%d","quantity":%d,"price":19.99,"amount":%d.99,' ..
      '"currency":"USD","device":"desktop"}',
      math.random(0, 0x7fffffff), math.random(0, 0xffff), kind,
      math.random(1, 1000), math.random(0, 59), math.random(0, 59),
      math.random(1, 50), math.random(1, 50), math.random(1, 5),
      math.random(1, 900))
    requests[i] = wrk.format("POST", nil, headers, body)
  end
end

function request()
  local r = requests[next_request]
  next_request = next_request + 1
  if next_request > #requests then next_request = 1 end
  return r
end

function done(summary, latency, reqs)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,' ..
    '"failed_records":0,"bad_bodies":0,' ..
    '"lat_mean_us":%.1f,"lat_p50_us":%d,"lat_p90_us":%d,"lat_p99_us":%d,"lat_max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
