"""Several towers on one PostgreSQL behind nginx (issue 17): any tower
serves any request; one is killed (SIGKILL) under load from wrk and
restarted, and afterwards every write a client saw acknowledged is in
the store, the transparency log verifies, the attack-source summary has
folded every alert exactly once, and the background jobs ran one tower
at a time and retention once per interval across both.

nginx (Debian's nginx-light) balances over the two towers and passes a
request on to the other when one cannot be reached; wrk (Debian's) posts
reports, and its Lua script writes down each report the towers answered
2xx for; Python threads post alert batches beside it."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request

import common
from towerlib import Peer, Tower, fresh_pg_db, metric, pg_url

LOAD_S = 12      # wrk's run
KILL_AT = 3      # seconds into it, tower one is killed
RESTART_AT = 7   # and started again
RETENTION_S = 2  # [retention] interval: the job runs once per this across both

WRK_LUA = r'''
local token = os.getenv("YG_TOKEN")
local out = os.getenv("YG_OUT")
local threads = 0
local n = 0
local f = nil
tid = 0

function setup(thread)
	threads = threads + 1
	thread:set("tid", threads)
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token

request = function()
	n = n + 1
	return wrk.format(nil, nil, nil, string.format('{"category":"ddos",' ..
		'"summary":"towers wrk %d-%d","detected_at":"2026-11-22T00:00:00Z",' ..
		'"severity":"high"}', tid, n))
end

response = function(status, headers, body)
	if f == nil then
		f = io.open(out .. "." .. tid, "a")
		f:setvbuf("line")
	end
	if status >= 200 and status < 300 then
		f:write("ok ", (body:gsub("\n", " ")), "\n")
	else
		f:write("status ", status, "\n")
	end
end
'''


def nginx_conf(d, port, upstreams):
    tmp = os.path.join(d, "nginx-tmp")
    os.makedirs(tmp, exist_ok=True)
    servers = "".join("    server 127.0.0.1:%d max_fails=1 fail_timeout=1s;\n" % p
                      for p in upstreams)
    return """%sworker_processes 1;
daemon off;
error_log %s/nginx-error.log;
pid %s/nginx.pid;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path %s/body;
  proxy_temp_path %s/proxy;
  fastcgi_temp_path %s/fastcgi;
  uwsgi_temp_path %s/uwsgi;
  scgi_temp_path %s/scgi;
  client_max_body_size 16m;
  client_body_buffer_size 16m;
  upstream towers {
%s    keepalive 16;
  }
  server {
    listen 127.0.0.1:%d;
    location / {
      proxy_pass http://towers;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_next_upstream error timeout;
      proxy_connect_timeout 1s;
      proxy_read_timeout 60s;
      proxy_buffering off;
    }
  }
}
""" % ("user root;\n" if os.geteuid() == 0 else "", d, d, tmp, tmp, tmp, tmp, tmp, servers, port)


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def psql(store, sql):
    out = subprocess.run(["psql", store, "-Atc", sql], capture_output=True, text=True, check=True)
    return [line.split("|") for line in out.stdout.splitlines()]


def via(port, method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None
    except OSError:
        return 0, None

def main():
    a = common.parse_args()
    t = common.Checker("towers")
    pg = pg_url(a.yagura)
    if not pg:
        t.check(False, "no PostgreSQL: the pg fixture (scripts/pg-test.sh) must run first")
        t.finish()
    for tool in ("nginx", "wrk"):
        if not (shutil.which(tool) or os.path.exists("/usr/sbin/" + tool)):
            t.check(False, "%s is not installed: run scripts/setup.sh" % tool)
            t.finish()
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    with tempfile.TemporaryDirectory() as d:
        store = fresh_pg_db(pg, "tower_towers")
        keyfile = os.path.join(d, "log-key")
        conf = os.path.join(d, "tower.ini")
        with open(conf, "w") as f:
            f.write("[log]\nkey = %s\n[retention]\ninterval = %ds\n" % (keyfile, RETENTION_S))
        began = time.time()
        one = Tower(a.yagura, store, d, threads=8, extra=["--config", conf],
                    init_extra=["--log-key", keyfile])
        two = Peer(a.yagura, store, d, one.admin, threads=8, extra=["--config", conf])
        port = free_port()
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(nginx_conf(d, port, (one.port, two.port)))
        ng = subprocess.Popen([nginx, "-p", d, "-c", os.path.join(d, "nginx.conf"),
                               "-e", os.path.join(d, "nginx-error.log")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            for _ in range(100):
                if via(port, "GET", "/healthz")[0] == 200:
                    break
                time.sleep(0.05)
            t.check(via(port, "GET", "/healthz")[0] == 200, "nginx answers for the towers")
            run(t, a.yagura, store, d, port, one, two, began)
        finally:
            ng.send_signal(signal.SIGQUIT)
            try:
                ng.wait(timeout=10)
            except subprocess.TimeoutExpired:
                ng.kill()
            for tw in (one, two):
                if tw.proc.poll() is None:
                    rc = tw.stop()
                    t.check(rc == 0, "tower on port %d: exit %d on SIGTERM" % (tw.port, rc))
    t.finish()


def run(t, yagura, store, d, port, one, two, began):
    A = one.admin
    st, org, _ = one.call("POST", "/api/v1/orgs", {"name": "Grid", "sector": "electricity"}, A)
    st, u, _ = two.call("POST", "/api/v1/users", {"name": "op", "role": "operator",
                                                  "org_id": org["id"]}, A)
    st, tk, _ = one.call("POST", "/api/v1/tokens", {"user_id": u["id"]}, A)
    op = tk["token"]
    sensor = two.token_for("sensor", "sensor")
    auditor = one.token_for("auditor", "auditor")

    # Any tower serves any request: written through one, read through the
    # other, and the other way round.
    for w, r in ((one, two), (two, one)):
        st, rep, _ = w.call("POST", "/api/v1/reports", {
            "category": "malware", "summary": "written on %d" % w.port, "severity": "low",
            "detected_at": "2026-11-22T00:00:00Z"}, op)
        st2, got, _ = r.call("GET", "/api/v1/reports/%s" % rep["id"], token=op)
        t.check(st == 201 and st2 == 200 and got["report"].get("summary") == "written on %d" % w.port,
                "a report written through port %d is read through port %d: %s %s"
                % (w.port, r.port, st, st2))

    # The load: wrk posts reports through nginx; Python posts alert
    # batches beside it; tower one is killed and started again.
    lua = os.path.join(d, "reports.lua")
    with open(lua, "w") as f:
        f.write(WRK_LUA)
    out = os.path.join(d, "wrk-acked")
    env = dict(os.environ, YG_TOKEN=op, YG_OUT=out)
    wrk = subprocess.Popen(["wrk", "-t2", "-c8", "-d%ds" % LOAD_S, "-s", lua,
                            "http://127.0.0.1:%d/api/v1/reports" % port],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    acked, refused = [], []  # (time, [alert ids]) and statuses
    lock = threading.Lock()
    stop = threading.Event()

    def alerts(n):
        k = 0
        while not stop.is_set():
            ids = ["w%d-%d-%d" % (n, k, i) for i in range(20)]
            k += 1
            batch = [{"alert_id": x, "timestamp": "2026-11-22T00:00:00.000000+0000",
                      "src_ip": "198.51.100.%d" % (1 + (hash(x) % 200)), "dest_ip": "10.0.0.1",
                      "alert": {"signature_id": 9100001, "severity": 2}} for x in ids]
            st, _ = via(port, "POST", "/api/v1/alerts", {"alerts": batch}, sensor)
            with lock:
                (acked if 200 <= st < 300 else refused).append((time.time(), ids, st))

    start = time.time()
    posters = [threading.Thread(target=alerts, args=(n,)) for n in range(2)]
    for th in posters:
        th.start()
    time.sleep(KILL_AT)
    killed_at = time.time()
    one.kill()
    time.sleep(RESTART_AT - KILL_AT)
    restarted_at = time.time()
    one.start()
    wrk_out, _ = wrk.communicate(timeout=LOAD_S + 60)
    stop.set()
    for th in posters:
        th.join()
    elapsed = time.time() - start
    t.check(wrk.returncode == 0, "wrk ran: %s" % wrk_out[-500:])

    reports, statuses = [], {}
    for name in os.listdir(d):
        if name.startswith("wrk-acked."):
            for line in open(os.path.join(d, name)):
                kind, _, rest = line.rstrip("\n").partition(" ")
                if kind == "ok":
                    reports.append(json.loads(rest)["id"])
                else:
                    statuses[rest] = statuses.get(rest, 0) + 1
    during = [x for x in acked if killed_at + 0.5 < x[0] < restarted_at]
    print("towers: wrk acknowledged %d reports (others: %s); %d alert batches acknowledged, "
          "%d during the outage, %d refused (%s); %.1f s"
          % (len(reports), statuses, len(acked), len(during), len(refused),
             sorted({s for _, _, s in refused}), elapsed))
    t.check(len(reports) > 100, "wrk had %d reports acknowledged" % len(reports))
    t.check(len(during) > 0, "the other tower took the writes while one was down: %d batches"
            % len(during))
    t.check(all(s in (502, 0) for _, _, s in refused),
            "refusals are only the requests in flight at the kill: %s"
            % sorted({s for _, _, s in refused}))

    # Every acknowledged write is in the store.
    have = {int(r[0]) for r in psql(store, "SELECT id FROM reports")}
    lost = [r for r in reports if int(r) not in have]
    t.check(not lost and len(set(reports)) == len(reports),
            "every report acknowledged is stored once: %d lost of %d" % (len(lost), len(reports)))
    stored = {r[0] for r in psql(store, "SELECT alert_id FROM alerts")}
    want = {x for _, ids, _ in acked for x in ids}
    t.check(want <= stored, "every alert acknowledged is stored: %d lost of %d"
            % (len(want - stored), len(want)))
    (dups,), = psql(store, "SELECT COUNT(*) - COUNT(DISTINCT alert_id) FROM alerts")
    t.check(dups == "0", "no alert stored twice: %s" % dups)

    # The summary folds every alert once, whichever tower ran each pass.
    deadline = time.time() + 60
    while time.time() < deadline:
        (row,) = psql(store, "SELECT (SELECT COALESCE(MAX(id), 0) FROM alerts), "
                             "(SELECT COALESCE(MAX(last_id), 0) FROM rollup_state)")
        if int(row[1]) >= int(row[0]):
            break
        time.sleep(0.2)
    (row,) = psql(store, "SELECT (SELECT COUNT(*) FROM alerts), "
                         "(SELECT COALESCE(SUM(alerts), 0) FROM source_stats)")
    t.check(row[0] == row[1] and int(row[0]) >= len(want),
            "the source summary counts each alert once: %s alerts, %s counted" % tuple(row))

    # The log: every entry placed once, and it verifies.
    deadline = time.time() + 60
    while time.time() < deadline:
        (row,) = psql(store, "SELECT (SELECT COUNT(*) FROM log_entries), "
                             "(SELECT COUNT(*) FROM log_leaves)")
        if row[0] == row[1]:
            break
        time.sleep(0.2)
    t.check(row[0] == row[1], "every log entry placed: %s entries, %s leaves" % tuple(row))
    (row,) = psql(store, "SELECT COUNT(*), COUNT(DISTINCT seq), COUNT(DISTINCT idx) "
                         "FROM log_leaves")
    t.check(len(set(row)) == 1, "each entry at one index: %s" % row)
    st, vkey, _ = two.call("GET", "/log/key")
    vfile = os.path.join(d, "vkey")
    with open(vfile, "w") as f:
        f.write(vkey.strip() + "\n")
    st, note, _ = one.call("POST", "/api/v1/log/checkpoint", b"", auditor)
    p = subprocess.run([yagura, "audit", "verify", "--store", store, "--key", "@" + vfile],
                       capture_output=True, text=True, timeout=300)
    t.check(p.returncode == 0, "audit verify --store: exit %d\n%s%s"
            % (p.returncode, p.stdout[-400:], p.stderr[-400:]))

    # The jobs: retention ran once per interval across both towers, not
    # once per interval in each; the other turns were skipped.
    life = time.time() - began
    rows = psql(store, "SELECT runs, tower FROM jobs WHERE name = 'retention'")
    runs = int(rows[0][0]) if rows else 0
    t.check(1 <= runs <= life / RETENTION_S + 2,
            "retention ran %d times in %.1f s on two towers, every %d s across both"
            % (runs, life, RETENTION_S))
    skipped = sum(metric(tw, "yagura_jobs_skipped_total", 'job="retention"') or 0
                  for tw in (one, two))
    t.check(skipped > 0, "a tower left %d retention turns to the other" % skipped)
    ran = {job: sum(metric(tw, "yagura_jobs_runs_total", 'job="%s"' % job) or 0
                    for tw in (one, two)) for job in ("log", "cases", "sources")}
    t.check(all(v > 0 for v in ran.values()), "the jobs ran: %s" % ran)
    left = {job: sum(metric(tw, "yagura_jobs_skipped_total", 'job="%s"' % job) or 0
                     for tw in (one, two)) for job in ("log", "cases", "sources", "retention")}
    print("towers: retention ran %d times in %.1f s; runs since the restart %s, turns left "
          "to the other tower %s" % (runs, life, ran, left))


main()
