"""PostgreSQL restarted under load (issue 18): clients write reports and
alert batches to a tower on a PostgreSQL of this test's own while the
server is restarted twice, once as after a crash (pg_ctl -m immediate:
recovery from the WAL) and once cleanly. Requests during the outage are
refused (503, nothing claimed); afterwards the tower serves again on its
own, without a restart; every request that got a 2xx is stored, the
source summary counts every alert once, and the transparency log covers
every change and verifies."""
import os
import subprocess
import time

import common
from towerlib import Load, Tower, log_verified

WRITERS = 4


def main():
    a = common.parse_args()
    t = common.Checker("pg_restart")
    script = os.path.join(a.source, "scripts", "pg-test.sh")
    # Under /tmp itself: the server runs as its own user, which must reach it.
    env = dict(os.environ, YAGURA_PG_DIR="/tmp/yagura-pg-restart-%d" % os.getpid())
    out = subprocess.run([script, "start"], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        t.check(False, "pg-test.sh start: %s" % out.stderr.strip())
        t.finish()
    store = out.stdout.strip().splitlines()[-1]
    workdir = env["YAGURA_PG_DIR"] + "-work"
    os.makedirs(workdir, exist_ok=True)
    try:
        run(t, a.yagura, store, workdir, lambda mode: subprocess.run(
            [script, "restart", mode], env=env, capture_output=True, text=True, timeout=120))
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True)
        subprocess.run(["rm", "-rf", workdir])
    t.finish()


def run(t, yagura, store, workdir, restart):
    tw = Tower(yagura, store, workdir, threads=8)
    who = tw.cast()
    op, sensor, analyst, auditor = (who[r] for r in ("operator", "sensor", "analyst", "auditor"))
    load = Load(tw, op, sensor, writers=WRITERS).start()
    for mode in ("immediate", "fast"):
        time.sleep(1.5)
        p = restart(mode)
        t.check(p.returncode == 0, "pg restart %s: %s" % (mode, p.stderr.strip()))
        print("pg_restart: restarted (%s) at %d reports, %d alerts acknowledged"
              % (mode, len(load.acked_reports), len(load.acked_alerts)))
    back = load.oks
    time.sleep(2.0)
    load.stop()
    statuses = load.statuses
    print("pg_restart: statuses %s" % sorted(statuses.items()))
    t.check(load.oks > back + 20, "the tower served again after the restarts, on its own: %d"
            % (load.oks - back))
    t.check(set(statuses) <= {200, 201, 503},
            "only 2xx, or 503 while the store was away: %s" % sorted(statuses))
    acked_reports, acked_alerts = load.acked_reports, load.acked_alerts

    def psql(sql):
        return subprocess.run(["psql", store, "-Atc", sql], capture_output=True, text=True,
                              check=True).stdout.split()

    summaries = set(psql("SELECT body::json->>'summary' FROM report_versions"))
    missing = acked_reports - summaries
    t.check(len(acked_reports) > 20 and not missing,
            "%d reports acknowledged, %d missing" % (len(acked_reports), len(missing)))
    stored = set(psql("SELECT alert_id FROM alerts"))
    t.check(len(acked_alerts) > 100 and acked_alerts <= stored,
            "%d alerts acknowledged, %d missing" % (len(acked_alerts),
                                                    len(acked_alerts - stored)))
    summed, deadline = -1, time.time() + 30
    while time.time() < deadline:
        st, src, _ = tw.call("GET", "/api/v1/sources", token=analyst)
        summed = sum(s["alerts"] for s in src["sources"])
        if src["pending_alerts"] == 0:
            break
        time.sleep(0.2)
    t.check(summed == len(stored), "the summary counts %d alerts, the table holds %d"
            % (summed, len(stored)))
    n_entries = int(psql("SELECT COUNT(*) FROM log_entries")[0])
    log_verified(t, tw, auditor, n_entries, yagura, store)
    t.check(tw.stop() == 0, "the tower stops cleanly")


main()
