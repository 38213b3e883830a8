-- One request from the environment: ZCRM_BENCH_METHOD, ZCRM_BENCH_PATH, ZCRM_BENCH_BODY, ZCRM_BENCH_TOKEN.
local method = os.getenv("ZCRM_BENCH_METHOD") or "GET"
local path = os.getenv("ZCRM_BENCH_PATH")
local body = os.getenv("ZCRM_BENCH_BODY")
local headers = { ["Authorization"] = "Zoho-oauthtoken " .. os.getenv("ZCRM_BENCH_TOKEN") }
if body and body ~= "" then headers["Content-Type"] = "application/json" else body = nil end
request = function()
  return wrk.format(method, path, headers, body)
end
