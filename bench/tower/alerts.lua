-- wrk: POST a batch of BATCH EVE alerts per request, each with a new id
-- (bench/tower).
local token = os.getenv("YG_TOKEN")
local batch = tonumber(os.getenv("YG_BATCH") or "100")
local n = 0
local salt = tostring(math.random(1, 1000000000))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
request = function()
	n = n + 1
	local parts = {}
	for i = 1, batch do
		parts[i] = string.format('{"alert_id":"%s-%d-%d","timestamp":"2026-11-22T00:00:00.000000+0000",' ..
			'"event_type":"alert","src_ip":"203.0.113.%d","src_port":%d,"dest_ip":"10.0.%d.%d",' ..
			'"dest_port":22,"proto":"TCP","alert":{"signature_id":9100001,' ..
			'"signature":"YAGURA SCAN horizontal TCP SYN scan","severity":2}}',
			salt, n, i, i % 250, 40000 + i, n % 250, i % 250)
	end
	return wrk.format(nil, nil, nil, '{"alerts":[' .. table.concat(parts, ",") .. ']}')
end
