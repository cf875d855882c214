"""The transparency log (issue 12) checked by a verifier nobody here wrote:
Go's sumdb/note and sumdb/tlog from Debian's golang-golang-x-mod-dev, built
offline with Debian's golang-go (tests/interop/tlogcheck), on SQLite and
PostgreSQL.

A tower makes changes (organisations, users, tokens issued and revoked, a
report, an alert batch); checkpoint 1 is signed; 300 organisations more
take the tree across its first full 256-entry tile; checkpoint 2 is
signed. The Go program opens both checkpoints and the served one with
note.Open under the verifier key, proves every entry's inclusion and the
checkpoints' consistency from the hash tiles (ProveRecord / ProveTree) and
checks each proof against the signed roots (CheckRecord / CheckTree), and
checks the tower's JSON proofs the same way. It must pass; and it must
fail under another verifier key, on checkpoints forged three ways, and
when one stored hash inside the full tile is changed in the store. The
served checkpoint carries a witness's cosignature (yagura audit watch),
which note.Open skips as a signature by a key it was not given."""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

import common
from towerlib import Tower, both_stores

GOPATH_DEBIAN = "/usr/share/gocode"
XMOD = GOPATH_DEBIAN + "/src/golang.org/x/mod/sumdb"


def go_env(d):
    """Go in GOPATH mode, offline: golang.org/x/mod resolves from Debian's
    package; the build cache is the test's own."""
    return dict(os.environ, GO111MODULE="off", GOPATH=GOPATH_DEBIAN + ":" + os.path.join(d, "gopath"),
                GOCACHE=os.path.join(d, "gocache"), GOPROXY="off", GOENV="off", GOFLAGS="",
                GOTOOLCHAIN="local")


def build_checker(source, d):
    """Builds tests/interop/tlogcheck into d; exits the test with a clear
    failure when Go or x/mod is missing (CI installs both: scripts/setup.sh)."""
    go = shutil.which("go")
    missing = []
    if go is None:
        missing.append("golang-go (no 'go' on PATH)")
    if not (os.path.isdir(XMOD + "/note") and os.path.isdir(XMOD + "/tlog")):
        missing.append("golang-golang-x-mod-dev (no %s/note and /tlog)" % XMOD)
    if missing:
        print("FAIL: Go's verifier cannot be built: %s is not installed; "
              "scripts/setup.sh installs it" % " and ".join(missing))
        sys.exit(1)
    out = os.path.join(d, "tlogcheck")
    t0 = time.monotonic()
    p = subprocess.run([go, "build", "-o", out, "./tests/interop/tlogcheck"], cwd=source,
                       env=go_env(d), capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        print("FAIL: go build tests/interop/tlogcheck: %s" % p.stderr.strip())
        sys.exit(1)
    ver = subprocess.run([go, "version"], capture_output=True, text=True).stdout.strip()
    print("built tlogcheck with %s and x/mod from %s in %.1fs" % (ver, GOPATH_DEBIAN,
                                                                 time.monotonic() - t0))
    return out


def stored_index(n):
    """Go's tlog.StoredHashIndex(0, n): where leaf n's hash is stored."""
    i = 0
    while n > 0:
        i += n
        n >>= 1
    return i


def run(t, tw, label, d, checker, yagura, witness_key):
    A = tw.admin

    def ok(st, want, what, body=None):
        t.check(st == want, "%s: %s: status %s, wanted %s %s" % (label, what, st, want,
                                                                 body if st != want else ""))

    def user(name, role, **kw):
        st, u, _ = tw.call("POST", "/api/v1/users", dict(name=name, role=role, **kw), A)
        ok(st, 201, "user " + name, u)
        st, tk, _ = tw.call("POST", "/api/v1/tokens", {"user_id": u["id"]}, A)
        ok(st, 201, "token for " + name, tk)
        return tk

    def checkpoint(token, name):
        st, note, _ = tw.call("POST", "/api/v1/log/checkpoint", b"", token)
        ok(st, 200, "checkpoint now", note)
        path = os.path.join(d, "%s-%s.note" % (label, name))
        with open(path, "w") as f:
            f.write(note)
        return path, int(note.split("\n")[1])

    def check(*args, token=None, vkey=None):
        p = subprocess.run([checker, "-url", "http://127.0.0.1:%d" % tw.port,
                            "-token", token or auditor, "-vkey", vkey or key,
                            "-cp", cp1, "-cp", cp2] + list(args),
                           capture_output=True, text=True, timeout=300)
        return p.returncode, p.stdout + p.stderr

    def tail(out, n=6):
        return "\n    ".join(out.strip().splitlines()[-n:])

    # Changes of every kind the tower logs so far.
    st, key, _ = tw.call("GET", "/log/key")
    key = key.strip()
    st, o, _ = tw.call("POST", "/api/v1/orgs", {"name": "Chubu Gas", "sector": "gas"}, A)
    ok(st, 201, "an organisation", o)
    st, _, _ = tw.call("POST", "/api/v1/orgs", {"name": "Kansai Water", "sector": "water"}, A)
    ok(st, 201, "another organisation")
    auditor = user("auditor", "auditor")["token"]
    overseer = user("overseer", "overseer")["token"]
    op = user("op", "operator", org_id=o["id"])["token"]
    sensor = user("sensor", "sensor")["token"]
    spare = user("spare", "auditor")
    st, _, _ = tw.call("DELETE", "/api/v1/tokens/%d" % spare["id"], token=A)
    ok(st, 204, "a token revoked")
    body = {"category": "ddos", "summary": "SYN flood on the portal",
            "detected_at": "2026-11-20T09:00:00+09:00", "severity": "high"}
    st, r, _ = tw.call("POST", "/api/v1/reports", body, op)
    ok(st, 201, "a report", r)
    alerts = [{"alert_id": "g-%d" % i, "timestamp": "2026-11-23T00:00:00.000000+0000",
               "src_ip": "198.51.100.%d" % i, "dest_ip": "192.0.2.1",
               "alert": {"signature_id": 9100001, "severity": 2}} for i in range(5)]
    st, res, _ = tw.call("POST", "/api/v1/alerts", {"alerts": alerts}, sensor)
    t.check(st in (200, 201, 202) and res.get("accepted") == 5, "%s: an alert batch: %s %s" %
            (label, st, res))
    cp1, size1 = checkpoint(auditor, "cp1")
    # Across the first full tile.
    t0 = time.monotonic()
    for i in range(300):
        st, o2, _ = tw.call("POST", "/api/v1/orgs", {"name": "Org %03d" % i, "sector": "water"}, A)
        if st != 201:
            ok(st, 201, "organisation %d" % i, o2)
            break
    st, _, _ = tw.call("POST", "/api/v1/reports", dict(body, summary="again"), op)
    ok(st, 201, "a second report")
    alerts2 = [dict(a, alert_id="h-%d" % i) for i, a in enumerate(alerts)]
    st, _, _ = tw.call("POST", "/api/v1/alerts", {"alerts": alerts2}, sensor)
    cp2, size2 = checkpoint(overseer, "cp2")
    print("%s: checkpoints of %d and %d entries; 300 organisations in %.1fs" %
          (label, size1, size2, time.monotonic() - t0))
    t.check(size1 < 256 < size2 and size1 & (size1 - 1) != 0,
            "%s: the checkpoints straddle the first full tile: %d, %d" % (label, size1, size2))

    # A witness cosigns the latest checkpoint; the tower serves it so.
    tokfile = os.path.join(d, label + ".auditor")
    with open(tokfile, "w") as f:
        f.write(auditor + "\n")
    w = subprocess.run([yagura, "audit", "watch", "http://127.0.0.1:%d" % tw.port, "--key", key,
                        "--witness-key", witness_key, "--state", os.path.join(d, label + ".state"),
                        "--token-file", tokfile, "--once"], capture_output=True, text=True,
                       timeout=120)
    st, served, _ = tw.call("GET", "/log/checkpoint", token=auditor)
    t.check(w.returncode == 0 and served.count("\n\u2014 ") == 2 and
            "\n\u2014 witness.example/w1 " in served,
            "%s: the served checkpoint is cosigned: exit %d %s\n%s" % (label, w.returncode,
                                                                    w.stderr, served))

    # Go's verifier accepts the log.
    t0 = time.monotonic()
    rc, out = check()
    print("%s: tlogcheck in %.1fs: %s" % (label, time.monotonic() - t0, tail(out, 1)))
    t.check(rc == 0 and "[%d %d %d]" % (size1, size2, size2) in out and
            "%d entries" % size2 in out,
            "%s: Go's sumdb/tlog verifies the log: exit %d\n    %s" % (label, rc, tail(out)))
    rc, out = check(token=overseer)
    t.check(rc == 0, "%s: with an overseer's token: exit %d\n    %s" % (label, rc, tail(out)))
    rc, out = check(token=op)
    t.check(rc == 1 and "status 403" in out, "%s: an operator may not read the log: exit %d\n    %s" %
            (label, rc, tail(out)))

    # Another verifier key, of the same name: nothing opens.
    other = subprocess.run([checker, "-genkey", key.split("+")[0]], capture_output=True,
                           text=True).stdout.strip()
    t.check(other.startswith("yagura.local/log+") and other != key, "%s: -genkey: %r" % (label, other))
    rc, out = check(vkey=other)
    t.check(rc == 1 and "is not the verifier key" in out and
            out.count("note.Open: note has no verifiable signatures") == 3,
            "%s: another verifier key fails: exit %d\n    %s" % (label, rc, tail(out)))
    # Checkpoints signed by another key, or with the text changed.
    for mode, why in (("otherkey", "note has no verifiable signatures"),
                      ("relabel", "invalid signature for key " + key.split("+")[0]),
                      ("text", "invalid signature for key " + key.split("+")[0])):
        rc, out = check("-forge", mode)
        t.check(rc == 1 and out.count("note.Open: " + why) == 3,
                "%s: a checkpoint forged (%s) fails note.Open: exit %d\n    %s" %
                (label, mode, rc, tail(out)))

    # One leaf hash inside the full tile changed in the store: proofs from
    # the tiles no longer reach the signed roots.
    leaf = 100
    idx = stored_index(leaf)
    good = get_hash(tw.store, idx)
    t.check(good is not None and len(good) == 32, "%s: stored hash %d: %r" % (label, idx, good))
    set_hash(tw.store, idx, bytes([good[0] ^ 0x80]) + good[1:])
    rc, out = check()
    set_hash(tw.store, idx, good)
    t.check(rc == 1 and "entry %d in checkpoint %s (size %d): invalid transparency proof" %
            (leaf ^ 1, cp2, size2) in out and "consistency of checkpoint %s" % cp1 in out,
            "%s: a stored hash changed (index %d, leaf %d): exit %d\n    %s" %
            (label, idx, leaf, rc, tail(out)))
    t.check("entry %d in" % leaf not in out,
            "%s: leaf %d's own proofs do not use its stored hash" % (label, leaf))
    rc, out = check()
    t.check(rc == 0, "%s: the hash put back verifies again: exit %d\n    %s" % (label, rc, tail(out)))


def get_hash(store, idx):
    if store.startswith("postgres"):
        p = subprocess.run(["psql", store, "-At", "-c",
                            "SELECT encode(hash, 'hex') FROM log_hashes WHERE idx = %d" % idx],
                           capture_output=True, text=True, check=True)
        return bytes.fromhex(p.stdout.strip()) if p.stdout.strip() else None
    with sqlite3.connect(store, timeout=30) as db:
        row = db.execute("SELECT hash FROM log_hashes WHERE idx = ?", (idx,)).fetchone()
    return bytes(row[0]) if row else None


def set_hash(store, idx, h):
    if store.startswith("postgres"):
        subprocess.run(["psql", store, "-q", "-v", "ON_ERROR_STOP=1", "-c",
                        "UPDATE log_hashes SET hash = decode('%s', 'hex') WHERE idx = %d" %
                        (h.hex(), idx)], check=True)
        return
    db = sqlite3.connect(store, timeout=30)
    with db:
        n = db.execute("UPDATE log_hashes SET hash = ? WHERE idx = ?", (h, idx)).rowcount
    db.close()
    assert n == 1, "no stored hash %d" % idx


def main():
    a = common.parse_args()
    t = common.Checker("log_go")
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as d:
        checker = build_checker(a.source, d)
        stores = both_stores(t, a.yagura, d, "tower_log_go")
        witness_key = os.path.join(d, "witness.key")
        wvkey = subprocess.run([a.yagura, "audit", "witness-key", witness_key, "--name",
                                "witness.example/w1"], capture_output=True, text=True,
                               check=True).stdout.strip()
        for label, store in stores:
            keyfile = os.path.join(d, label + ".log-key")
            conf = os.path.join(d, label + ".ini")
            with open(conf, "w") as f:
                f.write("[log]\nkey = %s\nwitnesses = %s\n" % (keyfile, wvkey))
            tw = Tower(a.yagura, store, d, extra=["--config", conf],
                       init_extra=["--log-key", keyfile])
            try:
                run(t, tw, label, d, checker, a.yagura, witness_key)
            finally:
                rc = tw.stop()
            t.check(rc == 0, "%s: tower exit %d on SIGTERM" % (label, rc))
    print("log_go: %.1fs" % (time.monotonic() - started))
    t.finish()


main()
