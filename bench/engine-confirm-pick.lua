-- wrk script: POST one ConfirmPick per request, each for its own fulfilment F-<n> (n from 1),
-- so every event finds its fulfilment in AWAITING_PICK. Threads interleave the numbers.
local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("index", thread_count)
  table.insert(threads, thread)
end

function init(args)
  counter = index - 1
  step = tonumber(os.getenv("WRK_THREADS") or "2")
  prefix = os.getenv("BENCH_PREFIX") or "B"
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("EVENTS_TOKEN")
end

request = function()
  counter = counter + step
  local body = string.format('{"name":"ConfirmPick","retailerId":"1","entityType":"FULFILMENT","entityRef":"%s-F-%d","rootEntityType":"ORDER","rootEntityRef":"%s-HD-%d","attributes":{"pickedItems":[{"skuRef":"SKU-1","quantity":2}],"pickedBy":"WMS"}}', prefix, counter, prefix, counter)
  return wrk.format(nil, "/api/v4.1/event/async", nil, body)
end
