#!/usr/bin/env python3
"""Sensor to store through JetStream, both ends ours (issue 17): a
three-node NATS cluster on loopback (scripts/nats-test.sh), a tower with
[stream] enabled on SQLite, and `yagura analyze --stream` on the capture
bench/genpcap plants every attack class in, publishing as the tower's
sensor user.

  * every alert of the sensor's EVE output is stored once, under the
    sensor the subject names, and nothing else is;
  * the tower's counters say so: fetched = stored, no refusal, no unknown
    sensor;
  * a second tower started on the same store and the same durable
    consumer, the first killed (SIGKILL), and the sensor run again: the new
    run's alerts are stored once by the second tower, the first run's not
    again;
  * `yagura audit verify --store` finds the rows as the log recorded them.

Exit 0, 1 (each failure printed), 77 without nats-server."""
import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import Checker  # noqa: E402
from towerlib import Tower, metric, wait_until  # noqa: E402

SENSOR = "osaka-2"
SECTOR = "water"


class Successor(Tower):
    """A second tower on the first one's store (already initialised)."""

    def __init__(self, first, workdir):
        import socket
        self.yagura, self.store, self.threads = first.yagura, first.store, first.threads
        self.extra, self.admin, self.tls, self.scheme = first.extra, first.admin, None, "http"
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.logpath = os.path.join(workdir, "tower2.log")
        self.log = None
        self.start()

def stored(store):
    with sqlite3.connect(store) as db:
        return [r[0] for r in db.execute("SELECT alert_id FROM alerts")]

def eve_ids(path):
    with open(path) as f:
        return [json.loads(ln)["alert_id"] for ln in f if '"event_type":"alert"' in ln]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--yagura", required=True)
    ap.add_argument("--genpcap", required=True)
    ap.add_argument("--source", required=True)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="yagura-stream-e2e-")
    nats, _ = common.nats_script(a.source, work)
    t = Checker("stream_e2e")
    towers = []
    try:
        urls = nats("start", "--cluster", "3").splitlines()[-1]
        cap = os.path.join(work, "planted.pcap")
        subprocess.run([a.genpcap, "-a", "-n", "20000", "-f", "1000", "-t",
                        os.path.join(work, "truth.json"), cap], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        store = os.path.join(work, "tower.db")
        ini = os.path.join(work, "tower.ini")
        with open(ini, "w") as f:
            f.write("[stream]\nenable = yes\nurls = %s\nreplicas = 3\n" % urls)
        tw = Tower(a.yagura, store, work, extra=["--config", ini])
        towers.append(tw)
        st, u, _ = tw.call("POST", "/api/v1/users", {"name": SENSOR, "role": "sensor"},
                           tw.admin)
        t.check(st == 201 or st == 200, "sensor user: %s %s" % (st, u))
        t.check(wait_until(lambda: metric(tw, "yagura_stream_connected") == 1, 60),
                "the tower bound to the stream")
        sini = os.path.join(work, "sensor.ini")
        with open(sini, "w") as f:
            f.write("[stream]\nreplicas = 3\n")

        def sense(n):
            out = os.path.join(work, "eve%d.json" % n)
            r = subprocess.run([a.yagura, "analyze", "--no-progress", "-q", "-o", out,
                                "--config", sini, "--stream", urls, "--stream-sector", SECTOR,
                                "--stream-sensor", SENSOR, "--spool",
                                os.path.join(work, "spool"), cap],
                               capture_output=True, text=True, timeout=300)
            t.check(r.returncode == 0, "sensor run %d: exit %d %s" % (n, r.returncode,
                                                                      r.stderr[-400:]))
            return eve_ids(out)

        ids1 = sense(1)
        t.check(len(ids1) > 10, "the planted capture gives alerts: %d" % len(ids1))
        ok = wait_until(lambda: len(stored(store)) >= len(ids1), 60)
        got = stored(store)
        t.check(ok and sorted(got) == sorted(ids1),
                "run 1: %d alerts in EVE, %d stored, %d distinct" % (len(ids1), len(got),
                                                                      len(set(got))))
        with sqlite3.connect(store) as db:
            owners = db.execute("SELECT DISTINCT u.name FROM alerts a JOIN users u "
                                "ON u.id = a.sensor_id").fetchall()
        t.check(owners == [(SENSOR,)], "stored as the subject's sensor: %s" % owners)
        fetched = metric(tw, "yagura_stream_fetched_total")
        t.check(fetched == len(ids1) and metric(tw, "yagura_stream_stored_total") == len(ids1)
                and metric(tw, "yagura_stream_refused_total") == 0
                and metric(tw, "yagura_stream_unknown_sensor_total") == 0,
                "tower counters: fetched %s stored %s" % (
                    fetched, metric(tw, "yagura_stream_stored_total")))

        # A successor on the same store and consumer; the first is killed.
        tw2 = Successor(tw, work)
        towers.append(tw2)
        tw.kill()
        tw.log.close()
        towers.remove(tw)
        t.check(wait_until(lambda: metric(tw2, "yagura_stream_connected") == 1, 60),
                "the second tower bound to the stream")
        ids2 = sense(2)
        want = sorted(ids1 + ids2)
        ok = wait_until(lambda: len(stored(store)) >= len(want), 60)
        got = stored(store)
        t.check(ok and sorted(got) == want and len(set(ids1) & set(ids2)) == 0,
                "run 2 through the second tower: want %d, stored %d (%d distinct)" % (
                    len(want), len(got), len(set(got))))
        st, vkey, _ = tw2.call("GET", "/log/key")
        v = subprocess.run([a.yagura, "audit", "verify", "--key", vkey.strip(), "--store",
                            store], capture_output=True, text=True, timeout=120)
        t.check(v.returncode == 0 and "rows are as the entries recorded them" in v.stdout,
                "audit verify: %s %s" % (v.stdout[-300:], v.stderr[-300:]))
    finally:
        for tw in towers:
            tw.stop()
        nats("stop", check=False)
        shutil.rmtree(work, ignore_errors=True)
    t.finish()


if __name__ == "__main__":
    main()
