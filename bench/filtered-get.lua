-- wrk script: GET /api/v4.1/event filtered by one order's audit events, for a random order.
-- Environment: BENCH_TOKEN (bearer token), BENCH_ROOTS (how many orders were seeded).
local roots = tonumber(os.getenv("BENCH_ROOTS") or "1000")
local token = os.getenv("BENCH_TOKEN") or "none"
math.randomseed(os.time())
request = function()
  local path = string.format("/api/v4.1/event?context.rootEntityType=ORDER&context.rootEntityRef=HD-%d&eventType=ORCHESTRATION_AUDIT",
    math.random(0, roots - 1))
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end
