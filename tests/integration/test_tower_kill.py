"""Nothing acknowledged is lost: clients write reports and alert batches
under load while the tower is killed with SIGKILL at random moments and
restarted; every request that got a 2xx must be in the store afterwards.
On SQLite and on PostgreSQL."""
import os
import random
import sqlite3
import subprocess
import tempfile
import time

import common
from towerlib import Load, Tower, fresh_pg_db, pg_url

ROUNDS = 4
WRITERS = 6


def scenario(t, yagura, store, workdir, label):
    tw = Tower(yagura, store, workdir, threads=8)
    who = tw.cast()
    op, sensor, analyst, auditor = (who[r] for r in ("operator", "sensor", "analyst", "auditor"))

    load = Load(tw, op, sensor, writers=WRITERS).start()
    rnd = random.Random(1)
    for _ in range(ROUNDS):
        time.sleep(rnd.uniform(0.3, 1.2))
        tw.kill()
        time.sleep(0.1)
        tw.start()
    time.sleep(0.5)
    load.stop()
    acked_reports, acked_alerts = load.acked_reports, load.acked_alerts
    # Everything acknowledged is there.
    ids, before = [], ""
    while True:
        st, lst, _ = tw.call("GET", "/api/v1/reports?limit=1000" + before, token=analyst)
        ids += [r["id"] for r in lst["reports"]]
        if "next_before" not in lst:
            break
        before = "&before=%d" % lst["next_before"]
    stored = set()
    for rid in ids:
        st, full, _ = tw.call("GET", "/api/v1/reports/%d" % rid, token=analyst)
        stored.add(full["report"]["summary"])
    missing = acked_reports - stored
    t.check(len(acked_reports) > 20 and not missing,
            "%s: %d reports acknowledged, %d missing" % (label, len(acked_reports), len(missing)))
    # Alerts: re-posting every acknowledged id must find them all present.
    dup = 0
    acked = sorted(acked_alerts)
    for k in range(0, len(acked), 500):
        batch = [{"alert_id": x, "timestamp": "2026-11-22T00:00:00.000000+0000",
                  "src_ip": "203.0.113.%s" % x.split("-")[0][1:], "dest_ip": "10.0.0.1",
                  "alert": {"signature_id": 9100001, "severity": 2}} for x in acked[k:k + 500]]
        st, r, _ = tw.call("POST", "/api/v1/alerts", {"alerts": batch}, sensor)
        dup += r.get("duplicates", 0)
    t.check(len(acked) > 100 and dup == len(acked),
            "%s: %d alerts acknowledged, %d found" % (label, len(acked), dup))
    # The source summary, folded in by passes the kills interrupted, counts
    # every stored alert once: no pass lost, none applied twice.
    if store.startswith("postgres"):
        out = subprocess.run(["psql", store, "-Atc", "SELECT COUNT(*) FROM alerts"],
                             capture_output=True, text=True, check=True)
        in_db = int(out.stdout)
    else:
        with sqlite3.connect(store) as db:
            in_db = db.execute("SELECT COUNT(*) FROM alerts").fetchone()[0]
    summed, deadline = -1, time.time() + 20
    while time.time() < deadline:
        st, src, _ = tw.call("GET", "/api/v1/sources", token=analyst)
        summed = sum(s["alerts"] for s in src["sources"])
        if src["pending_alerts"] == 0:
            break
        time.sleep(0.2)
    t.check(in_db >= len(acked) and summed == in_db,
            "%s: the summary counts %d alerts, the table holds %d" % (label, summed, in_db))
    # The transparency log: every change has its entry, every entry its
    # place in the tree, and no entry stands for a change that is not there.
    # A checkpoint of every entry: one the sequencer may still be waiting
    # on (an id gap it cannot yet tell from a rollback) comes in a second.
    if store.startswith("postgres"):
        n_entries = int(subprocess.run(["psql", store, "-Atc", "SELECT COUNT(*) FROM log_entries"],
                                       capture_output=True, text=True, check=True).stdout)
    else:
        with sqlite3.connect(store) as db:
            n_entries = db.execute("SELECT COUNT(*) FROM log_entries").fetchone()[0]
    size, deadline = -1, time.time() + 30
    while size != n_entries and time.time() < deadline:
        st, note, _ = tw.call("POST", "/api/v1/log/checkpoint", b"", auditor)
        size = int(note.split("\n")[1]) if st == 200 else -1
        if size != n_entries:
            time.sleep(0.2)
    q = ("SELECT (SELECT COUNT(*) FROM log_leaves), (SELECT COUNT(*) FROM reports), "
         "(SELECT COUNT(*) FROM alerts)")
    if store.startswith("postgres"):
        out = subprocess.run(["psql", store, "-Atc", q], capture_output=True, text=True, check=True)
        leaves, n_reports, n_alerts = map(int, out.stdout.strip().split("|"))
        out = subprocess.run(["psql", store, "-Atc", "SELECT encode(entry, 'escape') FROM log_entries"
                              " ORDER BY seq"], capture_output=True, text=True, check=True)
        entries = out.stdout.split("yagura-log/v1\n")[1:]
    else:
        with sqlite3.connect(store) as db:
            leaves, n_reports, n_alerts = db.execute(q).fetchone()
            entries = [bytes(e[0]).decode()[len("yagura-log/v1\n"):] for e in
                       db.execute("SELECT entry FROM log_entries ORDER BY seq")]
    fields = [dict(line.split(" ", 1) for line in e.strip().split("\n")) for e in entries]
    created = sorted(int(f["id"].split()[0]) for f in fields if f["kind"] == "report.create")
    # "rows alerts <batch> <count> <hash>": the alerts each batch stored.
    batched = sum(int(line.split(" ")[3]) for e in entries for line in e.split("\n")
                  if line.startswith("rows alerts "))
    t.check(size == len(entries) == leaves,
            "%s: checkpoint of %d, %d entries, %d placed" % (label, size, len(entries), leaves))
    t.check(created == sorted(ids) and len(ids) == n_reports,
            "%s: %d reports, %d report entries" % (label, n_reports, len(created)))
    t.check(batched == n_alerts,
            "%s: alert batch entries count %d alerts, the table holds %d" % (label, batched, n_alerts))
    # And every row is as its entry recorded it: the auditor's own check.
    st, vkey, _ = tw.call("GET", "/log/key")
    p = subprocess.run([yagura, "audit", "verify", "--key", vkey.strip(), "--store", store],
                       capture_output=True, text=True, timeout=600)
    t.check(p.returncode == 0 and "rows are as the entries recorded them" in p.stdout,
            "%s: audit verify --store after the kills: exit %d\n%s%s" % (
                label, p.returncode, p.stdout, p.stderr[-2000:]))
    print("%s: %d reports and %d alerts acknowledged across %d SIGKILLs, all present; "
          "the log holds %d entries, all placed" % (label, len(acked_reports), len(acked), ROUNDS,
                                                    size))
    tw.stop()


def main():
    a = common.parse_args()
    t = common.Checker("tower_kill")
    with tempfile.TemporaryDirectory() as d:
        scenario(t, a.yagura, os.path.join(d, "k.db"), d, "sqlite")
        pg = pg_url(a.yagura)
        t.check(pg is not None, "no PostgreSQL: the pg fixture must run first")
        if pg:
            scenario(t, a.yagura, fresh_pg_db(pg, "tower_kill"), d, "postgres")
    t.finish()


main()
