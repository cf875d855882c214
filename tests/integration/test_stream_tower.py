#!/usr/bin/env python3
"""The tower consumes alerts from a NATS JetStream stream (issue 17,
docs/stream.md "The tower consumes"): a three-node cluster on loopback
(scripts/nats-test.sh start --cluster 3), a stream of three replicas, a
tower with [stream] enabled, alerts published by streamctl
(tests/unit/stream/streamctl.c) on yagura.alerts.SECTOR.SENSOR.

  * 1,000 alerts of a known sensor are stored once each, under the sensor
    the subject names (not the record's own "sensor" field);
  * alerts the sensor posted over HTTP first, then published, store
    nothing more (the store's key, through the one ingest path);
  * a subject naming no sensor user: acknowledged, counted, not stored;
  * a message that is not JSON and one that is not an alert: acknowledged,
    counted as refused, the alerts after them stored;
  * the store failing (a trigger refuses alert batches): the messages are
    handed back (nak) and stored once it works again;
  * 5,000 alerts with the tower killed (SIGKILL) after some are stored, a
    new tower started on the same store: exactly 5,000, none twice;
  * 3,000 alerts with a NATS node killed mid-stream and started again:
    exactly 3,000;
  * the log's alert batches count every stored alert once, and
    `yagura audit verify --store` finds the rows as the log recorded them.

On SQLite, and on PostgreSQL when the pg fixture runs (YAGURA_TEST_PG_URL
or build/pg-url). Exit 0, 1 (each failure printed), 77 without
nats-server."""
import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import Checker  # noqa: E402
from towerlib import Tower, fresh_pg_db, pg_url  # noqa: E402

SENSOR = "tokyo-1"
SECTOR = "electricity"


def metric(tw, name):
    st, text, _ = tw.call("GET", "/metrics")
    m = re.search(r"^%s(?:\{[^}]*\})? (\S+)$" % re.escape(name), text if st == 200 else "",
                  re.M)
    return int(float(m.group(1))) if m else 0


def sql(store, q):
    if store.startswith("postgres"):
        out = subprocess.run(["psql", store, "-Atc", q], capture_output=True, text=True,
                             check=True).stdout.strip()
        return [tuple(int(x) if x.lstrip("-").isdigit() else x for x in line.split("|"))
                for line in out.splitlines()]
    with sqlite3.connect(store) as db:
        return db.execute(q).fetchall()


def sql_exec(store, q):
    if store.startswith("postgres"):
        subprocess.run(["psql", store, "-qc", q], capture_output=True, text=True, check=True)
    else:
        with sqlite3.connect(store, timeout=30) as db:
            db.executescript(q)


def counts(store, prefix):
    """(rows, distinct (sensor, alert id)) of alerts whose id starts prefix-."""
    return sql(store, "SELECT COUNT(*), COUNT(DISTINCT sensor_id || '/' || alert_id) FROM alerts "
                      "WHERE alert_id LIKE '%s-%%'" % prefix)[0]


def wait_for(fn, want, timeout):
    deadline, got = time.time() + timeout, None
    while time.time() < deadline:
        got = fn()
        if got == want:
            return got
        time.sleep(0.2)
    return got


def wait_until(pred, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def scenario(t, a, nats, urls, work, label, store):
    cfgfile = os.path.join(work, label + ".ini")
    # A stream of its own per store: a new durable consumer reads a stream
    # from its start, and the other store's messages are not this one's.
    with open(cfgfile, "w") as f:
        f.write("[stream]\nenable = yes\nurls = %s\nreplicas = 3\nbatch = 200\n"
                "ack_wait = 4s\nname = ALERTS_%s\nprefix = yagura.%s\n" % (urls, label.upper(), label))
    tw = Tower(a.yagura, store, work, extra=["--config", cfgfile])
    A = tw.admin
    st, u, _ = tw.call("POST", "/api/v1/users", {"name": SENSOR, "role": "sensor"}, A)
    sensor_id = u["id"]
    st, tk, _ = tw.call("POST", "/api/v1/tokens", {"user_id": sensor_id}, A)
    sensor_tok = tk["token"]
    analyst = tw.token_for("analyst", "analyst")

    def publish(prefix, count, sensor=SENSOR, extra=(), wait=True):
        cmd = [a.streamctl, "publish", "--urls", urls, "--replicas", "3", "--sector", SECTOR,
               "--name", "ALERTS_" + label.upper(), "--prefix", "yagura." + label,
               "--sensor", sensor, "--id-prefix", "%s-%s" % (label, prefix), "--count",
               str(count), "--format", "eve", "--deadline-s", "120", "--timeout-ms", "10000"] + list(extra)
        if not wait:
            return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        t.check(p.returncode == 0, "%s: streamctl publish %s: %s" % (label, prefix, p.stderr))
        return p

    # The tower makes the stream and binds its consumer; publish after that
    # (streamctl's own stream_open then updates the stream's limits, which
    # waits on the new stream's leader).
    t.check(wait_until(lambda: metric(tw, "yagura_stream_connected") == 1, 60),
            "%s: the tower did not bind to the stream's consumer" % label)
    time.sleep(1)

    # 1. A thousand alerts, each stored once, as the subject's sensor's.
    publish("a", 1000)
    got = wait_for(lambda: counts(store, label + "-a"), (1000, 1000), 60)
    t.check(got == (1000, 1000), "%s: 1,000 published, stored (rows, distinct) %s" % (label, got))
    st, lst, _ = tw.call("GET", "/api/v1/alerts?limit=5", token=analyst)
    t.check(st == 200 and lst["alerts"] and all(x["sensor_id"] == sensor_id for x in lst["alerts"])
            and lst["alerts"][0]["record"]["sensor"] == "not-" + SENSOR,
            "%s: stored as sensor %d, the record's own field kept: %s" % (
                label, sensor_id, (lst.get("alerts") or [None])[0] if st == 200 else lst))
    # The same ids again: JetStream drops them (same message ids).
    publish("a", 1000)
    time.sleep(2)
    got = counts(store, label + "-a")
    t.check(got == (1000, 1000), "%s: re-published, stored %s" % (label, got))

    # 2. Posted over HTTP first, then published: the store's key.
    batch = [{"alert_id": "%s-b-%d" % (label, i), "timestamp": "2026-11-22T00:00:00.000000+0000",
              "src_ip": "203.0.113.9", "dest_ip": "198.51.100.7",
              "alert": {"signature_id": 9200001, "severity": 2}} for i in range(100)]
    st, r, _ = tw.call("POST", "/api/v1/alerts", {"alerts": batch}, sensor_tok)
    t.check(st == 200 and r["accepted"] == 100, "%s: HTTP post: %s %s" % (label, st, r))
    dup0 = metric(tw, "yagura_stream_duplicates_total")
    publish("b", 100)
    dups = wait_for(lambda: metric(tw, "yagura_stream_duplicates_total") - dup0, 100, 60)
    t.check(dups == 100 and counts(store, label + "-b") == (100, 100),
            "%s: 100 posted then published: %s duplicates, stored %s" % (
                label, dups, counts(store, label + "-b")))

    # 3. A subject naming no sensor user.
    publish("ghost", 10, sensor="ghost-7")
    unk = wait_for(lambda: metric(tw, "yagura_stream_unknown_sensor_total"), 10, 60)
    t.check(unk == 10 and counts(store, label + "-ghost") == (0, 0),
            "%s: unknown sensor: counted %s, stored %s" % (label, unk,
                                                          counts(store, label + "-ghost")))

    # 4. Poison: not JSON, and JSON that is not an alert; then good ones.
    publish("poison1", 1, extra=["--raw", "{not json"])
    publish("poison2", 1, extra=["--raw", '{"alert_id":"x","sensor":"evil"}'])
    publish("after", 10)
    got = wait_for(lambda: counts(store, label + "-after"), (10, 10), 60)
    ref = metric(tw, "yagura_stream_refused_total")
    t.check(got == (10, 10) and ref == 2,
            "%s: after 2 poison messages: refused %d, the next 10 stored %s" % (label, ref, got))

    # 4b. The store failing: the messages are handed back (nak) and stored
    # once it works again. A trigger makes every alert batch's insert fail.
    if store.startswith("postgres"):
        sql_exec(store, "CREATE FUNCTION yg_test_down() RETURNS trigger AS $$ BEGIN "
                        "RAISE EXCEPTION 'store down (test)'; END $$ LANGUAGE plpgsql; "
                        "CREATE TRIGGER yg_test_down BEFORE INSERT ON alert_batches "
                        "FOR EACH ROW EXECUTE FUNCTION yg_test_down()")
    else:
        sql_exec(store, "CREATE TRIGGER yg_test_down BEFORE INSERT ON alert_batches "
                        "BEGIN SELECT RAISE(ABORT, 'store down (test)'); END")
    publish("down", 50)
    naks = wait_until(lambda: metric(tw, "yagura_stream_naks_total") >= 50, 60)
    stored_while_down = counts(store, label + "-down")
    sql_exec(store, "DROP TRIGGER yg_test_down ON alert_batches; DROP FUNCTION yg_test_down()"
             if store.startswith("postgres") else "DROP TRIGGER yg_test_down")
    got = wait_for(lambda: counts(store, label + "-down"), (50, 50), 90)
    t.check(naks and stored_while_down == (0, 0) and got == (50, 50),
            "%s: store down: %d naks, %s stored while down, %s after" % (
                label, metric(tw, "yagura_stream_naks_total"), stored_while_down, got))

    # 5. The tower killed mid-consumption; its successor resumes.
    pub = publish("k", 5000, wait=False)
    wait_until(lambda: counts(store, label + "-k")[0] >= 1000, 120)
    before = counts(store, label + "-k")
    tw.kill()
    out, err = pub.communicate(timeout=300)
    t.check(pub.returncode == 0, "%s: publish k: %s" % (label, err))
    t.check(0 < before[0] < 5000,
            "%s: killed mid-stream: %s stored when killed (wanted between)" % (label, before))
    tw.start()
    got = wait_for(lambda: counts(store, label + "-k"), (5000, 5000), 120)
    t.check(got == (5000, 5000), "%s: after SIGKILL at %d and a restart: stored %s" % (
        label, before[0], got))
    print("%s: tower killed with %d of 5,000 stored; its successor brought it to %s" % (
        label, before[0], got))

    # 6. A NATS node killed mid-stream and started again.
    pub = publish("n", 3000, wait=False)
    wait_until(lambda: counts(store, label + "-n")[0] >= 800, 60)
    nats("stop-node", "2")
    time.sleep(3)
    nats("start-node", "2")
    out, err = pub.communicate(timeout=300)
    t.check(pub.returncode == 0, "%s: publish n through a node's death: %s" % (label, err))
    got = wait_for(lambda: counts(store, label + "-n"), (3000, 3000), 120)
    t.check(got == (3000, 3000), "%s: node 2 killed mid-stream: stored %s" % (label, got))

    # 7. The whole: every alert once, every stored alert in the log once.
    total = sql(store, "SELECT COUNT(*), COUNT(DISTINCT sensor_id || '/' || alert_id) "
                       "FROM alerts")[0]
    want = 1000 + 100 + 10 + 50 + 5000 + 3000
    t.check(total == (want, want), "%s: alerts in all %s, wanted %d" % (label, total, want))
    if store.startswith("postgres"):
        out = subprocess.run(["psql", store, "-Atc", "SELECT encode(entry, 'escape') FROM "
                              "log_entries ORDER BY seq"], capture_output=True, text=True,
                             check=True)
        entries = out.stdout.split("yagura-log/v1\n")[1:]
    else:
        with sqlite3.connect(store) as db:
            entries = [bytes(e[0]).decode()[len("yagura-log/v1\n"):] for e in
                       db.execute("SELECT entry FROM log_entries ORDER BY seq")]
    batched = sum(int(line.split(" ")[3]) for e in entries for line in e.split("\n")
                  if line.startswith("rows alerts "))
    t.check(batched == want, "%s: the log's alert batches count %d alerts, the table %d" % (
        label, batched, want))
    m = {k: metric(tw, "yagura_stream_%s_total" % k) for k in
         ("fetched", "stored", "duplicates", "refused", "unknown_sensor", "naks")}
    print("%s: /metrics after the restart: %s" % (label, json.dumps(m)))
    st, vkey, _ = tw.call("GET", "/log/key")
    tw.stop()
    p = subprocess.run([a.yagura, "audit", "verify", "--key", vkey.strip(), "--store", store],
                       capture_output=True, text=True, timeout=600)
    t.check(p.returncode == 0 and "rows are as the entries recorded them" in p.stdout,
            "%s: audit verify --store: exit %d\n%s%s" % (label, p.returncode, p.stdout,
                                                         p.stderr[-2000:]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--yagura", required=True)
    ap.add_argument("--streamctl", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--shared", default="")
    ap.add_argument("--stores", default="sqlite,postgres")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="yagura-stream-tower-")
    nats, env = common.nats_script(a.source, work)

    t = Checker("stream_tower")
    try:
        urls = nats("start", "--cluster", "3").splitlines()[-1]
        stores = []
        if "sqlite" in a.stores:
            stores.append(("sqlite", os.path.join(work, "tower.db")))
        if "postgres" in a.stores:
            pg = pg_url(a.yagura)
            if pg:
                stores.append(("postgres", fresh_pg_db(pg, "tower_stream")))
            else:
                print("note: no PostgreSQL (the pg fixture did not run): SQLite only")
        for label, store in stores:
            scenario(t, a, nats, urls, work, label, store)
    finally:
        nats("stop", check=False)
        shutil.rmtree(work, ignore_errors=True)
    t.finish()


if __name__ == "__main__":
    main()
