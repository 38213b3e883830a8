-- GET /crm/v8/Leads/{id} over ids read from ids.txt, token from the environment.
local ids = {}
for line in io.lines(os.getenv("ZCRM_BENCH_IDS")) do ids[#ids + 1] = line end
local token = os.getenv("ZCRM_BENCH_TOKEN")
local i = 0
request = function()
  i = i + 1
  local id = ids[(i * 7919) % #ids + 1]
  return wrk.format("GET", "/crm/v8/Leads/" .. id, { ["Authorization"] = "Zoho-oauthtoken " .. token })
end
