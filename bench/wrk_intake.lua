-- wrk script for warroom's intake bench. bench/intake_wrk.py runs it; by hand, against a running server:
--
--   WRK_KIND=pagerduty WRK_INTEGRATION_KEY=<key> WRK_SECONDS=8 \
--     wrk -t2 -c32 -d10s --timeout 10s -s bench/wrk_intake.lua http://127.0.0.1:8000
--
-- WRK_KIND             pagerduty: POST /v2/enqueue (the key is the body's routing_key);
--                      opsgenie: POST /v2/alerts (the key in "Authorization: GenieKey <key>");
--                      alertmanager: POST /intake/alertmanager/<key>; healthz: GET /healthz
-- WRK_INTEGRATION_KEY  the integration's intake key (not needed for healthz)
-- WRK_SECONDS          how long to send; after that delay() keeps every connection idle, so the requests
--                      in flight are answered before wrk stops (give wrk's -d a second or two more)
-- WRK_TAG              1-255, different per run: part of every alert's key
-- WRK_RATE             optional: requests per second to send in all (open loop), spread evenly; without
--                      it each connection sends its next request as soon as the last is answered
-- WRK_THREADS          with WRK_RATE: wrk's -t (each thread sends WRK_RATE / WRK_THREADS a second)
--
-- Every alert carries a key of its own (the PagerDuty dedup_key, the Opsgenie alias, the Alertmanager
-- fingerprint): 16 hex
-- digits of WRK_TAG, the wrk thread's number and a per-thread counter. response() counts the answers by
-- status; done() prints one line, "WRK_RESULT {json}", with the counts, wrk's socket errors and its latency
-- percentiles (microseconds).

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } wrk_intake_timespec;
int clock_gettime(int clock_id, wrk_intake_timespec *tp);
]])
local CLOCK_MONOTONIC = 1 -- one clock for all threads, so done() can compare their times
local IDLE_MS = 3600 * 1000
local LATE_SECONDS = 0.01 -- paced: a request sent this long after its slot is counted late
local timespec = ffi.new("wrk_intake_timespec")

local function now()
   ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
   return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) * 1e-9
end

local kind = os.getenv("WRK_KIND") or "pagerduty"
local integration_key = os.getenv("WRK_INTEGRATION_KEY") or ""
local seconds = tonumber(os.getenv("WRK_SECONDS") or "") or math.huge
local tag = tonumber(os.getenv("WRK_TAG") or "") or 1
local started = os.date("!%Y-%m-%dT%H:%M:%SZ")
local json_headers = { ["Content-Type"] = "application/json" }
local opsgenie_headers = { ["Content-Type"] = "application/json", ["Authorization"] = "GenieKey " .. integration_key }

local function pagerduty_body(key, number)
   local host = "db-" .. (number % 50)
   return table.concat({
      '{"routing_key": "', integration_key, '", "event_action": "trigger", "dedup_key": "', key, '", ',
      '"payload": {"summary": "bench: disk almost full on ', host, '", ',
      '"source": "', host, '.bench.example.org", "severity": "critical", "component": "postgres", ',
      '"group": "storage", "class": "disk", ',
      '"custom_details": {"free_percent": ', number % 10, ', "mount": "/var/lib/postgresql"}}, ',
      '"client": "bench", "client_url": "https://monitoring.example.org/bench"}',
   })
end

local function opsgenie_body(alias, number)
   local host = "db-" .. (number % 50)
   return table.concat({
      '{"message": "bench: disk almost full on ', host, '", "alias": "', alias, '", ',
      '"description": "Free space on /var/lib/postgresql is below 10 percent.", ',
      '"tags": ["bench", "storage"], "details": {"free_percent": "', number % 10, '", ',
      '"mount": "/var/lib/postgresql"}, "entity": "', host, '.bench.example.org", ',
      '"source": "bench", "priority": "P1"}',
   })
end

local function alertmanager_body(fingerprint, number)
   local instance = "web-" .. (number % 50) .. ".bench.example.org:9100"
   local runbook = '"runbook_url": "https://runbooks.example.org/high-latency"'
   return table.concat({
      '{"version": "4", "groupKey": "{}/{severity=\\"critical\\"}:{alertname=\\"BenchHighLatency\\"}", ',
      '"truncatedAlerts": 0, "status": "firing", "receiver": "warroom", ',
      '"groupLabels": {"alertname": "BenchHighLatency"}, ',
      '"commonLabels": {"alertname": "BenchHighLatency", "severity": "critical", "job": "node"}, ',
      '"commonAnnotations": {', runbook, '}, "externalURL": "http://alertmanager.example.org:9093", ',
      '"alerts": [{"status": "firing", "labels": {"alertname": "BenchHighLatency", "severity": "critical", ',
      '"job": "node", "instance": "', instance, '"}, ',
      '"annotations": {"summary": "p99 latency above 500 ms on ', instance, '", ',
      '"description": "The 5-minute p99 of http_request_duration_seconds is above 0.5 s.", ', runbook, '}, ',
      '"startsAt": "', started, '", "endsAt": "0001-01-01T00:00:00Z", ',
      '"generatorURL": "http://prometheus.example.org:9090/graph?g0.expr=latency_p99+%3E+0.5", ',
      '"fingerprint": "', fingerprint, '"}]}',
   })
end

-- setup() runs in wrk's main Lua state once per thread, before that thread's init(); done() runs there too
-- and reads each thread's counters (globals of the thread's own Lua state) with thread:get().
local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("id", #threads)
end

sent, answered, statuses, first_at, last_at, late, late_max = 0, 0, {}, 0, 0, 0, 0
local rate = tonumber(os.getenv("WRK_RATE") or "") or 0
local thread_count = tonumber(os.getenv("WRK_THREADS") or "") or 1
local interval, next_at = 0, 0 -- paced: this thread's seconds between two requests, and its next slot
local counter, stop_at, unsent_check = 0, math.huge, false

function init(args)
   stop_at = now() + seconds
   if rate > 0 then
      interval = thread_count / rate
   end
   -- wrk calls the first thread's request() once to check that it parses, and never sends that request
   unsent_check = id == 1
end

function delay()
   local t = now()
   if t >= stop_at then
      return IDLE_MS -- time is up: this connection sends nothing more until wrk stops
   end
   if interval == 0 then
      return 0
   end
   -- Each request takes the thread's next slot, whichever connection sends it: an even rate. A slot that
   -- passed with no connection free to send it (every one awaiting an answer, or wrk itself not given a
   -- CPU) is sent at once, late, not dropped: an open loop keeps its schedule, as wrk2 does. Dropping
   -- them (as this script did) offered less than asked whenever either side stalled: in a storm on this
   -- 2-core machine, 2,154 of 96,000 slots, most of the shortfall between asked and served.
   if next_at == 0 then
      next_at = t
   else
      next_at = next_at + interval
   end
   if t - next_at > LATE_SECONDS then
      late = late + 1
   end
   late_max = math.max(late_max, t - next_at)
   return math.max(next_at - t, 0) * 1000
end

function request()
   counter = counter + 1
   if unsent_check then
      unsent_check = false
   else
      sent = sent + 1
      if first_at == 0 then
         first_at = now()
      end
   end
   if kind == "healthz" then
      return wrk.format("GET", "/healthz")
   end
   local key = string.format("%02x%02x%012x", tag, id, counter)
   if kind == "opsgenie" then
      return wrk.format("POST", "/v2/alerts", opsgenie_headers, opsgenie_body(key, counter))
   end
   if kind == "alertmanager" then
      local path = "/intake/alertmanager/" .. integration_key
      return wrk.format("POST", path, json_headers, alertmanager_body(key, counter))
   end
   return wrk.format("POST", "/v2/enqueue", json_headers, pagerduty_body(key, counter))
end

function response(status, headers, body)
   answered = answered + 1
   local code = tostring(status)
   statuses[code] = (statuses[code] or 0) + 1
   last_at = now()
end

local function totals()
   local sum = {
      sent = 0, answered = 0, statuses = {}, first_at = math.huge, last_at = 0, late = 0, late_max = 0,
   }
   for _, thread in ipairs(threads) do
      sum.sent = sum.sent + thread:get("sent")
      sum.answered = sum.answered + thread:get("answered")
      for code, count in pairs(thread:get("statuses")) do
         sum.statuses[code] = (sum.statuses[code] or 0) + count
      end
      local first = thread:get("first_at")
      if first > 0 and first < sum.first_at then
         sum.first_at = first
      end
      sum.last_at = math.max(sum.last_at, thread:get("last_at"))
      sum.late = sum.late + thread:get("late")
      sum.late_max = math.max(sum.late_max, thread:get("late_max"))
   end
   return sum
end

function done(summary, latency, requests)
   local sum = totals()
   local codes = {}
   for code, count in pairs(sum.statuses) do
      table.insert(codes, string.format('"%s": %d', code, count))
   end
   local elapsed = sum.last_at > sum.first_at and sum.last_at - sum.first_at or 0
   local e = summary.errors
   io.write(string.format(
      'WRK_RESULT {"kind": "%s", "threads": %d, "sent": %d, "answered": %d, "late": %d, '
         .. '"late_max_ms": %.1f, "statuses": {%s}, '
         .. '"elapsed_s": %.6f, "duration_us": %d, "requests": %d, "errors": {"connect": %d, "read": %d, '
         .. '"write": %d, "status": %d, "timeout": %d}, "latency_us": {"p50": %.0f, "p90": %.0f, '
         .. '"p99": %.0f, "max": %.0f, "mean": %.1f}}\n',
      kind, #threads, sum.sent, sum.answered, sum.late, sum.late_max * 1000, table.concat(codes, ", "),
      elapsed, summary.duration, summary.requests, e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean
   ))
end
