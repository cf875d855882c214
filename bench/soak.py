#!/usr/bin/env python3
"""bench/soak.py: thirty minutes of mixed load on one tower, for the
figures of docs/security.md (issue 18). Not a CI test: it takes half an
hour and the machine.

    bench/soak.py                         # 30 minutes, SQLite
    bench/soak.py --minutes 5 --yagura build/yagura
    bench/soak.py --store postgres        # on a private PostgreSQL (scripts/pg-test.sh)

Seven clients at once, each pausing 10 ms between its requests: an
operator filing reports, a sensor posting alert batches of 50, a partner
polling a TAXII collection, an analyst proposing countermeasure cases and
an overseer deciding them, a dashboard reading the overview, the sources
and the alerts. Every 10 s it samples the tower's resident memory
(VmRSS); per minute it takes each route's p50 and p99. At the end it
checks that every report and alert answered 2xx is in the store, that no
answer was a 5xx, and compares the first and the last quarter of the run
(after a minute of warm-up): resident memory and p99 should be flat. It
samples the tower's /metrics too, to say what the memory is made of:
SQLite's page caches (--store-cache-mib sets their bound), the rest of the
heap in use, and what malloc keeps free.
Prints a table and writes it, with the samples, to bench/out/soak/.

Exit 0 when the run held (nothing lost, no 5xx, memory within 10% and
p99 within twice the first quarter's), 1 otherwise."""
import argparse
import http.client
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from towerlib import Tower  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INDICATORS = "6b6e0ee2-5b1a-5d5e-9c5e-3f2b7c1a0002"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--yagura", default=None)
    ap.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--store-cache-mib", type=int, default=0,
                    help="the tower's SQLite page cache per connection (default: its own, 16)")
    a = ap.parse_args()
    y = a.yagura or next(p for p in (os.path.join(ROOT, "build-bench", "yagura"),
                                     os.path.join(ROOT, "build", "yagura")) if os.path.exists(p))
    out = os.path.join(ROOT, "bench", "out", "soak")
    os.makedirs(out, exist_ok=True)
    pg = None
    if a.store == "postgres":
        pg = subprocess.run([os.path.join(ROOT, "scripts", "pg-test.sh"), "start"],
                            capture_output=True, text=True, check=True).stdout.strip()
        subprocess.run(["psql", pg, "-q", "-c", "DROP DATABASE IF EXISTS tower_soak",
                        "-c", "CREATE DATABASE tower_soak"], check=True)
    with tempfile.TemporaryDirectory() as d:
        store = pg.rsplit("/", 1)[0] + "/tower_soak" if pg else os.path.join(d, "tower.db")
        ini = os.path.join(d, "tower.ini")
        with open(ini, "w") as f:
            # The attackers here are in a documentation range, which a
            # tower for real networks never blocks: a laboratory's setting.
            f.write("[cases]\nlab_allow = 198.51.100.0/24\n")
            if a.store_cache_mib:
                f.write("[tower]\nstore_cache_mib = %d\n" % a.store_cache_mib)
        tw = Tower(y, store, d, threads=16, extra=["--config", ini])
        try:
            ok = run(tw, store, a.minutes * 60, out)
        finally:
            tw.stop()
            if pg:
                subprocess.run([os.path.join(ROOT, "scripts", "pg-test.sh"), "stop"])
    sys.exit(0 if ok else 1)


def run(tw, store, secs, out):
    A = tw.admin
    st, org, _ = tw.call("POST", "/api/v1/orgs", {"name": "Grid", "sector": "electricity"}, A)
    st, u, _ = tw.call("POST", "/api/v1/users", {"name": "op", "role": "operator",
                                                  "org_id": org["id"]}, A)
    st, tk, _ = tw.call("POST", "/api/v1/tokens", {"user_id": u["id"]}, A)
    tok = {"operator": tk["token"]}
    for role in ("sensor", "analyst", "overseer"):
        tok[role] = tw.token_for(role, role)
    st, u, _ = tw.call("POST", "/api/v1/users", {"name": "meti", "role": "regulator",
                                                  "sectors": ["electricity"]}, A)
    st, tk, _ = tw.call("POST", "/api/v1/tokens", {"user_id": u["id"]}, A)
    tok["regulator"] = tk["token"]

    lat = {}      # route -> [(time, seconds)]
    statuses = {}
    acked_reports, acked_alerts = set(), set()
    lock = threading.Lock()
    stop = threading.Event()
    t0 = time.time()

    def timed(name, method, path, body=None, token=None, headers=None):
        s = time.time()
        try:
            st, ans, _ = tw.call(method, path, body, token, headers)
        except OSError:
            st, ans = 0, None
        e = time.time()
        with lock:
            lat.setdefault(name, []).append((e - t0, e - s))
            statuses[(name, st)] = statuses.get((name, st), 0) + 1
        return st, ans

    def reports():
        i = 0
        while not stop.is_set():
            i += 1
            s = "soak %d" % i
            st, _ = timed("report", "POST", "/api/v1/reports", {
                "category": "ddos", "summary": s, "severity": "high",
                "detected_at": "2026-11-22T00:00:00Z"}, tok["operator"])
            if 200 <= st < 300:
                with lock:
                    acked_reports.add(s)
            time.sleep(0.01)

    def alerts():
        i = 0
        while not stop.is_set():
            i += 1
            ids = ["soak-%d-%d" % (i, k) for k in range(50)]
            batch = [{"alert_id": x, "timestamp": "2026-11-22T00:00:00.000000+0000",
                      "src_ip": "198.51.100.%d" % (1 + (i + k) % 200), "dest_ip": "10.0.0.1",
                      "dest_port": 22, "proto": "TCP",
                      "alert": {"signature_id": 9100001, "severity": 2,
                                "signature": "YAGURA SCAN", "category": "Attempted Recon"}}
                     for k, x in enumerate(ids)]
            st, _ = timed("alerts", "POST", "/api/v1/alerts", {"alerts": batch}, tok["sensor"])
            if 200 <= st < 300:
                with lock:
                    acked_alerts.update(ids)
            time.sleep(0.01)

    def taxii():
        h = {"Accept": "application/taxii+json;version=2.1"}
        while not stop.is_set():
            timed("taxii", "GET", "/taxii2/api/collections/%s/objects/?limit=100" % INDICATORS,
                  None, tok["sensor"], h)
            time.sleep(0.01)

    def cases():
        rnd = random.Random(1)
        while not stop.is_set():
            target = "198.51.100.%d" % rnd.randint(1, 200)
            st, c = timed("case_propose", "POST", "/api/v1/cases", {
                "action": "rtbh", "target": target, "justification": "soak", "duration": "1h"},
                tok["analyst"])
            cid = (c or {}).get("case", {}).get("id") if isinstance(c, dict) else None
            if st == 201 and cid:
                verb = "approve" if rnd.random() < 0.5 else "reject"
                timed("case_decide", "POST", "/api/v1/cases/%d/%s" % (cid, verb),
                      {"reason": "soak"}, tok["overseer"])
                if verb == "approve":
                    timed("case_revoke", "POST", "/api/v1/cases/%d/revoke" % cid,
                          {"reason": "soak over"}, tok["analyst"])
            time.sleep(0.01)

    def dashboard():
        while not stop.is_set():
            timed("overview", "GET", "/api/v1/overview", None, tok["regulator"])
            timed("sources", "GET", "/api/v1/sources?limit=50", None, tok["analyst"])
            timed("alerts_read", "GET", "/api/v1/alerts?limit=100", None, tok["analyst"])
            time.sleep(0.01)

    rss = []
    mem = {"in_use": [], "free": [], "sqlite": []}  # KiB, from the tower's /metrics

    def scrape():
        c = http.client.HTTPConnection("127.0.0.1", tw.port, timeout=30)
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
        c.close()
        v = {}
        for ln in text.splitlines():
            for key, name in (("in_use", 'yagura_heap_bytes{state="in_use"} '),
                              ("free", 'yagura_heap_bytes{state="free"} '),
                              ("sqlite", "yagura_store_memory_bytes ")):
                if ln.startswith(name):
                    v[key] = float(ln[len(name):]) / 1024
        return v

    def sampler():
        while not stop.is_set():
            with open("/proc/%d/status" % tw.proc.pid) as f:
                kb = next(int(ln.split()[1]) for ln in f if ln.startswith("VmRSS:"))
            now = time.time() - t0
            rss.append((now, kb))
            try:
                for k, v in scrape().items():
                    mem[k].append((now, v))
            except OSError:
                pass
            stop.wait(10)

    threads = [threading.Thread(target=f) for f in (reports, alerts, taxii, cases, dashboard,
                                                    sampler)]
    for th in threads:
        th.start()
    try:
        while time.time() - t0 < secs:
            time.sleep(5)
            done = time.time() - t0
            print("soak: %4.0f s of %.0f, %d reports, %d alerts acknowledged, rss %d KiB"
                  % (done, secs, len(acked_reports), len(acked_alerts), rss[-1][1] if rss else 0),
                  flush=True)
    finally:
        stop.set()
        for th in threads:
            th.join()

    # Nothing lost.
    if store.startswith("postgres"):
        def column(q):
            return subprocess.run(["psql", store, "-Atc", q], capture_output=True, text=True,
                                  check=True).stdout.splitlines()
        have_r = {json.loads(b).get("summary") for b in column("SELECT body FROM report_versions")}
        have_a = set(column("SELECT alert_id FROM alerts"))
    else:
        with sqlite3.connect(store, timeout=60) as db:
            have_r = {json.loads(b).get("summary") for (b,) in
                      db.execute("SELECT body FROM report_versions")}
            have_a = {x for (x,) in db.execute("SELECT alert_id FROM alerts")}
    lost_r, lost_a = len(acked_reports - have_r), len(acked_alerts - have_a)
    fives = {k: v for k, v in statuses.items() if k[1] >= 500 or k[1] == 0}

    # Flat: the first quarter after a minute's warm-up against the last.
    # The second quarter is printed too, and the memory by tenth of the
    # run: caches that fill towards their bound level off, a leak does not.
    span = secs - 60
    q1 = (60, 60 + span / 4)
    q2 = (60 + span / 4, 60 + span / 2)
    q4 = (secs - span / 4, secs + 1)

    def in_q(samples, q):
        return [v for t, v in samples if q[0] <= t < q[1]]

    r1, r2, r4 = (statistics.mean(in_q(rss, q) or [0]) for q in (q1, q2, q4))
    lines = ["bench/soak: %.0f minutes, one tower on %s, 7 clients"
             % (secs / 60, "PostgreSQL" if store.startswith("postgres") else "SQLite"), "",
             "%-13s %8s %9s %9s %9s %9s" % ("route", "calls", "p50 ms", "p99 ms", "p99 q1",
                                            "p99 q4")]
    p99_ok = True
    for name in sorted(lat):
        xs = [v for _, v in lat[name]]
        a1, a4 = in_q(lat[name], q1), in_q(lat[name], q4)
        p = lambda v, q: statistics.quantiles(v, n=100)[q - 1] * 1000 if len(v) > 100 else 0.0  # noqa: E731
        lines.append("%-13s %8d %9.1f %9.1f %9.1f %9.1f" % (name, len(xs), p(xs, 50), p(xs, 99),
                                                            p(a1, 99), p(a4, 99)))
        if len(a1) > 100 and len(a4) > 100 and p(a4, 99) > 2 * p(a1, 99) + 5:
            p99_ok = False
    rss_ok = r1 > 0 and r4 > 0 and r4 <= r1 * 1.10  # no samples: too short to say
    lines += ["", "resident memory: %.0f KiB in the first quarter, %.0f in the second, %.0f "
              "in the last (%+.1f%%)" % (r1, r2, r4, (r4 / r1 - 1) * 100 if r1 else 0)]
    tenth = secs / 10
    lines.append("  by tenth of the run: " + ", ".join(
        "%.0f" % statistics.mean(in_q(rss, (k * tenth, (k + 1) * tenth)) or [0])
        for k in range(10)) + " KiB")
    # What the resident memory is made of (the tower's /metrics): SQLite's
    # page caches and statements, bounded by store_cache_mib per pooled
    # connection; the rest of the heap in use, which is the tower's own;
    # and what malloc keeps free in its arenas.
    own = [(t, v - s) for (t, v), (_, s) in zip(mem["in_use"], mem["sqlite"])] \
        if mem["sqlite"] else mem["in_use"]  # PostgreSQL's memory is the server's
    for name, xs in (("SQLite's caches", mem["sqlite"]), ("other heap in use", own),
                     ("malloc's free space", mem["free"])):
        if not xs:
            continue
        m1, m2, m4 = (statistics.mean(in_q(xs, q) or [0]) for q in (q1, q2, q4))
        lines.append("  %-20s %9.0f KiB first quarter, %9.0f second, %9.0f last, max %9.0f"
                     % (name, m1, m2, m4, max((v for _, v in xs), default=0)))
    lines += [
              "acknowledged: %d reports (%d missing), %d alerts (%d missing)"
              % (len(acked_reports), lost_r, len(acked_alerts), lost_a),
              "answers: %s" % ", ".join("%s %d: %d" % (k[0], k[1], v)
                                        for k, v in sorted(statuses.items())),
              "5xx or no answer: %s" % (fives or "none"),
              "verdict: %s" % ("held" if not lost_r and not lost_a and not fives and rss_ok and
                               p99_ok else "DID NOT HOLD")]
    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(out, "last-result.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(out, "rss.csv"), "w") as f:
        f.write("t_s,rss_kib\n" + "".join("%.0f,%d\n" % x for x in rss))
    return "DID NOT HOLD" not in text


main()
