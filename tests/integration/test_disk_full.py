"""The disk fills up under load (issue 18): a tower whose SQLite store is on
a small tmpfs of this test's own takes reports and alert batches until the
filesystem is full. Writes it cannot make are refused (5xx, nothing
claimed), the tower does not crash, reads still answer; once there is
room again (the tmpfs made larger) it writes again without a restart.
Every write that got a 2xx is stored, and the transparency log covers
every change and verifies.

Needs root to mount the tmpfs (CI runs as root); elsewhere it is skipped."""
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

import common
from towerlib import Tower

WRITERS = 3
SIZE_MB = 6


def main():
    a = common.parse_args()
    t = common.Checker("disk_full")
    with tempfile.TemporaryDirectory() as d:
        mnt = os.path.join(d, "disk")
        os.mkdir(mnt)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm,mode=0700" % SIZE_MB,
                            "tmpfs", mnt], capture_output=True, text=True)
        if p.returncode != 0:
            print("skipped: cannot mount a tmpfs (%s): needs root" % p.stderr.strip())
            sys.exit(common.SKIP)
        try:
            run(t, a.yagura, mnt, d)
        finally:
            subprocess.run(["umount", "-l", mnt], capture_output=True)
    t.finish()


def run(t, yagura, mnt, d):
    store = os.path.join(mnt, "tower.db")
    tw = Tower(yagura, store, d, threads=8, init_extra=["--log-key", os.path.join(d, "log.key")],
               extra=["--config", conf(d)])
    A = tw.admin
    st, org, _ = tw.call("POST", "/api/v1/orgs", {"name": "Grid", "sector": "electricity"}, A)
    st, u, _ = tw.call("POST", "/api/v1/users", {"name": "op", "role": "operator",
                                                  "org_id": org["id"]}, A)
    st, tk, _ = tw.call("POST", "/api/v1/tokens", {"user_id": u["id"]}, A)
    op = tk["token"]
    sensor = tw.token_for("sensor", "sensor")
    auditor = tw.token_for("auditor", "auditor")

    acked_reports, acked_alerts, statuses = set(), set(), {}
    lock = threading.Lock()
    phase = ["filling"]
    ok_after = [0]
    stop = threading.Event()

    def writer(n):
        i = 0
        while not stop.is_set():
            i += 1
            try:
                if i % 2:
                    summary = "w%d-%d %s" % (n, i, "x" * 2000)
                    st, _, _ = tw.call("POST", "/api/v1/reports", {
                        "category": "malware", "summary": summary, "severity": "medium",
                        "detected_at": "2026-11-22T00:00:00Z"}, op)
                    done = (acked_reports, ["w%d-%d" % (n, i)])
                else:
                    ids = ["w%d-%d-%d" % (n, i, k) for k in range(50)]
                    batch = [{"alert_id": x, "timestamp": "2026-11-22T00:00:00.000000+0000",
                              "src_ip": "203.0.113.%d" % (n + 1), "dest_ip": "10.0.0.1",
                              "alert": {"signature_id": 9100001, "severity": 2}} for x in ids]
                    st, _, _ = tw.call("POST", "/api/v1/alerts", {"alerts": batch}, sensor)
                    done = (acked_alerts, ids)
            except OSError:
                st, done = 0, None
            with lock:
                statuses[st] = statuses.get(st, 0) + 1
                if 200 <= st < 300:
                    done[0].update(done[1])
                    if phase[0] == "room again":
                        ok_after[0] += 1
            if not 200 <= st < 300:
                time.sleep(0.05)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for th in threads:
        th.start()
    deadline = time.time() + 60
    while time.time() < deadline and statuses.get(503, 0) + statuses.get(500, 0) < 20:
        time.sleep(0.2)
    full = dict(statuses)
    t.check(full.get(503, 0) + full.get(500, 0) >= 20,
            "the disk filled and writes were refused: %s" % sorted(full.items()))
    t.check(tw.proc.poll() is None, "the tower is still running with the disk full")
    st, _, _ = tw.call("GET", "/api/v1/orgs", token=A)
    t.check(st == 200, "reads still answer with the disk full: %s" % st)
    # Room again, and much of it: the writers must not fill it before the
    # checks below get their turn.
    subprocess.run(["mount", "-o", "remount,size=512m", mnt], check=True)
    with lock:
        phase[0] = "room again"
    deadline = time.time() + 10
    while ok_after[0] < 200 and time.time() < deadline:
        time.sleep(0.1)
    stop.set()
    for th in threads:
        th.join()
    print("disk_full: full at %s; in all %s; %d writes after room was made"
          % (sorted(full.items()), sorted(statuses.items()), ok_after[0]))
    t.check(ok_after[0] >= 200, "writes go through again once there is room: %d" % ok_after[0])
    t.check(set(statuses) <= {200, 201, 500, 503},
            "2xx, or 5xx while the disk was full: %s" % sorted(statuses))

    with sqlite3.connect(store, timeout=30) as db:
        summaries = {json_summary(b) for (b,) in db.execute("SELECT body FROM report_versions")}
        stored = {x for (x,) in db.execute("SELECT alert_id FROM alerts")}
        n_entries = db.execute("SELECT COUNT(*) FROM log_entries").fetchone()[0]
    t.check(len(acked_reports) > 5 and acked_reports <= summaries,
            "%d reports acknowledged, %d missing" % (len(acked_reports),
                                                     len(acked_reports - summaries)))
    t.check(len(acked_alerts) > 100 and acked_alerts <= stored,
            "%d alerts acknowledged, %d missing" % (len(acked_alerts), len(acked_alerts - stored)))
    size, deadline = -1, time.time() + 30
    while size != n_entries and time.time() < deadline:
        st, note, _ = tw.call("POST", "/api/v1/log/checkpoint", b"", auditor)
        size = int(note.split("\n")[1]) if st == 200 else -1
        if size != n_entries:
            time.sleep(0.2)
    if not t.check(size == n_entries, "the log's checkpoint covers %d of %d entries: %s %s"
                   % (size, n_entries, st, str(note)[:300])):
        with open(tw.logpath) as f:
            print("".join([ln for ln in f if "log" in ln][-8:]))
    st, vkey, _ = tw.call("GET", "/log/key")
    p = subprocess.run([yagura, "audit", "verify", "--store", store, "--key", vkey.strip()],
                       capture_output=True, text=True, timeout=300)
    t.check(p.returncode == 0, "audit verify --store: %s %s" % (p.stdout[-300:], p.stderr[-300:]))
    t.check(tw.stop() == 0, "the tower stops cleanly")


def conf(d):
    path = os.path.join(d, "tower.ini")
    with open(path, "w") as f:
        f.write("[log]\nkey = %s\n" % os.path.join(d, "log.key"))
    return path


def json_summary(body):
    import json
    s = json.loads(body).get("summary", "")
    return s.split(" ")[0]


main()
