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
import time

import common
from towerlib import Load, Tower, log_verified

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
    who = tw.cast()
    op, sensor, auditor = who["operator"], who["sensor"], who["auditor"]

    load = Load(tw, op, sensor, writers=WRITERS, batch=50, pad=2000).start()
    statuses = load.statuses
    deadline = time.time() + 60
    while time.time() < deadline and statuses.get(503, 0) + statuses.get(500, 0) < 20:
        time.sleep(0.2)
    with load.lock:
        full = dict(statuses)
    t.check(full.get(503, 0) + full.get(500, 0) >= 20,
            "the disk filled and writes were refused: %s" % sorted(full.items()))
    t.check(tw.proc.poll() is None, "the tower is still running with the disk full")
    st, _, _ = tw.call("GET", "/api/v1/orgs", token=A)
    t.check(st == 200, "reads still answer with the disk full: %s" % st)
    # Room again, and much of it: the writers must not fill it before the
    # checks below get their turn.
    subprocess.run(["mount", "-o", "remount,size=512m", mnt], check=True)
    before = load.oks
    deadline = time.time() + 10
    while load.oks - before < 200 and time.time() < deadline:
        time.sleep(0.1)
    load.stop()
    after = load.oks - before
    print("disk_full: full at %s; in all %s; %d writes after room was made"
          % (sorted(full.items()), sorted(statuses.items()), after))
    t.check(after >= 200, "writes go through again once there is room: %d" % after)
    acked_reports, acked_alerts = load.acked_reports, load.acked_alerts
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
    log_verified(t, tw, auditor, n_entries, yagura, store)
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
