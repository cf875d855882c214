"""`yagura audit verify` (issue 12) against a live tower, on SQLite and
PostgreSQL, with nothing but the log's verifier key: checkpoints saved as
an auditor verify; their consistency and an entry's inclusion verify with
proofs from the tower and from the store; the store's tree is the signed
one. Then the store is tampered with directly, as an administrator with
database access could: an edited entry, a deleted entry, a deleted leaf,
a changed stored hash are each named; a truncated and rewritten log is
caught as a split view against a checkpoint saved before; a checkpoint
signed by another key fails and names the key that signed it.

The rows the entries vouch for are hashed again here, in Python, from
the store, by the format docs/audit.md gives: what the tower wrote is
what an auditor with their own tools gets. A report's row or version
edited, a version deleted, a revoked token revived, an alert changed or
deleted, an organisation added behind the tower's back, a TAXII
collection's title or access rules edited, a rule added, a sensor's
certificate binding changed: each is named."""
import base64
import hashlib
import os
import subprocess
import tempfile
import time

import common
from logdb import PgDB, SqliteDB, rogue_key, stored_count, stored_index
from towerlib import Tower, both_stores

OK, USAGE, FAILED, UNREACHABLE, SPLIT = 0, 1, 2, 3, 6


# The columns each entry's rows are hashed over (docs/audit.md, "What an
# entry holds"): table -> (columns, types, key columns, a set?).
RECORDS = {
    "orgs": ("id name sector created", "itti", ["id"], False),
    "users": ("id org_id name role sectors created disabled", "iitttii", ["id"], False),
    "tokens": ("id user_id hash prefix created expires revoked", "iittiii", ["id"], False),
    "reports": ("id org_id version stage category severity detected_at created updated "
                "due_prompt due_detailed due_final prompt_at detailed_at final_at closed_at",
                "iiitttiiiiiiiiii", ["id"], False),
    "report_versions": ("report_id version stage body author_id created", "iittii",
                        ["report_id", "version"], False),
    "assets": ("id org_id product version role location created", "iitttti", ["id"], False),
    "asset_addresses": ("prefix", "t", ["asset_id"], True),
    "alert_batches": ("id sensor_id received alerts", "iiii", ["id"], False),
    "alerts": ("sensor_id alert_id received ts src_ip src_port dest_ip dest_port proto "
               "signature_id signature severity body attackers attacker_role detector hosts "
               "ports sessions packets window_start indicator confidence attacker_packets "
               "asset_id asset_org_id", "itiititititittttiiiiititii",
               ["batch_id"], True),
    "cases": ("id action target proto ports contact justification duration approvals_needed "
              "state proposed_by created updated activated expires ended", "ittttttiitiiiiii",
              ["id"], False),
    "case_evidence": ("kind ref", "tt", ["case_id"], True),
    "case_decisions": ("id case_id user_id decision reason created", "iiitti", ["id"], False),
    "authorizations": ("id sensor_id prefixes vlans purpose starts approvals_needed state "
                       "proposed_by created updated activated expires ended",
                       "iitttiitiiiiii", ["id"], False),
    "authorization_decisions": ("id authorization_id user_id decision reason created",
                                "iiitti", ["id"], False),
    "taxii_status": ("id status_id collection_id user_id total success failure failures created",
                     "ittiiiiti", ["id"], False),
    "stix_objects": ("collection_id stix_id type version version_us spec_version date_added tlp "
                     "org_id body", "ttttitiiit", ["batch_id"], True),
    "stix_deletions": ("id collection_id stix_id version_us user_id created", "ittiii", ["id"],
                       False),
    "taxii_collections": ("num id alias title description created", "itttti", ["num"], False),
    "taxii_access": ("collection_id role org_id can_read can_write", "ttiii", ["collection_num"],
                     True),
    "user_certificates": ("user_id fingerprint updated", "iti", ["user_id"], False),
}


def row_hash(table, values):
    """SHA-256 of a row: its table, then each column name=n; | =i<n>; |
    =t<length>:<bytes>; (values: None or the column's text as bytes)."""
    cols, types, _, _ = RECORDS[table]
    h = hashlib.sha256(table.encode() + b"\n")
    for name, ty, v in zip(cols.split(), types, values):
        if v is None:
            h.update(name.encode() + b"=n;")
        elif ty == "i":
            h.update(b"%s=i%d;" % (name.encode(), int(v)))
        else:
            h.update(b"%s=t%d:%s;" % (name.encode(), len(v), v))
    return h.digest()


def stored_rows(db, table, where):
    """The rows of table matching where, each a list of None or bytes."""
    cols = RECORDS[table][0].split()
    sel = ", ".join("CASE WHEN %s IS NULL THEN 'n' ELSE 'v' || %s END" % (c, db.hextext(c))
                    for c in cols)
    return [[None if v == "n" else bytes.fromhex(v[1:]) for v in r]
            for r in db.rows("SELECT %s FROM %s WHERE %s" % (sel, table, where))]


def entry_rows(entry):
    """The row lines of an entry: (table, key values, count or None, hash)."""
    out = []
    for line in entry.decode().split("\n"):
        f = line.split(" ")
        if f[0] == "row":
            out.append((f[1], [int(k) for k in f[2:-1]], None, base64.b64decode(f[-1])))
        elif f[0] == "rows":
            out.append((f[1], [int(f[2])], int(f[3]), base64.b64decode(f[-1])))
    return out


def check_rows(t, label, db, entries):
    """Hashes every row the entries name again from the store, the latest
    entry naming a row being the one it must match. Returns the rows."""
    latest = {}
    for e in entries:
        for table, key, count, h in entry_rows(e):
            latest[(table, tuple(key))] = (count, h)
    bad = []
    for (table, key), (count, h) in sorted(latest.items()):
        _, _, keys, is_set = RECORDS[table]
        where = " AND ".join("%s = %d" % (k, v) for k, v in zip(keys, key))
        rows = stored_rows(db, table, where)
        if is_set:
            hs = sorted(set(row_hash(table, r) for r in rows))
            got = hashlib.sha256(b"set " + table.encode() + b"\n" + b"".join(hs)).digest()
            ok = got == h and len(hs) == count
        else:
            ok = len(rows) == 1 and row_hash(table, rows[0]) == h
        if not ok:
            bad.append((table, key))
    t.check(len(latest) > 20 and not bad, "%s: %d rows named, hashed again in Python: %s differ" %
            (label, len(latest), bad))
    return latest


def signer(vkey):
    """name+id of a verifier key (its base64 may hold '+' too)."""
    return "+".join(vkey.split("+")[:2])


def run(t, tw, label, yagura, d, db):
    A = tw.admin
    towerargs = ["--tower", "http://127.0.0.1:%d" % tw.port, "--token-file",
                 os.path.join(d, label + ".auditor")]
    storeargs = ["--store", tw.store]
    auditor = tw.token_for("auditor", "auditor", towerargs[3])
    st, vkey, _ = tw.call("GET", "/log/key")
    vkey = vkey.strip()
    keyfile = os.path.join(d, label + ".vkey")
    with open(keyfile, "w") as f:
        f.write(vkey + "\n")

    def verify(*args, key="@" + keyfile):
        p = subprocess.run([yagura, "audit", "verify", "--key", key] + list(args),
                           capture_output=True, text=True, timeout=300)
        return p.returncode, p.stdout, p.stderr

    def expect(want, args, what, out=(), err=(), noerr=(), key="@" + keyfile):
        rc, so, se = verify(*args, key=key)
        good = rc == want and all(s in so for s in out) and all(s in se for s in err) and \
            not any(s in se for s in noerr) and (want == USAGE or len(so.splitlines()) >= 1)
        t.check(good, "%s: %s: exit %d (wanted %d)\nstdout: %s\nstderr: %s" % (
            label, what, rc, want, so, se))
        return so, se

    def entries():
        return int(db.rows("SELECT COUNT(*) FROM log_entries")[0][0])

    def save(name, size=None):
        """Has the tower sign a checkpoint of every change made (or of
        size) and saves it as the auditor would: (path, size, root)."""
        want = entries() if size is None else size
        for _ in range(300):
            st, note, _ = tw.call("POST", "/api/v1/log/checkpoint", b"", auditor)
            lines = note.split("\n") if st == 200 else []
            if len(lines) > 2 and int(lines[1]) == want:
                break
            time.sleep(0.1)
        t.check(len(lines) > 2 and int(lines[1]) == want,
                "%s: checkpoint %s of size %d: %s %r" % (label, name, want, st, note))
        path = os.path.join(d, "%s-%s.checkpoint" % (label, name))
        with open(path, "wb") as f:
            f.write(note.encode())
        return path, want, lines[2]

    def leaf(idx):
        """Leaf idx's seq and entry, as stored."""
        seq, e = db.rows("SELECT l.seq, %s FROM log_leaves l JOIN log_entries e ON e.seq = l.seq "
                         "WHERE l.idx = %d" % (db.hexof("e.entry"), idx))[0]
        return int(seq), bytes.fromhex(e)

    def stored_hash(idx):
        return bytes.fromhex(db.rows("SELECT %s FROM log_hashes WHERE idx = %d" %
                                     (db.hexof("hash"), idx))[0][0])

    # Changes, and two checkpoints an auditor keeps.
    st, o, _ = tw.call("POST", "/api/v1/orgs", {"name": "Chubu Gas", "sector": "gas"}, A)
    st, u, _ = tw.call("POST", "/api/v1/users", {"name": "op2", "role": "operator",
                                                 "org_id": o["id"]}, A)
    st, tk, _ = tw.call("POST", "/api/v1/tokens", {"user_id": u["id"]}, A)
    op = tk["token"]
    # Alert batches, and a token issued and revoked: rows a later change
    # rewrites, and sets of rows.
    sensor = tw.token_for("sensor1", "sensor")
    batches = []
    for b in range(2):
        alerts = [{"alert_id": "a-%d-%d" % (b, i), "timestamp": "2026-11-23T00:00:00.000000+0000",
                   "src_ip": "198.51.100.%d" % i, "dest_ip": "192.0.2.1",
                   "alert": {"signature_id": 9100001, "severity": 2}} for i in range(3)]
        st, res, _ = tw.call("POST", "/api/v1/alerts", {"alerts": alerts}, sensor)
        t.check(st == 200 and res["accepted"] == 3, "%s: alerts: %s %s" % (label, st, res))
        batches.append(int(db.rows("SELECT MAX(id) FROM alert_batches")[0][0]))
    st, gone, _ = tw.call("POST", "/api/v1/tokens", {"user_id": u["id"]}, A)
    st, _, _ = tw.call("DELETE", "/api/v1/tokens/%d" % gone["id"], None, A)
    t.check(st in (200, 204), "%s: a token revoked: %s" % (label, st))
    # A sensor bound to a client certificate, then to another: a row a
    # later change rewrites (issue 15).
    sensor_id = int(db.rows("SELECT id FROM users WHERE name = 'sensor1'")[0][0])
    for fp in ("sha256:" + "ab" * 32, "sha256:" + "cd" * 32):
        st, res, _ = tw.call("PUT", "/api/v1/users/%d/certificate" % sensor_id,
                             {"fingerprint": fp}, A)
        t.check(st == 200 and res["fingerprint"] == fp, "%s: a certificate bound: %s %s" %
                (label, st, res))
    old, old_size, old_root = save("old")
    st, rep, _ = tw.call("POST", "/api/v1/reports", {
        "category": "ddos", "summary": "SYN flood on the portal",
        "detected_at": "2026-11-20T09:00:00+09:00", "severity": "high"}, op)
    t.check(st == 201, "%s: a report: %s %s" % (label, st, rep))
    # A case with its evidence (a set) and a monitoring authorization, each
    # decided and started by the tower: rows a later change rewrites.
    an, ov = tw.token_for("analyst-a", "analyst"), tw.token_for("overseer-a", "overseer")
    st, c, _ = tw.call("POST", "/api/v1/cases", {
        "action": "sinkhole", "target": "c2-beacon.example.net", "justification": "C2 domain",
        "duration": "2h", "evidence": ["report:%d" % rep.get("id", 0),
                                   "alert:%s" % db.rows("SELECT MIN(id) FROM alerts")[0][0]]},
        an)
    t.check(st == 201, "%s: a case: %s %s" % (label, st, c))
    st, m, _ = tw.call("POST", "/api/v1/monitoring/authorizations", {
        "sensor": "sensor1", "prefixes": ["192.0.2.0/24"], "purpose": "the portal's uplink",
        "until": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))}, an)
    t.check(st == 201, "%s: an authorization: %s %s" % (label, st, m))
    for path in ("/api/v1/cases/%d" % c.get("case", {}).get("id", 0),
                 "/api/v1/monitoring/authorizations/%d" % m.get("authorization", {}).get("id", 0)):
        st, _, _ = tw.call("POST", path + "/approve", {"reason": "ok"}, ov)
        for _ in range(100):
            st, got, _ = tw.call("GET", path, token=ov)
            if st == 200 and list(got.values())[0]["state"] == "active":
                break
            time.sleep(0.1)
        t.check(st == 200 and list(got.values())[0]["state"] == "active",
                "%s: %s active: %s" % (label, path, got))
    # A TAXII collection made, its rules replaced and an envelope posted to
    # it, by an analyst: a row and a set a later change rewrites.
    st, coll, _ = tw.call("POST", "/api/v1/taxii/collections",
                          {"alias": "audit-feed", "title": "Audit feed"}, an)
    t.check(st == 201, "%s: a collection: %s %s" % (label, st, coll))
    cid, cnum = coll["collection"]["id"], coll["collection"]["number"]
    st, acc, _ = tw.call("PUT", "/api/v1/taxii/collections/%s/access" % cid, {"rules": [
        {"role": "analyst", "read": True, "write": True},
        {"role": "operator", "org": o["id"], "read": True}]}, an)
    t.check(st == 200 and len(acc["collection"]["rules"]) == 2,
            "%s: its rules: %s %s" % (label, st, acc))
    taxii = "application/taxii+json;version=2.1"
    st, _, _ = tw.call("POST", "/taxii2/api/collections/%s/objects/" % cid, {"objects": [{
        "type": "indicator", "spec_version": "2.1",
        "id": "indicator--0b7e6f9c-3c0e-4a5e-9d3c-6f8a1b2c3d4e",
        "created": "2026-12-01T00:00:00.000Z", "modified": "2026-12-01T00:00:00.000Z",
        "pattern": "[ipv4-addr:value = '198.51.100.9']", "pattern_type": "stix",
        "valid_from": "2026-12-01T00:00:00.000Z"}]}, an,
        {"Content-Type": taxii, "Accept": taxii})
    t.check(st == 202, "%s: an envelope: %s" % (label, st))
    for i in range(6):
        tw.token_for("staff%d" % i, "analyst")
    cp, size, root = save("now")
    t.check(size > 16 and old_size < size, "%s: sizes %d, %d" % (label, old_size, size))
    report_leaf = next(i for i in range(size) if b"kind report.create\n" in leaf(i)[1])

    # Everything checks out, from the tower and from the store.
    expect(OK, ["--checkpoint", cp], "a checkpoint's signature",
           out=["ok: %s (yagura.local/log, size %d) is signed by %s" % (cp, size, vkey)])
    expect(OK, ["--checkpoint", cp, "--old", old] + towerargs, "consistency, proof from the tower",
           out=["%s (size %d) is a prefix of %s" % (old, old_size, cp)])
    expect(OK, ["--checkpoint", cp, "--old", old] + storeargs, "consistency, proof from the store",
           out=["is a prefix of"])
    expect(OK, ["--checkpoint", old, "--old", cp] + towerargs,
           "consistency of two checkpoints given newest first", out=["is a prefix of"])
    so, _ = expect(OK, ["--checkpoint", cp, "--entry", str(report_leaf)] + towerargs,
                   "an entry's inclusion, proof from the tower",
                   out=["entry %d is in its tree" % report_leaf])
    t.check(so.startswith("yagura-log/v1\nkind report.create\nid %d" % rep["id"]) and
            "\nby user " in so,
            "%s: the entry printed is the report's: %r" % (label, so))
    expect(OK, ["--checkpoint", cp, "--entry", str(report_leaf)] + storeargs,
           "an entry's inclusion, proof from the store", out=["kind report.create\n"])
    expect(OK, ["--checkpoint", cp] + storeargs, "the store's tree is the signed one",
           out=["the store's %d leaves, their entries and %d stored hashes are the tree" %
                (entries(), stored_count(entries()))])
    expect(OK, storeargs, "the store against its own latest checkpoint",
           out=["ok: the store's latest checkpoint (yagura.local/log, size %d)" % size])
    named = check_rows(t, label, db, [leaf(i)[1] for i in range(size)])
    expect(OK, ["--checkpoint", cp] + storeargs, "every row as its entry recorded it",
           out=["and its %d rows are as the entries recorded them" % sum(
               1 if c is None else c for c, _ in named.values())])

    # A checkpoint signed by another key fails, naming who signed it.
    text = open(cp).read().rpartition("\n\n")[0] + "\n"
    for name in ("yagura.local/log", "rogue.example/log"):
        rkey, sign = rogue_key(name)
        forged = os.path.join(d, "%s-forged.checkpoint" % label)
        with open(forged, "w") as f:
            f.write(sign(text))
        expect(FAILED, ["--checkpoint", forged], "a checkpoint signed by %s's other key" % name,
               out=["FAILED"], err=["is not signed by the key %s: it was signed by %s" %
                                    (vkey, signer(rkey))])
        expect(FAILED, ["--checkpoint", cp], "the tower's checkpoint, with %s's other key" % name,
               key=rkey, err=["it was signed by %s" % signer(vkey)])
    altered = os.path.join(d, "%s-altered.checkpoint" % label)
    with open(altered, "w") as f:
        f.write(open(cp).read().replace("\n%d\n" % size, "\n%d\n" % (size + 1), 1))
    expect(FAILED, ["--checkpoint", altered], "a checkpoint changed after signing",
           err=["the signature by %s does not verify" % vkey])

    # Tampering in the store, each named, each undone.
    seq, entry = leaf(report_leaf)
    db.run("UPDATE log_entries SET entry = %s WHERE seq = %d" % (
        db.blob(entry.replace(b"role operator", b"role analyst")), seq))
    expect(FAILED, ["--checkpoint", cp] + storeargs, "an edited entry",
           err=["entry %d (seq %d) does not hash to its leaf, stored hash %d" %
                (report_leaf, seq, stored_index(0, report_leaf)),
                "the tree at size %d is not the checkpoint's" % size],
           noerr=["differs", "not the entries"])
    expect(FAILED, ["--checkpoint", cp, "--entry", str(report_leaf)] + towerargs,
           "an edited entry the tower serves", err=["entry %d is not in the tree" % report_leaf])
    db.run("UPDATE log_entries SET entry = %s WHERE seq = %d" % (db.blob(entry), seq))

    seq5, entry5 = leaf(5)
    created = db.rows("SELECT created FROM log_entries WHERE seq = %d" % seq5)[0][0]
    db.run("DELETE FROM log_entries WHERE seq = %d" % seq5)
    expect(FAILED, ["--checkpoint", cp] + storeargs, "a deleted entry",
           err=["leaf 5 has no entry (seq %d)" % seq5], noerr=["the tree at size"])
    expect(FAILED, ["--checkpoint", cp, "--entry", "5"] + storeargs,
           "the inclusion of a deleted entry", err=["leaf 5 has no entry"])
    db.run("INSERT INTO log_entries (seq, entry, created) %s VALUES (%d, %s, %s)" % (
        db.overriding, seq5, db.blob(entry5), created))

    seq6, _ = leaf(6)
    db.run("DELETE FROM log_leaves WHERE idx = 6")
    expect(FAILED, ["--checkpoint", cp] + storeargs, "a deleted leaf",
           err=["leaf 6 is missing", "entry seq %d has no leaf" % seq6])
    db.run("INSERT INTO log_leaves (idx, seq) VALUES (6, %d)" % seq6)

    for idx, what in ((stored_index(1, 2), "a stored hash of leaves 4 to 5"),
                      (stored_index(3, 1), "a stored hash of leaves 8 to 15"),
                      (stored_index(0, 7), "leaf 7's stored hash")):
        h = stored_hash(idx)
        db.run("UPDATE log_hashes SET hash = %s WHERE idx = %d" % (
            db.blob(bytes([h[0] ^ 1]) + h[1:]), idx))
        expect(FAILED, ["--checkpoint", cp] + storeargs, what,
               err=["stored hash %d" % idx] +
               (["the stored leaf hashes named above were changed, not the entries"]
                if idx == stored_index(0, 7) else []),
               noerr=["the tree at size"])
        if idx == stored_index(0, 7):  # in leaf 6's proof, not in its own
            expect(FAILED, ["--checkpoint", cp, "--entry", "6"] + towerargs,
                   "the inclusion of leaf 6, its sibling's stored hash changed",
                   err=["entry 6 is not in the tree"])
        else:
            t.check("stored hash %d differs" % idx in verify("--checkpoint", cp, *storeargs)[2],
                    "%s: %s is named as differing" % (label, what))
        db.run("UPDATE log_hashes SET hash = %s WHERE idx = %d" % (db.blob(h), idx))
    expect(OK, ["--checkpoint", cp, "--old", old] + storeargs, "the store once undone")

    # What the tools refuse, and what they cannot reach.
    expect(USAGE, ["--checkpoint", cp, "--entry", str(size)] + towerargs, "an entry beyond the tree")
    rc, _, _ = verify("--checkpoint", cp, "--old", old, "--tower", "http://127.0.0.1:1",
                      "--token-file", towerargs[3])
    t.check(rc == UNREACHABLE, "%s: an unreachable tower: exit %d" % (label, rc))
    rc, _, _ = verify("--checkpoint", cp, "--store", os.path.join(d, "absent.db"))
    t.check(rc == UNREACHABLE, "%s: an absent store: exit %d" % (label, rc))

    # The log truncated and rewritten, thoroughly: leaves, hashes, entries,
    # checkpoints and the sequencer's state set back three leaves.
    before, n, before_root = save("before")
    cut = n - 3
    last_seq = leaf(cut - 1)[0]
    # The rows the cut entries vouched for: "row <table> <id> <hash>".
    orphans = ["row %s id=%s has no entry in the log" % tuple(line.split(" ")[1:3])
               for i in range(cut, n) for line in leaf(i)[1].decode().split("\n")
               if line.startswith("row ")]
    t.check(len(orphans) == 3, "%s: the cut entries name 3 rows: %s" % (label, orphans))
    db.run("DELETE FROM log_entries WHERE seq > %d" % last_seq,
           "DELETE FROM log_leaves WHERE idx >= %d" % cut,
           "DELETE FROM log_hashes WHERE idx >= %d" % stored_count(cut),
           "DELETE FROM log_checkpoints WHERE size > %d" % cut,
           "UPDATE log_state SET value = %d WHERE name = 'seq'" % last_seq,
           "UPDATE log_state SET value = %d WHERE name = 'size'" % cut)
    back, _, back_root = save("back", cut)
    for via, args in (("the tower", towerargs), ("the store", storeargs)):
        expect(SPLIT, ["--checkpoint", back, "--old", before] + args,
               "a later, smaller checkpoint, proof from %s" % via,
               out=["split view: %s size %d root %s; %s size %d root %s; both signed by %s" % (
                   before, n, before_root, back, cut, back_root, vkey), "they are the evidence"],
               err=["the log went back"])
    expect(FAILED, ["--checkpoint", before] + storeargs, "the store against a checkpoint it lost",
           err=["the tree at size %d is not the checkpoint's: the store holds only %d leaves" %
                (n, cut)])
    for i in range(3):
        tw.call("POST", "/api/v1/users", {"name": "after%d" % i, "role": "analyst"}, A)
    same, _, same_root = save("same")
    t.check(same_root != before_root, "%s: a rewritten tree of size %d" % (label, n))
    expect(SPLIT, ["--checkpoint", same, "--old", before], "two trees of one size",
           out=["split view: %s size %d root %s; %s size %d root %s" % (
               before, n, before_root, same, n, same_root)],
           err=["both sign a tree of size %d, with different roots" % n])
    for i in range(2):
        tw.call("POST", "/api/v1/users", {"name": "later%d" % i, "role": "analyst"}, A)
    after, after_size, after_root = save("after")
    for via, args in (("the tower", towerargs), ("the store", storeargs)):
        expect(SPLIT, ["--checkpoint", after, "--old", before] + args,
               "a rewritten log, proof from %s" % via,
               out=["split view: %s size %d root %s; %s size %d root %s" % (
                   before, n, before_root, after, after_size, after_root)],
               err=["is not a prefix of", "the consistency proof from %s fails" % via])
    # The rewritten tree is consistent in itself; the saved checkpoint
    # shows the rewrite, and so do the rows whose entries were cut.
    expect(FAILED, ["--checkpoint", after] + storeargs,
           "the rewritten store against its own checkpoint", err=orphans,
           noerr=["is not the checkpoint's", "stored hash", "leaf"])
    expect(FAILED, ["--checkpoint", before] + storeargs, "the rewritten store against the old",
           err=["the tree at size %d is not the checkpoint's: its entries make the root" % n])

    # The rows themselves, changed behind the tower's back: each named,
    # with the leaf that vouched for it.
    def leaf_of(text):
        return next(i for i in range(after_size) if text in leaf(i)[1])
    rid = rep["id"]
    rep_leaf = leaf_of(b"kind report.create\nid %d " % rid)
    revoke_leaf = leaf_of(b"kind token.revoke\nid %d\n" % gone["id"])
    batch_leaf = [leaf_of(b"kind alert.batch\nid %d\n" % b) for b in batches]
    coll_leaf = leaf_of(b"kind taxii.collection.create\nid %d\n" % cnum)
    access_leaf = leaf_of(b"kind taxii.collection.access\nid %d\n" % cnum)
    cert_leaf = max(i for i in range(after_size)
                    if b"kind user.certificate\nid %d\n" % sensor_id in leaf(i)[1])
    db.run("UPDATE report_versions SET body = replace(body, 'SYN', 'UDP') WHERE report_id = %d" % rid,
           "UPDATE reports SET severity = 'low' WHERE id = %d" % rid,
           "UPDATE tokens SET revoked = NULL WHERE id = %d" % gone["id"],
           "UPDATE alerts SET severity = 1 WHERE alert_id = 'a-0-1'",
           "DELETE FROM alerts WHERE alert_id = 'a-1-2'",
           "INSERT INTO orgs (name, sector, created) VALUES ('Ghost Power', 'electricity', 0)",
           "UPDATE taxii_collections SET title = 'Renamed' WHERE num = %d" % cnum,
           "UPDATE taxii_access SET can_write = 1 WHERE collection_num = %d AND role = 'operator'"
           % cnum,
           "INSERT INTO taxii_access (collection_id, role, org_id, can_read, can_write) "
           "VALUES ('%s', 'regulator', NULL, 1, 1)" % cid,
           "UPDATE user_certificates SET fingerprint = 'sha256:%s' WHERE user_id = %d" %
           ("ef" * 32, sensor_id))
    ghost = int(db.rows("SELECT id FROM orgs WHERE name = 'Ghost Power'")[0][0])
    expect(FAILED, ["--checkpoint", after] + storeargs, "rows changed behind the tower's back",
           err=["row report_versions report_id=%d, version=1 differs from what leaf %d recorded" %
                (rid, rep_leaf),
                "row reports id=%d differs from what leaf %d recorded" % (rid, rep_leaf),
                "row tokens id=%d differs from what leaf %d recorded" % (gone["id"], revoke_leaf),
                "rows alerts with batch_id=%d differ from what leaf %d recorded (3 rows then, 3 now)"
                % (batches[0], batch_leaf[0]),
                "rows alerts with batch_id=%d differ from what leaf %d recorded (3 rows then, 2 now)"
                % (batches[1], batch_leaf[1]),
                "row orgs id=%d has no entry in the log" % ghost,
                "row taxii_collections num=%d differs from what leaf %d recorded" % (
                    cnum, coll_leaf),
                "rows taxii_access with collection_num=%d differ from what leaf %d recorded "
                "(2 rows then, 2 now)" % (cnum, access_leaf),
                "1 TAXII access rules have no collection number",
                "row user_certificates user_id=%d differs from what leaf %d recorded" %
                (sensor_id, cert_leaf)])
    db.run("DELETE FROM report_versions WHERE report_id = %d" % rid)
    expect(FAILED, ["--checkpoint", after] + storeargs, "a report's version deleted",
           err=["leaf %d names row report_versions report_id=%d, version=1, which the store no "
                "longer has" % (rep_leaf, rid)])
    # --tree-only reads the log's tables alone: they are still the tree.
    expect(OK, ["--checkpoint", after, "--tree-only"] + storeargs, "the tree alone",
           out=["the rows were not read: --tree-only"])
    expect(USAGE, ["--checkpoint", after, "--tree-only"], "--tree-only without --store",
           err=["--tree-only goes with --store"])


def main():
    a = common.parse_args()
    t = common.Checker("audit")
    with tempfile.TemporaryDirectory() as d:
        stores = both_stores(t, a.yagura, d, "tower_audit")
        for label, store in stores:
            keyfile = os.path.join(d, label + ".log-key")
            ini = os.path.join(d, label + ".ini")
            with open(ini, "w") as f:
                f.write("[log]\nkey = %s\ncheckpoint_interval = 1h\n" % keyfile)
            tw = Tower(a.yagura, store, d, extra=["--config", ini], init_extra=["--log-key", keyfile])
            db = SqliteDB(store) if label == "sqlite" else PgDB(store)
            try:
                run(t, tw, label, a.yagura, d, db)
            finally:
                rc = tw.stop()
            t.check(rc == 0, "%s: tower exit %d on SIGTERM" % (label, rc))
    t.finish()


main()
