"""Two towers on one PostgreSQL append to one log without forking it
(issue 12): clients post reports, organisations and alert batches to both
at once while others ask both for checkpoints; afterwards every checkpoint
either tower served is consistent with every later one (proofs from either
tower, checked here from RFC 9162), the tree holds each entry exactly once
and nothing else, and `yagura audit verify --store` finds it clean.

Both towers' sequencers place entries; a pass that finds the other tower
moved the log's seq first gives up (logseq.c). In one run, instrumented,
13 passes gave up that way: the test does reach that path."""
import base64
import hashlib
import os
import subprocess
import tempfile
import threading
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

import common
from logdb import check_consistency, stored_count
from towerlib import Peer, Tower, fresh_pg_db, pg_url

WRITERS = 3  # per tower
CHANGES = 60  # per writer


def psql(store, sql):
    out = subprocess.run(["psql", store, "-Atc", sql], capture_output=True, text=True, check=True)
    return [line.split("|") for line in out.stdout.splitlines()]


def main():
    a = common.parse_args()
    t = common.Checker("log_towers")
    pg = pg_url(a.yagura)
    if not pg:
        t.check(False, "no PostgreSQL: the pg fixture (scripts/pg-test.sh) must run first")
        t.finish()
    with tempfile.TemporaryDirectory() as d:
        store = fresh_pg_db(pg, "tower_log_towers")
        keyfile = os.path.join(d, "log-key")
        conf = os.path.join(d, "tower.ini")
        with open(conf, "w") as f:
            f.write("[log]\nkey = %s\n" % keyfile)
        one = Tower(a.yagura, store, d, threads=8, extra=["--config", conf],
                    init_extra=["--log-key", keyfile])
        two = Peer(a.yagura, store, d, one.admin, threads=8, extra=["--config", conf])
        try:
            run(t, a.yagura, store, d, one, two)
        finally:
            for tw in (one, two):
                rc = tw.stop()
                t.check(rc == 0, "tower on port %d: exit %d on SIGTERM" % (tw.port, rc))
    t.finish()


def run(t, yagura, store, d, one, two):
    A = one.admin
    towers = (one, two)
    st, k1, _ = one.call("GET", "/log/key")
    st, k2, _ = two.call("GET", "/log/key")
    t.check(k1 == k2 and k1.startswith("yagura.local/log+"), "one key for both: %r %r" % (k1, k2))
    vkey = k1.strip()
    name, keyid, key = vkey.split("+", 2)
    pub = Ed25519PublicKey.from_public_bytes(base64.b64decode(key)[1:])

    def open_note(note):
        """(size, root) of a checkpoint signed by the log's key, or None."""
        text, _, sigs = note.rpartition("\n\n")
        text += "\n"
        for line in sigs.splitlines():
            signer, sig = line[2:].split(" ")
            sig = base64.b64decode(sig)
            if signer == name and sig[:4].hex() == keyid:
                try:
                    pub.verify(sig[4:], text.encode())
                except Exception:
                    return None
                lines = text.split("\n")
                return int(lines[1]), base64.b64decode(lines[2])
        return None

    st, o, _ = one.call("POST", "/api/v1/orgs", {"name": "Grid", "sector": "electricity"}, A)
    st, u, _ = one.call("POST", "/api/v1/users", {"name": "op", "role": "operator",
                                                  "org_id": o["id"]}, A)
    st, tk, _ = one.call("POST", "/api/v1/tokens", {"user_id": u["id"]}, A)
    op = tk["token"]
    sensor = two.token_for("sensor", "sensor")
    auditor = two.token_for("auditor", "auditor")
    # admin init; the schema's three TAXII collections, taken into the log
    # by the first tower's start; the org; op, sensor, auditor and their tokens
    setup = 2 + 3 + 1 + 2 + 2 + 2

    acked = []  # kinds of the changes acknowledged
    lock = threading.Lock()
    failures = []

    def writer(tw, n):
        for i in range(CHANGES):
            what = ("report", "org", "alerts")[(n + i) % 3]
            tag = "p%d-w%d-%d" % (tw.port, n, i)
            if what == "report":
                st, r, _ = tw.call("POST", "/api/v1/reports", {
                    "category": "malware", "summary": tag, "severity": "medium",
                    "detected_at": "2026-11-22T00:00:00Z"}, op)
            elif what == "org":
                st, r, _ = tw.call("POST", "/api/v1/orgs", {"name": "Org " + tag,
                                                            "sector": "gas"}, A)
            else:
                batch = [{"alert_id": "%s-%d" % (tag, k),
                          "timestamp": "2026-11-22T00:00:00.000000+0000",
                          "src_ip": "203.0.113.%d" % (n + 1), "dest_ip": "10.0.0.1",
                          "alert": {"signature_id": 9100001, "severity": 2}} for k in range(10)]
                st, r, _ = tw.call("POST", "/api/v1/alerts", {"alerts": batch}, sensor)
            with lock:
                if 200 <= st < 300:
                    acked.append(what)
                else:
                    failures.append((what, st, r))

    served = []  # (observer, order, size, root, note)
    stop = threading.Event()

    def watcher(tw, k):
        seq = 0
        while not stop.is_set():
            for method, path in (("POST", "/api/v1/log/checkpoint"), ("GET", "/log/checkpoint")):
                st, note, _ = tw.call(method, path, b"" if method == "POST" else None, auditor)
                if st != 200:
                    with lock:
                        failures.append((path, st, note))
                    continue
                cp = open_note(note)
                with lock:
                    served.append(("%d/%d" % (tw.port, k), seq, cp, note))
                seq += 1
            time.sleep(0.02)

    # Gaps in the seqs: a change that holds its seq for two seconds while
    # others commit after it (placed once it commits, never skipped), and
    # one that rolls back (skipped once its mark settles). Its entry is a
    # copy of the first: a leaf like any other.
    copy = "INSERT INTO log_entries (entry, created) SELECT entry, created FROM log_entries " \
           "ORDER BY seq LIMIT 1"

    # And a straggler: a seq taken long before its transaction has an id
    # (nextval assigns none), so that the sequencer's mark settles and it
    # passes the gap; the entry commits after all and must still be placed.
    straggle = ("BEGIN; SELECT nextval(pg_get_serial_sequence('log_entries', 'seq')) AS s \\gset\n"
                "SELECT pg_sleep(3);\n"
                "INSERT INTO log_entries (seq, entry, created) OVERRIDING SYSTEM VALUE "
                "SELECT :s, entry, created FROM log_entries ORDER BY seq LIMIT 1;\nCOMMIT;\n")

    def gaps():
        time.sleep(0.3)
        psql(store, "BEGIN; %s; SELECT pg_sleep(2); COMMIT" % copy)
        psql(store, "BEGIN; %s; ROLLBACK" % copy)

    def straggler():
        time.sleep(0.1)  # while the writers write, so that its gap is passed
        subprocess.run(["psql", store, "-q", "-v", "ON_ERROR_STOP=1"], input=straggle,
                       text=True, check=True, capture_output=True)

    writers = [threading.Thread(target=writer, args=(tw, n)) for tw in towers
               for n in range(WRITERS)] + [threading.Thread(target=gaps),
                                           threading.Thread(target=straggler)]
    watchers = [threading.Thread(target=watcher, args=(tw, k)) for tw in towers for k in range(2)]
    for th in writers + watchers:
        th.start()
    for th in writers:
        th.join()
    stop.set()
    for th in watchers:
        th.join()
    t.check(not failures, "every change and checkpoint answered 2xx: %s" % failures[:5])
    want = setup + len(acked) + 2  # and the slow change, and the straggler
    t.check(len(acked) == 2 * WRITERS * CHANGES, "changes acknowledged: %d" % len(acked))

    # Both towers place everything: ask until each serves the full tree.
    final = {}
    for tw in towers:
        deadline = time.time() + 30
        while time.time() < deadline:
            st, note, _ = tw.call("POST", "/api/v1/log/checkpoint", b"", auditor)
            cp = open_note(note) if st == 200 else None
            if cp is not None:
                served.append(("%d/final" % tw.port, 0, cp, note))
                if cp[0] >= want:
                    final[tw.port] = cp
                    break
            time.sleep(0.1)
    t.check(len(final) == 2 and all(cp[0] == want for cp in final.values()),
            "both towers' final checkpoints are of %d entries: %s" % (want, final))
    t.check(len(set(final.values())) == 1, "both towers sign one tree: %s" % final)

    # Every checkpoint served: signed by the log's key; one root per size;
    # each observer saw sizes that only grow; each consistent with every
    # later one (by size), proofs from either tower.
    t.check(all(cp is not None for _, _, cp, _ in served),
            "every checkpoint served is signed by the log's key")
    good = [s for s in served if s[2] is not None]
    roots = {}
    for _, _, (size, root), _ in good:
        roots.setdefault(size, set()).add(root)
    forks = {s: r for s, r in roots.items() if len(r) > 1}
    t.check(not forks, "one root per size: forks at %s" % sorted(forks))
    t.check(len(roots) > 5, "checkpoints of %d sizes served during the run" % len(roots))
    by = {}
    for who, seq, (size, _), _ in good:
        by.setdefault(who, []).append((seq, size))
    for who, seen in by.items():
        sizes = [s for _, s in sorted(seen)]
        t.check(sizes == sorted(sizes), "%s: sizes served never shrink: %s" % (who, sizes))
    sizes = sorted(roots)
    proofs = 0
    for i, m in enumerate(sizes):
        for j, n in enumerate(sizes[i + 1:]):
            if j > 3 and n != sizes[-1]:
                continue  # the next few and the last: enough to tie every pair
            tw = towers[(i + j) % 2]
            st, con, _ = tw.call("GET", "/api/v1/log/consistency?from=%d&to=%d" % (m, n),
                                 token=auditor)
            ok = st == 200 and check_consistency(m, n, next(iter(roots[m])), next(iter(roots[n])),
                                                 [base64.b64decode(p) for p in con["proof"]])
            t.check(ok, "consistency %d -> %d from port %d: %s %s" % (m, n, tw.port, st, con))
            proofs += 1
    t.check(proofs >= len(sizes) - 1, "%d consistency proofs checked" % proofs)

    # The store: each entry placed once, at one index; nothing more.
    (entries,), = psql(store, "SELECT COUNT(*) FROM log_entries")
    t.check(int(entries) == want, "log_entries holds %s entries, wanted %d" % (entries, want))
    row, = psql(store, "SELECT COUNT(*), COUNT(DISTINCT idx), COUNT(DISTINCT seq), "
                       "COALESCE(MIN(idx), -1), COALESCE(MAX(idx), -1) FROM log_leaves")
    t.check([int(x) for x in row] == [want, want, want, 0, want - 1],
            "every leaf index once, 0..%d, each a distinct entry: %s" % (want - 1, row))
    (unplaced,), = psql(store, "SELECT COUNT(*) FROM log_entries e WHERE NOT EXISTS "
                               "(SELECT 1 FROM log_leaves l WHERE l.seq = e.seq)")
    t.check(unplaced == "0", "entries without a leaf: %s" % unplaced)
    (hashes,), = psql(store, "SELECT COUNT(*) FROM log_hashes")
    t.check(int(hashes) == stored_count(want),
            "log_hashes holds %s, wanted %d" % (hashes, stored_count(want)))
    state = dict(psql(store, "SELECT name, value FROM log_state"))
    t.check(state.get("size") == str(want), "log_state: %s" % state)

    # What an auditor runs: the whole store, and the first checkpoint
    # against the last with the proof from the other tower.
    vfile = os.path.join(d, "vkey")
    with open(vfile, "w") as f:
        f.write(vkey + "\n")
    p = subprocess.run([yagura, "audit", "verify", "--store", store, "--key", "@" + vfile],
                       capture_output=True, text=True, timeout=300)
    t.check(p.returncode == 0 and ("size %d" % want) in p.stdout,
            "audit verify --store: exit %d\n%s%s" % (p.returncode, p.stdout, p.stderr))
    first = min(good, key=lambda s: s[2][0])
    last = next(s for s in good if s[2][0] == want)
    paths = []
    for label, s in (("first", first), ("last", last)):
        paths.append(os.path.join(d, label + ".checkpoint"))
        with open(paths[-1], "w") as f:
            f.write(s[3])
    tokfile = os.path.join(d, "auditor")
    with open(tokfile, "w") as f:
        f.write(auditor + "\n")
    p = subprocess.run([yagura, "audit", "verify", "--key", "@" + vfile, "--checkpoint", paths[1],
                        "--old", paths[0], "--tower", "http://127.0.0.1:%d" % one.port,
                        "--token-file", tokfile], capture_output=True, text=True, timeout=300)
    t.check(p.returncode == 0 and "is a prefix of" in p.stdout,
            "audit verify --old: exit %d\n%s%s" % (p.returncode, p.stdout, p.stderr))


main()
