-- wrk script: POST /api/v4.1/event/async, one WMS pick confirmation per request, each for a new
-- fulfilment (three per order). Environment: BENCH_TOKEN, the bearer token to send.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_TOKEN") or "none")
local sequence = 0
request = function()
  sequence = sequence + 1
  local body = string.format('{"name":"ConfirmPick","retailerId":"1","entityType":"FULFILMENT","entityRef":"F-%d","entitySubtype":"HD","rootEntityType":"ORDER","rootEntityRef":"HD-%d","attributes":{"pickedItems":[{"skuRef":"SKU-1","quantity":2}],"pickedBy":"WMS"}}', sequence, math.floor(sequence / 3))
  return wrk.format(nil, "/api/v4.1/event/async", nil, body)
end
