"""The transparency log (issue 12) through the tower's API, on SQLite and
PostgreSQL, checked with code written here from the specifications, not
with the tower's: every change appends one entry in its own transaction
(a refused change none); checkpoints are C2SP signed notes under the key
`yagura audit key` prints; every entry's inclusion proof and the
consistency proof between two checkpoints verify (RFC 9162 §2.1.3.2,
§2.1.4.2); hash tiles and entry bundles (C2SP tlog-tiles) agree with them;
only auditors and overseers read the log."""
import base64
import hashlib
import json
import os
import re
import subprocess
import tempfile

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

import common
from logdb import check_consistency, check_inclusion, leaf_hash, node_hash
from towerlib import Tower, both_stores


def open_checkpoint(note, vkey):
    """Verifies a signed note with the Ed25519 verifier key (C2SP signed-note)
    and parses its checkpoint: (origin, size, root) or None."""
    name, keyid, key = vkey.strip().split("+", 2)
    raw = base64.b64decode(key)
    if raw[0] != 1:
        return None
    pub = Ed25519PublicKey.from_public_bytes(raw[1:])
    text, _, sigs = note.rpartition("\n\n")
    text += "\n"
    ok = False
    for line in sigs.splitlines():
        if not line.startswith("\u2014 "):
            return None
        signer, sig = line[2:].split(" ")
        sig = base64.b64decode(sig)
        if signer == name and sig[:4].hex() == keyid:
            pub.verify(sig[4:], text.encode())  # raises on a bad signature
            ok = True
    if not ok:
        return None
    lines = text.split("\n")
    return lines[0], int(lines[1]), base64.b64decode(lines[2])


def tile_path(level, n, width):
    parts = "%d" % n
    digits = []
    while True:
        digits.append("%03d" % (n % 1000))
        n //= 1000
        if n == 0:
            break
    digits.reverse()
    path = "/".join(["x" + d for d in digits[:-1]] + [digits[-1]])
    return "%s/%s%s" % (level, path, "" if width == 256 else ".p/%d" % width)


def run(t, tw, label, yagura):
    A = tw.admin

    def ok(st, want, what, body=None):
        t.check(st == want, "%s: %s: status %s, wanted %s %s" % (label, what, st, want,
                                                                 body if st != want else ""))

    def user(name, role, **kw):
        st, u, _ = tw.call("POST", "/api/v1/users", dict(name=name, role=role, **kw), A)
        st, tk, _ = tw.call("POST", "/api/v1/tokens", {"user_id": u["id"]}, A)
        return tk["token"]

    def checkpoint(token):
        st, note, _ = tw.call("POST", "/api/v1/log/checkpoint", b"", token)
        ok(st, 200, "checkpoint now", note)
        return note

    # The verifier key is public, and the one the server's CLI prints.
    st, vkey, _ = tw.call("GET", "/log/key")
    out = subprocess.run([yagura, "audit", "key", "--store", tw.store, "--log-key", tw.log_key],
                         capture_output=True, text=True)
    t.check(st == 200 and out.returncode == 0 and vkey.strip() == out.stdout.strip() and
            vkey.startswith("yagura.local/log+"), "%s: the verifier key: %r %r" % (label, vkey, out))
    # admin init made two changes: the admin and its token; the tower's
    # start, three: the schema's TAXII collections taken into the log.
    st, o, _ = tw.call("POST", "/api/v1/orgs", {"name": "Chubu Gas", "sector": "gas"}, A)
    auditor = user("auditor", "auditor")
    overseer = user("overseer", "overseer")
    op = user("op", "operator", org_id=o["id"])
    sensor = user("sensor", "sensor")
    changes = 2 + 3 + 1 + 4 * 2
    # Refused changes append nothing.
    st, _, _ = tw.call("POST", "/api/v1/orgs", {"name": "Chubu Gas", "sector": "gas"}, A)
    ok(st, 409, "a duplicate organisation")
    st, _, _ = tw.call("POST", "/api/v1/reports", {"category": "nothing"}, op)
    ok(st, 422, "a bad report")
    first = open_checkpoint(checkpoint(auditor), vkey)
    t.check(first is not None and first[1] == changes,
            "%s: one entry a change, none for refusals: %s, wanted %d" % (label, first, changes))
    body = {"category": "ddos", "summary": "SYN flood on the portal",
            "detected_at": "2026-11-20T09:00:00+09:00", "severity": "high"}
    st, r, _ = tw.call("POST", "/api/v1/reports", body, op)
    ok(st, 201, "a report")
    alerts = [{"alert_id": "l-%d" % i, "timestamp": "2026-11-23T00:00:00.000000+0000",
               "src_ip": "198.51.100.%d" % i, "dest_ip": "192.0.2.1",
               "alert": {"signature_id": 9100001, "severity": 2}} for i in range(5)]
    st, res, _ = tw.call("POST", "/api/v1/alerts", {"alerts": alerts}, sensor)
    st, res2, _ = tw.call("POST", "/api/v1/alerts", {"alerts": alerts}, sensor)
    t.check(res2 == {"accepted": 0, "duplicates": 5}, "%s: a batch again: %s" % (label, res2))
    changes += 2  # the report; one batch (the second stored nothing)
    note = checkpoint(overseer)
    second = open_checkpoint(note, vkey)
    t.check(second is not None and second[1] == changes and second[0] == "yagura.local/log",
            "%s: second checkpoint: %s, wanted %d" % (label, second, changes))
    st, cp, h = tw.call("GET", "/log/checkpoint", token=auditor)
    t.check(st == 200 and cp == note, "%s: /log/checkpoint serves the latest" % label)
    # Every entry is in the tree, as its leaf says.
    size, root = second[1], second[2]
    entries = []
    for i in range(size):
        st, inc, _ = tw.call("GET", "/api/v1/log/inclusion?index=%d&size=%d" % (i, size), token=auditor)
        e = inc.get("entry", "").encode()
        entries.append(e)
        t.check(st == 200 and base64.b64decode(inc["leaf_hash"]) == leaf_hash(e) and
                check_inclusion(i, size, leaf_hash(e), [base64.b64decode(p) for p in inc["proof"]], root),
                "%s: inclusion of entry %d: %s" % (label, i, inc))
    kinds = [e.split(b"\n")[1].decode() for e in entries]
    t.check(kinds == ["kind user.create", "kind token.issue"] +
            ["kind taxii.collection.adopt"] * 3 + ["kind org.create"] +
            ["kind user.create", "kind token.issue"] * 4 + ["kind report.create", "kind alert.batch"],
            "%s: entries in commit order: %s" % (label, kinds))
    # A report's entry names the rows it wrote, each with a hash (what
    # they hash is test_audit.py's to check against the store).
    rep = entries[-2].decode()
    b64 = "[A-Za-z0-9+/]{43}="
    t.check(re.fullmatch("yagura-log/v1\nkind report.create\nid %d version 1\nby user [0-9]+ "
                         "token [0-9]+ role operator\nat 20[0-9-]{8}T[0-9:.]{15}Z\n"
                         "row reports %d %s\nrow report_versions %d 1 %s\n" % (
                             r["id"], r["id"], b64, r["id"], b64), rep) is not None,
            "%s: a report's entry: %r" % (label, rep))
    batch = entries[-1].decode()
    t.check(re.search("\nrow alert_batches ([0-9]+) %s\nrows alerts \\1 5 %s\n$" % (b64, b64),
                      batch) is not None, "%s: an alert batch's entry: %r" % (label, batch))
    t.check("by server" in entries[0].decode(), "%s: admin init's entry: %r" % (label, entries[0]))
    # The two checkpoints are consistent.
    st, con, _ = tw.call("GET", "/api/v1/log/consistency?from=%d&to=%d" % (first[1], size), token=auditor)
    t.check(st == 200 and check_consistency(first[1], size, first[2], root,
                                            [base64.b64decode(p) for p in con["proof"]]),
            "%s: consistency %d -> %d: %s" % (label, first[1], size, con))
    bad = [base64.b64decode(p) for p in con.get("proof", [])]
    if bad:
        bad[0] = bytes([bad[0][0] ^ 1]) + bad[0][1:]
        t.check(not check_consistency(first[1], size, first[2], root, bad),
                "%s: a flipped bit fails the consistency check" % label)
    # Tiles: the level-0 tile holds the leaf hashes, the bundle the entries.
    raw = tw.raw("GET", "/log/tile/" + tile_path(0, 0, size), token=auditor)
    t.check(raw == b"".join(leaf_hash(e) for e in entries),
            "%s: the level-0 tile is the leaf hashes (%d bytes)" % (label, len(raw or b"")))
    raw = tw.raw("GET", "/log/tile/entries/" + tile_path(0, 0, size).split("/", 1)[1], token=auditor)
    got, at = [], 0
    while raw is not None and at < len(raw):
        n = int.from_bytes(raw[at:at + 2], "big")
        got.append(raw[at + 2:at + 2 + n])
        at += 2 + n
    t.check(got == entries, "%s: the entry bundle is the entries" % label)
    st, _, _ = tw.call("GET", "/log/tile/0/000.p/%d" % (size + 1), token=auditor)
    ok(st, 404, "a tile beyond the tree")
    st, _, _ = tw.call("GET", "/log/tile/0/../../etc", token=auditor)
    t.check(st in (400, 404), "%s: a path that is no tile: %s" % (label, st))
    # Only auditors and overseers read the log.
    for path in ("/log/checkpoint", "/api/v1/log/inclusion?index=0", "/log/tile/0/000.p/1"):
        for who, tok in (("operator", op), ("sensor", sensor), ("admin", A)):
            st, _, _ = tw.call("GET", path, token=tok)
            ok(st, 403, "%s as %s" % (path, who))
        st, _, _ = tw.call("GET", path)
        ok(st, 401, "%s without a token" % path)


def main():
    a = common.parse_args()
    t = common.Checker("log")
    with tempfile.TemporaryDirectory() as d:
        stores = both_stores(t, a.yagura, d, "tower_log")
        for label, store in stores:
            keyfile = os.path.join(d, label + ".log-key")
            tw = Tower(a.yagura, store, d, extra=["--config", write_config(d, label, keyfile)],
                       init_extra=["--log-key", keyfile])
            tw.log_key = keyfile
            try:
                run(t, tw, label, a.yagura)
            finally:
                rc = tw.stop()
            t.check(rc == 0, "%s: tower exit %d on SIGTERM" % (label, rc))
    t.finish()


def write_config(d, label, keyfile):
    path = os.path.join(d, label + ".ini")
    with open(path, "w") as f:
        f.write("[log]\nkey = %s\n" % keyfile)
    return path


main()
