#!/usr/bin/env python3
"""bench/dashboard - what each page of the dashboard asks the tower for,
timed on a store of 100,000 alerts and 10,000 reports (issue 15; the
target is a page's data in under 300 ms; bench/README.md).

Fills a fresh tower through its API as the platform would be filled: two
operators in two sectors with registered assets, a sensor posting alerts
in batches of 1000 (against the assets and elsewhere), the operators
filing reports. Then logs in as each role with a password, as the browser
does (a session cookie), and asks for each page's data REPEAT times on one
keep-alive connection: the median, 95th percentile and worst, and the
ratio to /healthz on the same connection (the bare cost of a request: the
reference). A page that loads several answers is timed as their sum.

Usage: dashbench.py YAGURA STORE [ALERTS [REPORTS]]"""
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

REPEAT = int(os.environ.get("BENCH_REPEAT", "30"))
PW = "bench password of the dashboard"


class Conn:
    def __init__(self, port, token=None):
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.token, self.cookie, self.csrf = token, None, None

    def call(self, method, path, body=None):
        h = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        if self.cookie:
            h["Cookie"] = "yagura_session=" + self.cookie
            if method != "GET":
                h["X-CSRF-Token"] = self.csrf
        self.c.request(method, path, body=data, headers=h)
        r = self.c.getresponse()
        raw = r.read()
        if r.status >= 400:
            sys.exit("%s %s: HTTP %d %s" % (method, path, r.status, raw[:300]))
        for k, v in r.getheaders():
            if k.lower() == "set-cookie" and v.startswith("yagura_session="):
                self.cookie = v.split(";")[0].split("=", 1)[1]
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw

    def login(self, name):
        self.csrf = self.call("POST", "/api/v1/session", {"name": name, "password": PW})["csrf"]
        return self


def fill(port, admin, n_alerts, n_reports):
    a = Conn(port, admin)
    orgs = [a.call("POST", "/api/v1/orgs", {"name": n, "sector": s})["id"]
            for n, s in (("Kanto Power", "electricity"), ("Kinki Water", "water"))]
    people = [("op-e", "operator", orgs[0], None), ("op-w", "operator", orgs[1], None),
              ("reg-e", "regulator", None, ["electricity"]), ("analyst", "analyst", None, None),
              ("overseer", "overseer", None, None), ("auditor", "auditor", None, None)]
    ids = {}
    for name, role, org, sectors in people:
        b = {"name": name, "role": role}
        if org:
            b["org_id"] = org
        if sectors:
            b["sectors"] = sectors
        ids[name] = a.call("POST", "/api/v1/users", b)["id"]
        a.call("PUT", "/api/v1/users/%d/password" % ids[name], {"password": PW})
    sid = a.call("POST", "/api/v1/users", {"name": "sensor", "role": "sensor"})["id"]
    sensor = Conn(port, a.call("POST", "/api/v1/tokens", {"user_id": sid})["token"])
    for i, op in enumerate(("op-e", "op-w")):
        Conn(port).login(op).call("POST", "/api/v1/assets",
                                  {"product": "SCADA HMI", "addresses": ["10.%d.0.0/16" % (i + 1)]})
    rnd = random.Random(1)
    t0 = time.time()
    now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    for b in range(0, n_alerts, 1000):
        batch = []
        for i in range(b, min(b + 1000, n_alerts)):
            src = "203.0.%d.%d" % (rnd.randrange(0, 4), rnd.randrange(1, 255))
            dst = "10.%d.%d.%d" % (rnd.randrange(1, 4), rnd.randrange(0, 256),
                                    rnd.randrange(1, 255))
            batch.append({"alert_id": "b-%d" % i, "timestamp": now + ".000000+0000",
                          "event_type": "alert", "src_ip": src, "dest_ip": dst, "proto": "TCP",
                          "alert": {"signature_id": 9100001, "signature": "YAGURA scan",
                                    "severity": 2, "metadata": {"detector": ["scan"]}},
                          "evidence": {"attackers": [src], "distinct_hosts": 40}})
        sensor.call("POST", "/api/v1/alerts", {"alerts": batch})
    t1 = time.time()
    ops = [Conn(port).login("op-e"), Conn(port).login("op-w")]
    cats = ["ddos", "ransomware", "malware", "unauthorised_access", "data_breach", "other"]
    for i in range(n_reports):
        ops[i % 2].call("POST", "/api/v1/reports", {
            "category": cats[i % len(cats)], "summary": "Report %d of the bench" % i,
            "severity": ["low", "medium", "high", "critical"][i % 4],
            "detected_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                         time.gmtime(time.time() - rnd.randrange(0, 90 * 86400))),
            "tlp": "TLP:AMBER"})
    t2 = time.time()
    an = Conn(port).login("analyst")
    src = an.call("GET", "/api/v1/sources?limit=1")["sources"][0]["ip"]
    an.call("POST", "/api/v1/sources/%s/case" % src,
            {"action": "rtbh", "duration": "7d", "justification": "bench"})
    print("filled: %d alerts in %.1f s (%.0f/s), %d reports in %.1f s (%.0f/s)" %
          (n_alerts, t1 - t0, n_alerts / max(t1 - t0, 1e-9), n_reports, t2 - t1,
           n_reports / max(t2 - t1, 1e-9)))


def timed(conn, paths):
    out = []
    for _ in range(REPEAT):
        t = time.perf_counter()
        for p in paths:
            conn.call("GET", p)
        out.append((time.perf_counter() - t) * 1000)
    out.sort()
    return statistics.median(out), out[int(len(out) * 0.95) - 1], out[-1]


def main():
    yagura, store = sys.argv[1], sys.argv[2]
    n_alerts = int(sys.argv[3]) if len(sys.argv) > 3 else 100000
    n_reports = int(sys.argv[4]) if len(sys.argv) > 4 else 10000
    work = tempfile.mkdtemp()
    admin = subprocess.run([yagura, "admin", "init", "--store", store, "--log-key",
                            os.path.join(work, "log.key")], capture_output=True, text=True,
                           check=True).stdout.strip()
    port = 18000 + os.getpid() % 1000
    log = open(os.path.join(work, "tower.log"), "w")
    tw = subprocess.Popen([yagura, "tower", "--listen", "127.0.0.1:%d" % port, "--store", store],
                          stdout=log, stderr=log)
    try:
        for _ in range(100):
            try:
                Conn(port).call("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        fill(port, admin, n_alerts, n_reports)
        an, op, reg, au = (Conn(port).login(n) for n in ("analyst", "op-e", "reg-e", "auditor"))
        first = an.call("GET", "/api/v1/reports?limit=50")
        deep = an.call("GET", "/api/v1/reports?limit=1000")
        for _ in range(4):
            deep = an.call("GET", "/api/v1/reports?limit=1000&before=%d" % deep["next_before"])
        rid = first["reports"][0]["id"]
        alerts = an.call("GET", "/api/v1/alerts?limit=1000")
        for _ in range(49):
            alerts = an.call("GET", "/api/v1/alerts?limit=1000&before=%d" % alerts["next_before"])
        src = an.call("GET", "/api/v1/sources?limit=1")["sources"][0]["ip"]
        pages = [
            ("/healthz (the reference)", an, ["/healthz"]),
            ("login (Argon2id)", None, None),
            ("overview, analyst", an, ["/api/v1/overview?days=7", "/api/v1/sources?limit=10"]),
            ("overview, operator", op, ["/api/v1/overview?days=7"]),
            ("overview, regulator", reg, ["/api/v1/overview?days=7"]),
            ("reports, first page", an, ["/api/v1/reports?limit=50"]),
            ("reports, page at 5,000", an,
             ["/api/v1/reports?limit=50&before=%d" % deep["next_before"]]),
            ("reports, filtered", an, ["/api/v1/reports?limit=50&stage=prompt&sector=water"]),
            ("reports, overdue", an, ["/api/v1/reports?limit=50&overdue=true"]),
            ("report detail", an, ["/api/v1/reports/%d" % rid]),
            ("alerts, first page", an, ["/api/v1/alerts?limit=50"]),
            ("alerts, page at 50,000", an,
             ["/api/v1/alerts?limit=50&before=%d" % alerts["next_before"]]),
            ("alerts, operator", op, ["/api/v1/alerts?limit=50"]),
            ("source drill-down", an, ["/api/v1/sources?limit=50",
                                       "/api/v1/alerts?limit=50&src_ip=%s" % src]),
            ("cases", an, ["/api/v1/cases?limit=50"]),
            ("audit: checkpoint and key", au, ["/log/checkpoint", "/log/key"]),
        ]
        ref = None
        print("%-28s %9s %9s %9s %8s" % ("page", "median ms", "p95 ms", "max ms", "x ref"))
        for name, conn, paths in pages:
            if conn is None:
                ms = []
                for _ in range(min(REPEAT, 10)):
                    c = Conn(port)
                    t = time.perf_counter()
                    c.login("op-e")
                    ms.append((time.perf_counter() - t) * 1000)
                ms.sort()
                med, p95, mx = statistics.median(ms), ms[-2], ms[-1]
            else:
                med, p95, mx = timed(conn, paths)
            ref = ref or med
            # Logging in is slow on purpose (Argon2id), once a session: not a page.
            over = p95 > 300 and conn is not None
            print("%-28s %9.2f %9.2f %9.2f %8.0f%s" % (name, med, p95, mx, med / ref,
                                                      "  OVER 300 ms" if over else ""))
    finally:
        tw.terminate()
        tw.wait()


main()
