-- wrk script for bench/run: POST /v1/score (or the path given after `--`) with 1,000
-- pre-built applications that differ in applicant_id, so a hash-assigned experiment
-- spreads them over its arms. Built once in init(): request() only picks the next one.
local reqs = {}
local n = 1000
local k = 0

function init(args)
  local path = args[1] or "/v1/score"
  for i = 1, n do
    local body = string.format(
      '{"applicant_id":"w%08d","income":%d,"loan_amount":%d,"credit_history":%d}',
      i, 20000 + (i * 7919) % 90000, 1000 + (i * 104729) % 20000, i % 2)
    reqs[i] = wrk.format("POST", path, { ["Content-Type"] = "application/json" }, body)
  end
end

function request()
  k = k % n + 1
  return reqs[k]
end
