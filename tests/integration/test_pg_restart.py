"""PostgreSQL restarted under load (issue 18): clients write reports and
alert batches to a tower on a PostgreSQL of this test's own while the
server is restarted twice, once as after a crash (pg_ctl -m immediate:
recovery from the WAL) and once cleanly, and then stops answering
altogether for a while (every server process stopped with SIGSTOP: what a
hung host or a silent network looks like from the tower). Requests during
the outage are refused (503, nothing claimed), the stalled ones too once
the tower's store_timeout has passed, not held for ever; afterwards the
tower serves again on its own, without a restart; every request that got a
2xx is stored, the source summary counts every alert once, and the
transparency log covers every change and verifies."""
import os
import signal
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
    pidfile = os.path.join(env["YAGURA_PG_DIR"], "data", "postmaster.pid")
    try:
        run(t, a.yagura, store, workdir, lambda mode: subprocess.run(
            [script, "restart", mode], env=env, capture_output=True, text=True, timeout=120),
            lambda sig: pg_signal(pidfile, sig))
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True)
        subprocess.run(["rm", "-rf", workdir])
    t.finish()


def pg_signal(pidfile, sig):
    """sig to the postmaster and every process it started."""
    with open(pidfile) as f:
        pm = int(f.readline())
    kids = subprocess.run(["pgrep", "-P", str(pm)], capture_output=True, text=True).stdout
    for pid in [pm] + [int(k) for k in kids.split()]:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


STORE_TIMEOUT = 2  # seconds
STALL = 3 * STORE_TIMEOUT + 2


def run(t, yagura, store, workdir, restart, signal_pg):
    conf = os.path.join(workdir, "tower.ini")
    with open(conf, "w") as f:
        f.write("[tower]\nstore_timeout = %ds\n" % STORE_TIMEOUT)
    tw = Tower(yagura, store, workdir, threads=8, extra=["--config", conf])
    who = tw.cast()
    op, sensor, analyst, auditor = (who[r] for r in ("operator", "sensor", "analyst", "auditor"))
    load = Load(tw, op, sensor, writers=WRITERS).start()
    for mode in ("immediate", "fast"):
        time.sleep(1.5)
        p = restart(mode)
        t.check(p.returncode == 0, "pg restart %s: %s" % (mode, p.stderr.strip()))
        print("pg_restart: restarted (%s) at %d reports, %d alerts acknowledged"
              % (mode, len(load.acked_reports), len(load.acked_alerts)))
    # The server stops answering: requests waiting on it are refused once
    # store_timeout has passed (the connection closed, its transaction
    # ended by the server later), and so are new ones, whose connects wait
    # as long; without the deadline they would all wait for the server.
    time.sleep(1.5)
    signal_pg(signal.SIGSTOP)
    try:
        time.sleep(0.5)  # answers the server gave before it stopped
        with load.lock:
            before = dict(load.statuses)
        time.sleep(STALL)
        with load.lock:
            during = {k: v - before.get(k, 0) for k, v in load.statuses.items()}
    finally:
        signal_pg(signal.SIGCONT)
    print("pg_restart: answers while the server was stopped for %d s: %s"
          % (STALL, sorted(during.items())))
    t.check(during.get(503, 0) >= 4,
            "requests refused while the server did not answer: %d" % during.get(503, 0))
    t.check(not any(200 <= k < 300 for k in during if during[k]),
            "nothing acknowledged while the server was stopped: %s" % sorted(during.items()))
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
