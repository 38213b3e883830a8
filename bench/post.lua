-- POST /crm/v8/Leads with 100 records per call.
local token = os.getenv("ZCRM_BENCH_TOKEN")
local n = 0
request = function()
  n = n + 1
  local recs = {}
  for i = 1, 100 do
    recs[i] = string.format(
      '{"Last_Name":"Bench %d-%d","First_Name":"Pat","Company":"Zylker %d","Email":"p%d.%d@bench.example","Phone":"+1 555 %04d","Lead_Source":"Web Download","Lead_Status":"Contacted","Annual_Revenue":%d.5}',
      n, i, i, n, i, i, n * i)
  end
  local body = '{"data":[' .. table.concat(recs, ",") .. ']}'
  return wrk.format("POST", "/crm/v8/Leads", {
    ["Authorization"] = "Zoho-oauthtoken " .. token, ["Content-Type"] = "application/json" }, body)
end
