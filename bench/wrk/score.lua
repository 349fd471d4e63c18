-- wrk script for bench/run: POST /v1/score (or the path given after `--`) with 1,000
-- pre-built applications that differ in applicant_id, so a hash-assigned experiment
-- spreads them over its arms. Built once in init(): request() only picks the next one.
-- The second argument is the application's feature members (`"income":131,…`, no
-- braces): bench/run takes them from `httpload --print-features`, so wrk sends the same
-- 13-feature application as every other bench client (bench/clients/bench_common.h).
local reqs = {}
local n = 1000
local k = 0

function init(args)
  local path = args[1] or "/v1/score"
  local features = args[2]
  -- A third argument "close": every request ends its connection (handshake-rate runs).
  local headers = { ["Content-Type"] = "application/json" }
  if args[3] == "close" then
    headers["Connection"] = "close"
  end
  if not features or features == "" then
    error("score.lua: pass the path and the feature members: -- /v1/score '\"income\":131,...'")
  end
  for i = 1, n do
    local body = string.format('{"applicant_id":"w%08d",%s}', i, features)
    reqs[i] = wrk.format("POST", path, headers, body)
  end
end

function request()
  k = k % n + 1
  return reqs[k]
end
