-- PUT /crm/v8/Leads/{id}: one record updated per call (a new Lead_Status and
-- Annual_Revenue each time), over ids read from ids.txt.
local ids = {}
for line in io.lines(os.getenv("ZCRM_BENCH_IDS")) do ids[#ids + 1] = line end
local headers = { ["Authorization"] = "Zoho-oauthtoken " .. os.getenv("ZCRM_BENCH_TOKEN"),
                  ["Content-Type"] = "application/json" }
local statuses = { "Contacted", "Not Contacted", "Attempted to Contact", "Junk Lead" }
local i = 0
request = function()
  i = i + 1
  local id = ids[(i * 7919) % #ids + 1]
  local body = string.format('{"data":[{"Lead_Status":"%s","Annual_Revenue":%d}]}', statuses[i % 4 + 1], i)
  return wrk.format("PUT", "/crm/v8/Leads/" .. id, headers, body)
end
