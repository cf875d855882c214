-- wrk: POST a batch of BATCH EVE alerts per request (bench/tower). Each wrk
-- thread is one sensor run: alert ids are "<run>-<sequence>" as `yagura
-- analyze --post` makes them, so every alert is new unless the tower has
-- seen the run before.
local token = os.getenv("YG_TOKEN")
local batch = tonumber(os.getenv("YG_BATCH") or "100")
local threads = 0
local seq = 0
run = "run" -- replaced per thread by setup()

function setup(thread)
	threads = threads + 1
	thread:set("run", string.format("%x%x", os.time(), threads))
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token

request = function()
	local parts = {}
	for i = 1, batch do
		seq = seq + 1
		parts[i] = string.format('{"timestamp":"2026-11-22T00:00:00.000000+0000","flow_id":%d,' ..
			'"alert_id":"%s-%d","event_type":"alert","src_ip":"203.0.113.%d","src_port":%d,' ..
			'"dest_ip":"10.0.%d.%d","dest_port":22,"proto":"TCP","alert":{"action":"allowed",' ..
			'"gid":1,"signature_id":9100001,"rev":1,"signature":"YAGURA SCAN horizontal TCP SYN scan",' ..
			'"category":"Attempted Information Leak","severity":2,"metadata":{"detector":["scan"]}},' ..
			'"evidence":{"window_start":"2026-11-21T23:59:00.000000+0000",' ..
			'"window_end":"2026-11-22T00:00:00.000000+0000","packets":12,"bytes":720,' ..
			'"distinct_hosts":10,"attempts":12,"targets":["10.0.0.1","10.0.0.2"],' ..
			'"attackers":["203.0.113.%d"]}}',
			seq * 7919, run, seq, seq % 250, 40000 + i, math.floor(seq / 250) % 250, seq % 250,
			seq % 250)
	end
	return wrk.format(nil, nil, nil, '{"alerts":[' .. table.concat(parts, ",") .. ']}')
end
