-- wrk: POST one prompt report per request with the indicators and details
-- an operator's first report carries (bench/sizing: bytes per report).
local token = os.getenv("YG_TOKEN")
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
request = function()
	n = n + 1
	local r = math.random(1, 1000000000)
	local body = string.format('{"category":"ddos","summary":"Volumetric UDP flood against the ' ..
		'customer portal from about 3,000 sources; upstream scrubbing engaged at 10:42, ' ..
		'residual traffic still reaching the edge routers (%d/%d)",' ..
		'"detected_at":"2026-11-22T00:00:00Z","severity":"high","tlp":"TLP:AMBER",' ..
		'"category_details":{"peak_bps":48000000000,"peak_pps":9100000,' ..
		'"duration_minutes":95,"target_services":["portal","dns"]},' ..
		'"affected_computers":[{"description":"edge router pair at the Osaka exchange"}],' ..
		'"technical_details":{"attack_vector":"UDP reflection (NTP, memcached)",' ..
		'"indicators":{"addresses":["198.51.100.%d","203.0.113.0/29","192.0.2.%d"],' ..
		'"domains":["c2-%d.example.net"],"urls":["http://c2-%d.example.net/gate.php"]}},' ..
		'"impact":{"services_affected":["customer portal"],"users_affected":120000,' ..
		'"outage_minutes":35}}',
		n, r, n % 250, r % 250, r, r)
	return wrk.format(nil, nil, nil, body)
end
