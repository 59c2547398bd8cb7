-- wrk script for scripts/bench. Configured through the environment:
--   BENCH_PATH   request path (default /)
--   BENCH_MODE   static (same URL every time), unique (a new cacheable URL per request:
--                PATH?u=TAG-THREAD-N), fill (PATH?f=K for K in [0, BENCH_FILL_N), each once,
--                then the thread stops)
--   BENCH_CLOSE  1: send "Connection: close", so every request opens a new connection
--   BENCH_TAG    makes unique URLs unique across runs and rounds
--   BENCH_THREADS, BENCH_FILL_N  for fill mode; BENCH_DONE_DIR: each thread creates a file there
--                when its share is stored (wrk's main thread sleeps the whole -d, so the caller
--                watches for the files and ends wrk with SIGINT, which still prints the totals)
-- At the end it prints one line "BENCHJSON {...}" with the totals and latency percentiles (us).
local path = os.getenv("BENCH_PATH") or "/"
local mode = os.getenv("BENCH_MODE") or "static"
local tag = os.getenv("BENCH_TAG") or "x"
local sep = string.find(path, "?", 1, true) and "&" or "?"

if os.getenv("BENCH_CLOSE") == "1" then
  wrk.headers["Connection"] = "close"
end
wrk.path = path

local nthreads = 0
function setup(thread)
  thread:set("tid", nthreads)
  nthreads = nthreads + 1
end

local counter = 0
if mode == "unique" then
  request = function()
    counter = counter + 1
    return wrk.format(nil, path .. sep .. "u=" .. tag .. "-" .. tid .. "-" .. counter)
  end
elseif mode == "fill" then
  local T = tonumber(os.getenv("BENCH_THREADS") or "1")
  local N = tonumber(os.getenv("BENCH_FILL_N") or "1000")
  local responses = 0
  local quota
  request = function()
    local k = tid + counter * T
    counter = counter + 1
    if k >= N then k = tid end          -- quota sent: repeat (hits) until the thread stops
    return wrk.format(nil, path .. sep .. "f=" .. k)
  end
  response = function(status, headers, body)
    if quota == nil then quota = math.ceil((N - tid) / T) end
    responses = responses + 1
    if responses == quota then
      local dir = os.getenv("BENCH_DONE_DIR")
      if dir then
        local f = io.open(dir .. "/done-" .. tid, "w")
        if f then f:write("done\n"); f:close() end
      end
      wrk.thread:stop()
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"bytes":%d,"duration_us":%d,"err_connect":%d,"err_read":%d,' ..
    '"err_write":%d,"err_status":%d,"err_timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d}\n',
    summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max))
end
