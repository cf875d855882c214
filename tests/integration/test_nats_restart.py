#!/usr/bin/env python3
"""The whole NATS JetStream service restarted under load (issue 18): one
nats-server with a file store (scripts/nats-test.sh start), two towers
consuming its alert stream each on a durable consumer of its own (one on
SQLite, one on PostgreSQL when the pg fixture runs), three streamctl
publishers publishing alerts the whole time (each alert retried, same id,
until JetStream acknowledges it) and a sensor, `yagura analyze --stream`
reading a capture from a FIFO, whose alerts go through its spool. While
that runs the server is stopped cleanly (SIGTERM) and, later, killed
(SIGKILL), a few seconds down each time, with a new round of the capture
analysed while it is down; the towers are not restarted.

  * every alert whose publish was acknowledged is stored once in each
    tower, and nothing else: the same ids, no row twice;
  * the sensor's spool drains once the server is back: the run exits 0
    and every alert of its EVE output is stored once;
  * each tower consumed again after each restart on its own (its
    yagura_stream_stored_total grows) and answered /healthz with 2xx
    throughout;
  * the stream holds each alert once (JetStream's de-duplication by id
    held through both restarts);
  * the log's checkpoint covers every entry, its alert batches count every
    stored alert, and `yagura audit verify --store` passes.

The publishers open the stream as sensors do (streamctl --manage create):
one that rewrote the stream's configuration on every run had nats-server
2.9 killed in the middle of writing it once, and it came back without
the stream.

One line of figures per phase: alerts acknowledged, how long the server
was down, how long each tower and the spool took to catch up. Exit 0, 1
(each failure printed), 77 without nats-server."""
import argparse
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import Checker  # noqa: E402
from test_stream_sensor import eve_alerts, spool_lines  # noqa: E402
from towerlib import (Tower, Workers, fresh_pg_db, log_verified, metric, pg_url,  # noqa: E402
                      wait_until)

SECTOR = "electricity"
PUBLISHERS = ("p1", "p2", "p3")
SENSOR = "s1"  # the analyze --stream run
CHUNK = 100    # alerts per streamctl run
DOWN_S = 4     # how long the server stays down


def rows(store, q):
    if store.startswith("postgres"):
        out = subprocess.run(["psql", store, "-Atc", q], capture_output=True, text=True,
                             check=True).stdout
        return [tuple(line.split("|")) for line in out.splitlines()]
    with sqlite3.connect(store, timeout=30) as db:
        return [tuple(str(x) for x in r) for r in db.execute(q).fetchall()]


def stored(store):
    """Every stored alert as "SENSOR/ALERT_ID", in a list (twice if twice)."""
    return ["%s/%s" % r for r in rows(store, "SELECT u.name, a.alert_id FROM alerts a "
                                             "JOIN users u ON u.id = a.sensor_id")]


def log_alerts(store):
    """The alerts the log's entries record as stored ("rows alerts" lines)."""
    if store.startswith("postgres"):
        entries = [e[0] for e in rows(store, "SELECT encode(entry, 'escape') FROM log_entries")]
    else:
        with sqlite3.connect(store) as db:
            entries = [bytes(e[0]).decode() for e in db.execute("SELECT entry FROM log_entries")]
    return sum(int(line.split(" ")[3]) for e in entries for line in e.split("\n")
               if line.startswith("rows alerts "))


def stored_total(tw):
    """yagura_stream_stored_total of tw; -1 when it does not answer."""
    try:
        return metric(tw, "yagura_stream_stored_total") or 0
    except OSError:
        return -1


def still_up(t, towers, when):
    """Checks every tower's process still runs; ends the test if one does
    not (the rest would only say so again)."""
    for label, tw in towers.items():
        rc = tw.proc.poll()
        if not t.check(rc is None, "%s: the tower exited (%s) %s; its log ends: %s" % (
                label, rc, when, open(tw.logpath).read()[-600:])):
            t.finish()


class Publishers(Workers):
    """streamctl publishers, a thread each, until stop(): CHUNK alerts per
    run, each retried with its id until JetStream acknowledges it. A run
    that exits 0 had all its alerts acknowledged (acked gets them as
    "SENSOR/ID"); one that fails (no server to open the stream on) runs
    again whole, same ids."""

    def __init__(self, streamctl, urls):
        self.streamctl, self.urls = streamctl, urls
        self.acked, self.failed_runs = set(), 0
        Workers.__init__(self, self._run, PUBLISHERS, daemon=True)

    def count(self):
        with self.lock:
            return len(self.acked)

    def snapshot(self):
        with self.lock:
            return set(self.acked)

    def _run(self, sensor):
        start = 0
        while not self.halt.is_set():
            p = subprocess.run([self.streamctl, "publish", "--urls", self.urls, "--sector", SECTOR,
                                "--sensor", sensor, "--id-prefix", sensor, "--start", str(start),
                                "--count", str(CHUNK), "--format", "eve", "--deadline-s", "60",
                                "--timeout-ms", "2000", "--manage", "create"],
                               capture_output=True, text=True)
            with self.lock:
                if p.returncode == 0:
                    self.acked.update("%s/%s-%d" % (sensor, sensor, i)
                                      for i in range(start, start + CHUNK))
                    start += CHUNK
                else:
                    self.failed_runs += 1
            if p.returncode != 0:
                time.sleep(0.2)


class Health:
    """Polls each tower's /healthz every 0.2 s until stop(); bad[label]
    lists the answers that were not 2xx (0: no answer)."""

    def __init__(self, towers):
        self.towers = towers
        self.polls, self.bad = 0, {label: [] for label in towers}
        self.halt = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.halt.set()
        self.thread.join()

    def _run(self):
        while not self.halt.wait(0.2):
            self.polls += 1
            for label, tw in self.towers.items():
                try:
                    st, _, _ = tw.call("GET", "/healthz")
                except OSError:
                    st = 0
                if not 200 <= st < 300:
                    self.bad[label].append(st)


def pcap_rounds(genpcap, work):
    """The header and records of a capture with planted attacks, and
    round(k): its records k hours later, whose attacks are new to a sensor
    that saw the earlier rounds."""
    cap = os.path.join(work, "planted.pcap")
    subprocess.run([genpcap, "-a", "-n", "20000", "-f", "1000", cap], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(cap, "rb") as f:
        raw = f.read()
    os.unlink(cap)
    recs, off = [], 24
    while off + 16 <= len(raw):
        sec, _, incl, _ = struct.unpack_from("<IIII", raw, off)
        recs.append((sec, raw[off + 4:off + 16 + incl]))
        off += 16 + incl
    return raw[:24], lambda k: b"".join(struct.pack("<I", sec + 3600 * k) + rest
                                        for sec, rest in recs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--yagura", required=True)
    ap.add_argument("--streamctl", required=True)
    ap.add_argument("--genpcap", required=True)
    ap.add_argument("--source", required=True)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="yagura-nats-restart-")
    nats, _ = common.nats_script(a.source, work)
    t = Checker("nats_restart")
    towers, sensor = {}, []
    try:
        run(t, a, nats, work, towers, sensor)
    finally:
        for tw in towers.values():
            if tw.proc.poll() is None:
                tw.kill()
        for p in sensor:
            if p.poll() is None:
                p.kill()
                p.wait()
        nats("stop", check=False)
        shutil.rmtree(work, ignore_errors=True)
    t.finish()


def run(t, a, nats, work, towers, procs):
    t0 = time.monotonic()
    urls = nats("start").splitlines()[-1]
    stores = {"sqlite": os.path.join(work, "tower.db")}
    pg = pg_url(a.yagura)
    if pg:
        stores["postgres"] = fresh_pg_db(pg, "tower_nats_restart")
    else:
        print("note: no PostgreSQL (the pg fixture did not run): SQLite only")
    auditors = {}
    for label, store in stores.items():
        d = os.path.join(work, label)
        os.makedirs(d)
        cfg = os.path.join(d, "tower.ini")
        with open(cfg, "w") as f:
            f.write("[stream]\nenable = yes\nurls = %s\ndurable = tower-%s\nbatch = 200\n"
                    "ack_wait = 4s\n" % (urls, label))
        tw = Tower(a.yagura, store, d, extra=["--config", cfg])
        for name in PUBLISHERS + (SENSOR,):
            st, u, _ = tw.call("POST", "/api/v1/users", {"name": name, "role": "sensor"},
                               tw.admin)
            t.check(st == 201, "%s: user %s: %s %s" % (label, name, st, u))
        auditors[label] = tw.token_for("auditor", "auditor")
        t.check(wait_until(lambda: metric(tw, "yagura_stream_connected") == 1, 30),
                "%s: the tower did not bind to the stream's consumer" % label)
        towers[label] = tw

    head, capture = pcap_rounds(a.genpcap, work)
    fifo, eve = os.path.join(work, "sensor.fifo"), os.path.join(work, "eve.jsonl")
    spool = os.path.join(work, "spool")
    os.mkfifo(fifo)
    sensor = subprocess.Popen([a.yagura, "analyze", "--stream", urls, "--stream-sector", SECTOR,
                               "--stream-sensor", SENSOR, "--spool", spool, "--detect",
                               "vol.pps=1000", "--post-wait", "60", "-o", eve, fifo],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    procs.append(sensor)
    feed = open(fifo, "wb")
    feed.write(head + capture(0))
    feed.flush()
    pubs = Publishers(a.streamctl, urls).start()
    health = Health(towers).start()
    print("load started (%.1f s)" % (time.monotonic() - t0))

    for rnd, mode in ((1, "term"), (2, "kill")):
        time.sleep(4)
        before = pubs.count()
        down_at = time.monotonic()
        nats("stop-node", "1", mode)
        # The sensor analyses a new round with the server away: its
        # alerts wait in the spool.
        feed.write(capture(rnd))
        feed.flush()
        time.sleep(max(0.0, DOWN_S - (time.monotonic() - down_at)))
        spooled = spool_lines(os.path.join(spool, "stream"))
        nats("start-node", "1")
        back = time.monotonic()
        at_back = {label: stored_total(tw) for label, tw in towers.items()}
        resumed = {}
        for label, tw in towers.items():
            ok = wait_until(lambda: stored_total(tw) > at_back[label], 30, step=0.05)
            resumed[label] = time.monotonic() - back
            t.check(ok, "%s, %s: the tower stored nothing from the stream in the 30 s after "
                    "the server was back (yagura_stream_stored_total stays %d)"
                    % (label, mode, at_back[label]))
        still_up(t, towers, "after the server's restart (%s)" % mode)
        # What the publishers had acknowledged a second after the server
        # was back: their retries of the outage went through by then.
        time.sleep(max(0.0, back + 1 - time.monotonic()))
        want = pubs.snapshot()
        took = {}
        for label in towers:
            ok = wait_until(lambda: want <= set(stored(stores[label])), 60)
            took[label] = time.monotonic() - back
            t.check(ok, "%s, %s: of %d alerts acknowledged by a second after the server was "
                    "back, %d not stored 60 s later" % (label, mode, len(want),
                                                        len(want - set(stored(stores[label])))))
        spool_ok = wait_until(lambda: spool_lines(os.path.join(spool, "stream")) == 0, 60)
        spool_took = time.monotonic() - back
        t.check(spool_ok, "%s: the sensor's spool still holds %d alerts 60 s after the server "
                "was back" % (mode, spool_lines(os.path.join(spool, "stream"))))
        print("%s: %d acknowledged before the stop, %d a second after it was back; server down "
              "%.1f s; %s; sensor's spool of %d drained in %.1f s"
              % (mode, before, len(want), back - down_at,
                 ", ".join("%s consuming again in %.2f s, caught up in %.1f s"
                           % (label, resumed[label], took[label]) for label in towers),
                 spooled, spool_took))

    time.sleep(3)
    still_up(t, towers, "at the end of the load")
    pubs.stop()
    feed.close()
    _, err = sensor.communicate(timeout=120)
    health.stop()
    t.check(sensor.returncode == 0, "analyze --stream: exit %d: %s"
            % (sensor.returncode, err.strip()[-400:]))
    sensor_ids = {"%s/%s" % (SENSOR, x["alert_id"]) for x in eve_alerts(eve)}
    want = pubs.acked | sensor_ids
    print("load stopped: %d alerts acknowledged to the publishers (%d streamctl runs failed "
          "and ran again), %d from the sensor (%.1f s)"
          % (len(pubs.acked), pubs.failed_runs, len(sensor_ids), time.monotonic() - t0))
    t.check(len(sensor_ids) >= 3 * 50, "the sensor made %d alerts in three rounds"
            % len(sensor_ids))

    for label, tw in towers.items():
        store = stores[label]
        wait_until(lambda: set(stored(store)) >= want, 60)
        got = stored(store)
        distinct = set(got)
        t.check(distinct == want and len(got) == len(distinct),
                "%s: %d alerts acknowledged, %d stored (%d distinct): %d missing, %d not "
                "acknowledged" % (label, len(want), len(got), len(distinct),
                                  len(want - distinct), len(distinct - want)))
        t.check(not health.bad[label], "%s: /healthz answered %d of %d polls with no 2xx: %s"
                % (label, len(health.bad[label]), health.polls, sorted(set(health.bad[label]))))
        n_entries = int(rows(store, "SELECT COUNT(*) FROM log_entries")[0][0])
        log_verified(t, tw, auditors[label], n_entries, a.yagura, store)
        batched = log_alerts(store)
        t.check(batched == len(got), "%s: the log's alert batches count %d alerts, the table %d"
                % (label, batched, len(got)))
        m = {k: int(metric(tw, "yagura_stream_%s_total" % k) or 0)
             for k in ("fetched", "stored", "duplicates", "naks")}
        print("%s: %d stored, /metrics %s" % (label, len(got), m))
        t.check(tw.stop() == 0, "%s: the tower stops cleanly" % label)
    p = subprocess.run([a.streamctl, "info", "--urls", urls], capture_output=True, text=True)
    msgs = json.loads(p.stdout)["msgs"] if p.returncode == 0 else None
    t.check(msgs == len(want), "the stream holds %s messages for %d alerts" % (msgs, len(want)))
    print("the stream holds %s messages for %d alerts; total %.1f s"
          % (msgs, len(want), time.monotonic() - t0))


if __name__ == "__main__":
    main()
