-- wrk script for bench/ledger_http.py: POST /v1/ledger/entries with a random transfer between
-- a customer wallet and a bank account, and a unique Idempotency-Key per request.
-- CUSTOMERS, BANKS, RUN and AUTHORIZATION (the bearer token header) come from the environment.
local customers = tonumber(os.getenv("CUSTOMERS") or "10000")
local banks = tonumber(os.getenv("BANKS") or "10")
local run = os.getenv("RUN") or "wrk"
local authorization = os.getenv("AUTHORIZATION") or ""
local counter = 0
local thread_tag = tostring(math.random(1, 2147483647))
local non_201 = 0

request = function()
  counter = counter + 1
  local customer = string.format("cust.%06d", math.random(0, customers - 1))
  local bank = string.format("bank.%02d", math.random(0, banks - 1))
  local debit, credit = bank, customer
  if math.random() < 0.5 then debit, credit = customer, bank end
  local amount = math.random(1, 100000)
  local body = string.format(
    '{"postings":[{"account":"%s","side":"debit","amount":%d,"currency":"CNY"},' ..
    '{"account":"%s","side":"credit","amount":%d,"currency":"CNY"}],' ..
    '"description":"bench transfer"}', debit, amount, credit, amount)
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = authorization,
    ["Idempotency-Key"] = run .. "-" .. thread_tag .. "-" .. counter,
  }
  return wrk.format("POST", "/v1/ledger/entries", headers, body)
end

response = function(status, headers, body)
  if status ~= 201 then non_201 = non_201 + 1 end
end

done = function(summary, latency, requests)
  io.write(string.format(
    "WRK requests=%d seconds=%.3f errors=%d p50_ms=%.3f p95_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
    summary.requests, summary.duration / 1e6,
    summary.errors.status + summary.errors.connect + summary.errors.read +
      summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
