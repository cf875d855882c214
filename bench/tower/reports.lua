-- wrk: POST one prompt report per request (bench/tower).
local token = os.getenv("YG_TOKEN")
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
request = function()
	n = n + 1
	local body = string.format('{"category":"ddos","summary":"bench report %d %d",' ..
		'"detected_at":"2026-11-22T00:00:00Z","severity":"high","tlp":"TLP:AMBER"}',
		n, math.random(1, 1000000000))
	return wrk.format(nil, nil, nil, body)
end
