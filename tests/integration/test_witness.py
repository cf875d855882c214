"""The witness (issue 12): `yagura audit watch` against a live tower, on
SQLite and PostgreSQL. The watch cosigns the tower's checkpoint and the
tower serves the cosignature after the log's signature, where Python's own
Ed25519 checks it as C2SP tlog-cosignature says; after more changes a
second round cosigns again (in a loop stopped by SIGTERM). The tower takes
cosignatures only from the witnesses in its [log] witnesses, only over the
exact text of a checkpoint it signed, and keeps the newest by each witness.
The watch refuses a checkpoint signed by another key. Then the log is
rewritten in the store as an administrator could: a log that went back, two
trees of one size, a tree that does not extend the saved one are each a
split view (exit 6): nothing is cosigned, the state is kept, and the
evidence beside it holds both signed checkpoints and the failed proof."""
import base64
import glob
import hashlib
import json
import os
import signal
import subprocess
import tempfile
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import (Ed25519PrivateKey,
                                                               Ed25519PublicKey)

import common
from logdb import PgDB, SqliteDB, leaf_seq, rogue_key, stored_count
from towerlib import Tower, both_stores

OK, USAGE, FAILED, UNREACHABLE, SPLIT = 0, 1, 2, 3, 6


def parse_vkey(vkey):
    """name, key id (4 bytes), type, public key of a verifier key text."""
    name, kid, b = vkey.split("+", 2)
    raw = base64.b64decode(b)
    return name, bytes.fromhex(kid), raw[0], raw[1:]


def witness_secret(path):
    """The Ed25519 key of a witness key file (PRIVATE+KEY+name+id+base64(0x04||seed))."""
    text = open(path).read().strip()
    name, kid, b = text[len("PRIVATE+KEY+"):].split("+", 2)
    raw = base64.b64decode(b)
    assert raw[0] == 4
    return name, bytes.fromhex(kid), Ed25519PrivateKey.from_private_bytes(raw[1:])


def cosig_message(text, t):
    return ("cosignature/v1\ntime %d\n" % t).encode() + text.encode()


def cosign_line(path, text, t):
    """A cosignature line made here, with the witness's key, over text."""
    name, kid, sk = witness_secret(path)
    blob = kid + t.to_bytes(8, "big") + sk.sign(cosig_message(text, t))
    return "\u2014 %s %s\n" % (name, base64.b64encode(blob).decode())


def check_cosig(vkey, text, line):
    """Checks a cosignature line by the witness vkey over checkpoint text,
    per C2SP tlog-cosignature, with nothing of yagura's: its time, or None."""
    name, kid, typ, pub = parse_vkey(vkey)
    if typ != 4 or hashlib.sha256(name.encode() + b"\n\x04" + pub).digest()[:4] != kid:
        return None
    if not line.startswith("\u2014 %s " % name):
        return None
    blob = base64.b64decode(line.split(" ")[-1])
    if len(blob) != 4 + 8 + 64 or blob[:4] != kid:
        return None
    t = int.from_bytes(blob[4:12], "big")
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(blob[12:], cosig_message(text, t))
    except Exception:
        return None
    return t


def split_note(note):
    """(text, [signature lines]) of a note."""
    text, _, sigs = note.rpartition("\n\n")
    return text + "\n", [l + "\n" for l in sigs.split("\n") if l]


def run(t, tw, label, yagura, d, db, wkeys):
    A = tw.admin
    url = "http://127.0.0.1:%d" % tw.port
    tokfile = os.path.join(d, label + ".auditor")
    auditor = tw.token_for("auditor", "auditor", tokfile)
    overseer = tw.token_for("overseer", "overseer")
    st, vkey, _ = tw.call("GET", "/log/key")
    vkey = vkey.strip()
    keyfile = os.path.join(d, label + ".vkey")
    with open(keyfile, "w") as f:
        f.write(vkey + "\n")
    (w1, w1key), (w2, w2key) = wkeys
    state = os.path.join(d, label + ".state")

    def watch(*extra, wkey=w1, key="@" + keyfile, st=state):
        p = subprocess.run([yagura, "audit", "watch", url, "--key", key, "--witness-key", wkey,
                            "--state", st, "--token-file", tokfile, "--once"] + list(extra),
                           capture_output=True, text=True, timeout=120)
        return p.returncode, p.stdout, p.stderr

    def changes(n, what):
        for i in range(n):
            st, _, _ = tw.call("POST", "/api/v1/users", {"name": "%s%d" % (what, i),
                                                         "role": "analyst"}, A)
            t.check(st == 201, "%s: a change: %s" % (label, st))

    def sign_now():
        """A checkpoint of every change made: (note, size)."""
        want = int(db.rows("SELECT COUNT(*) FROM log_entries")[0][0])
        for _ in range(300):
            st, note, _ = tw.call("POST", "/api/v1/log/checkpoint", b"", auditor)
            if st == 200 and int(note.split("\n")[1]) == want:
                return note, want
            time.sleep(0.1)
        t.check(False, "%s: no checkpoint of size %d" % (label, want))
        return note, int(note.split("\n")[1])

    def served():
        st, note, _ = tw.call("GET", "/log/checkpoint", token=auditor)
        t.check(st == 200, "%s: GET /log/checkpoint: %s" % (label, st))
        return note

    def cosigs(size):
        return int(db.rows("SELECT COUNT(*) FROM log_cosignatures WHERE size = %d" % size)[0][0])

    def post(body, token=auditor):
        return tw.call("POST", "/api/v1/log/cosignature", body.encode(), token,
                       headers={"Content-Type": "text/plain"})

    # Round 1: the first checkpoint, taken on trust, cosigned.
    changes(3, "first")
    note1, size1 = sign_now()
    rc, so, se = watch()
    t.check(rc == OK and "cosigned: yagura.local/log size %d" % size1 in so and
            "taken on trust" in so, "%s: first round: %d\n%s%s" % (label, rc, so, se))
    t.check(open(state).read() == note1, "%s: the state is the checkpoint cosigned" % label)
    text1, sigs = split_note(served())
    t.check(len(sigs) == 2 and sigs[0] == split_note(note1)[1][0],
            "%s: the log's signature, then one cosignature: %r" % (label, sigs))
    t1 = check_cosig(w1key, text1, sigs[-1]) if len(sigs) == 2 else None
    t.check(t1 is not None and abs(t1 - time.time()) < 120,
            "%s: the cosignature verifies per C2SP (time %s)" % (label, t1))
    t.check(text1 == split_note(note1)[0], "%s: it cosigns the checkpoint's text" % label)

    # Round 2, in a loop: more changes, cosigned again; SIGTERM ends it.
    p = subprocess.Popen([yagura, "audit", "watch", url, "--key", "@" + keyfile, "--witness-key",
                          w1, "--state", state, "--token-file", tokfile, "--interval", "1"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    changes(4, "second")
    note2, size2 = sign_now()
    for _ in range(100):
        if cosigs(size2) == 1:
            break
        time.sleep(0.1)
    p.send_signal(signal.SIGTERM)
    so, se = p.communicate(timeout=30)
    t.check(p.returncode == OK and "size %d" % size2 in so and
            "extends the tree of size %d saved before" % size1 in so,
            "%s: the loop cosigns the new checkpoint and stops on SIGTERM: %d\n%s%s" %
            (label, p.returncode, so, se))
    text2, sigs = split_note(served())
    t.check(len(sigs) == 2 and check_cosig(w1key, text2, sigs[1]) is not None and
            text2 == split_note(note2)[0] and open(state).read() == note2,
            "%s: the second checkpoint served cosigned: %r" % (label, sigs))
    t.check(cosigs(size1) == 1, "%s: the first cosignature is kept" % label)

    # The state is a checkpoint file, as audit verify reads them.
    rc = subprocess.run([yagura, "audit", "verify", "--key", "@" + keyfile, "--checkpoint", state],
                        capture_output=True, text=True).returncode
    t.check(rc == OK, "%s: audit verify reads the state as a checkpoint: %d" % (label, rc))

    # What the tower takes, and what it refuses.
    now = int(time.time())
    st, e, _ = post(text2 + "\n" + cosign_line(w2, text2, now))
    t.check(st == 422 and e["error"]["code"] == "unknown_witness",
            "%s: an unknown witness: %s %s" % (label, st, e))
    forged = text2.replace("\n%d\n" % size2, "\n%d\n" % (size2 + 1))
    st, e, _ = post(forged + "\n" + cosign_line(w1, forged, now))
    t.check(st == 404 and e["error"]["code"] == "not_found",
            "%s: a cosignature of a size the log never signed: %s %s" % (label, st, e))
    lines = text2.split("\n")
    other = "\n".join(lines[:2] + [base64.b64encode(b"\x01" * 32).decode()] + lines[3:])
    st, e, _ = post(other + "\n" + cosign_line(w1, other, now))
    t.check(st == 409 and e["error"]["code"] == "not_the_checkpoint",
            "%s: a cosignature over another root at that size: %s %s" % (label, st, e))
    st, e, _ = post(other + "\n" + cosign_line(w1, text2, now))
    t.check(st == 422 and e["error"]["code"] == "bad_cosignature",
            "%s: a cosignature that does not verify over its text: %s %s" % (label, st, e))
    st, e, _ = post("not a note")
    t.check(st == 400 and e["error"]["code"] == "bad_note", "%s: not a note: %s %s" % (label, st, e))
    st, e, _ = post(text2 + "\n" + cosign_line(w1, text2, now), token=overseer)
    t.check(st == 403, "%s: an overseer may not hand in cosignatures: %s" % (label, st))
    stored = db.rows("SELECT line FROM log_cosignatures WHERE size = %d" % size2)[0][0]
    st, r, _ = post(text2 + "\n" + cosign_line(w1, text2, 1000))
    t.check(st == 200 and r["cosignatures"][0]["stored"] is False and
            db.rows("SELECT line FROM log_cosignatures WHERE size = %d" % size2)[0][0] == stored,
            "%s: an older cosignature is not taken: %s %s" % (label, st, r))
    newer = cosign_line(w1, text2, now + 5)
    st, r, _ = post(split_note(note2)[0] + "\n" + split_note(note2)[1][0] + newer)
    t.check(st == 200 and r == {"size": size2, "cosignatures": [
        {"witness": signer_of(w1key), "time": r["cosignatures"][0]["time"], "stored": True}]} and
            split_note(served())[1][1] == newer,
            "%s: a newer one replaces it, the log's own line beside it: %s %s" % (label, st, r))

    # The watch with a witness the tower does not know: verified, refused.
    other_state = os.path.join(d, label + ".w2.state")
    rc, so, se = watch(wkey=w2, st=other_state)
    t.check(rc == FAILED and "the tower refused (HTTP 422)" in se and
            "no cosignature by a witness this tower knows" in se,
            "%s: an unknown witness's watch: %d\n%s%s" % (label, rc, so, se))

    # A checkpoint signed by another key is refused, and nothing cosigned.
    before = open(state).read()
    rkey, _ = rogue_key("yagura.local/log")
    rc, so, se = watch(key=rkey)
    t.check(rc == FAILED and "is not signed by the key %s" % rkey in se,
            "%s: another log key: %d\n%s%s" % (label, rc, so, se))
    t.check(open(state).read() == before, "%s: the state is kept" % label)

    # Split views. The log truncated and rewritten as test_audit does it.
    changes(4, "third")  # a cut below at no size signed before
    note3, n = sign_now()
    rc, so, se = watch()
    t.check(rc == OK and cosigs(n) == 1, "%s: round 3: %d %s%s" % (label, rc, so, se))
    cut = n - 3
    last_seq = leaf_seq(db, cut - 1)

    def rewrite():
        db.run("DELETE FROM log_cosignatures WHERE size > %d" % cut,
               "DELETE FROM log_entries WHERE seq > %d" % last_seq,
               "DELETE FROM log_leaves WHERE idx >= %d" % cut,
               "DELETE FROM log_hashes WHERE idx >= %d" % stored_count(cut),
               "DELETE FROM log_checkpoints WHERE size > %d" % cut,
               "UPDATE log_state SET value = %d WHERE name = 'seq'" % last_seq,
               "UPDATE log_state SET value = %d WHERE name = 'size'" % cut)

    def expect_split(note, size, what, said, proof, verdict=SPLIT):
        saved = open(state).read()
        seen = set(glob.glob(state + ".evidence-*"))
        rc, so, se = watch()
        new = sorted(set(glob.glob(state + ".evidence-*")) - seen)
        ok = rc == SPLIT and len(new) == 1 and len(se.strip().splitlines()) == 1 and \
            ("evidence in %s" % new[0] if new else "?") in se and said in se
        t.check(ok, "%s: %s: exit %d\n%s%s" % (label, what, rc, so, se))
        t.check(open(state).read() == saved, "%s: %s: the state is kept" % (label, what))
        t.check(cosigs(size) == 0 and len(split_note(served())[1]) == 1,
                "%s: %s: nothing cosigned" % (label, what))
        if not new:
            return
        ev = json.load(open(new[0]))
        t.check(ev["earlier"]["note"] == saved and ev["later"]["note"] == note and
                ev["earlier"]["size"] == n and ev["later"]["size"] == size and
                ev["log_key"] == vkey and ev["tower"] == url and said in ev["finding"] and
                ev["earlier"]["saved"] and ev["later"]["fetched"] and ev["detected"],
                "%s: %s: the evidence holds both checkpoints: %s" % (label, what, ev))
        t.check((ev["proof"] is not None) == bool(proof) and
                (not proof or (ev["proof"]["from"] == min(n, size) and
                               ev["proof"]["to"] == max(n, size) and
                               len(ev["proof"]["hashes"]) > 0 and proof in ev["proof"]["result"])),
                "%s: %s: the proof: %s" % (label, what, ev["proof"]))
        # Anyone can repeat it with audit verify and the two notes.
        old_f, new_f = os.path.join(d, "ev-old"), os.path.join(d, "ev-new")
        open(old_f, "w").write(ev["earlier"]["note"])
        open(new_f, "w").write(ev["later"]["note"])
        rc, _, _ = run_verify(yagura, keyfile, old_f, new_f, url, tokfile)
        t.check(rc == verdict, "%s: %s: audit verify: %d" % (label, what, rc))

    # The tower serves an older checkpoint, its tree still whole: the
    # proof shows the entries after it hidden; audit verify, which has
    # no times, finds the two consistent.
    db.run("DELETE FROM log_cosignatures WHERE size >= %d" % size2,
           "DELETE FROM log_checkpoints WHERE size > %d" % size2)
    expect_split(note2, size2, "an older checkpoint served again",
                 "the smaller tree is a prefix of the saved one", "proves the smaller tree a prefix",
                 verdict=OK)

    rewrite()
    back, _ = sign_now()
    expect_split(back, cut, "a smaller checkpoint", "the log went back", False)
    changes(3, "again")
    same, size = sign_now()
    t.check(size == n and same != note3, "%s: a rewritten tree of size %d" % (label, n))
    expect_split(same, n, "two trees of one size", "both sign a tree of size %d" % n, False)
    changes(2, "later")
    later, size = sign_now()
    expect_split(later, size, "a tree that does not extend the saved one",
                 "the consistency proof from the tower fails", "does not prove")


def signer_of(vkey):
    return "+".join(vkey.split("+")[:2])


def run_verify(yagura, keyfile, old, new, url, tokfile):
    p = subprocess.run([yagura, "audit", "verify", "--key", "@" + keyfile, "--old", old,
                        "--checkpoint", new, "--tower", url, "--token-file", tokfile],
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def main():
    a = common.parse_args()
    t = common.Checker("witness")
    with tempfile.TemporaryDirectory() as d:
        # The witnesses' keys; the tower knows only the first.
        wkeys = []
        for name in ("witness.example/w1", "witness.example/w2"):
            path = os.path.join(d, name.rsplit("/", 1)[1] + ".key")
            p = subprocess.run([a.yagura, "audit", "witness-key", path, "--name", name],
                               capture_output=True, text=True)
            t.check(p.returncode == 0 and p.stdout.startswith(name + "+") and
                    parse_vkey(p.stdout.strip())[2] == 4,
                    "witness-key: %d %s %s" % (p.returncode, p.stdout, p.stderr))
            again = subprocess.run([a.yagura, "audit", "witness-key", path], capture_output=True,
                                   text=True)
            t.check(again.returncode == 0 and again.stdout == p.stdout,
                    "witness-key prints the key's verifier key: %s" % again.stdout)
            wkeys.append((path, p.stdout.strip()))
        p = subprocess.run([a.yagura, "audit", "witness-key", wkeys[0][0], "--name", "x"],
                           capture_output=True, text=True)
        t.check(p.returncode == USAGE and "exists" in p.stderr,
                "witness-key keeps a key: %d %s" % (p.returncode, p.stderr))
        t.check(oct(os.stat(wkeys[0][0]).st_mode & 0o777) == "0o600", "the key file is 0600")

        for label, store in both_stores(t, a.yagura, d, "tower_witness"):
            keyfile = os.path.join(d, label + ".log-key")
            ini = os.path.join(d, label + ".ini")
            with open(ini, "w") as f:
                f.write("[log]\nkey = %s\ncheckpoint_interval = 1h\nwitnesses = %s\n" %
                        (keyfile, wkeys[0][1]))
            tw = Tower(a.yagura, store, d, extra=["--config", ini], init_extra=["--log-key", keyfile])
            db = SqliteDB(store) if label == "sqlite" else PgDB(store)
            try:
                run(t, tw, label, a.yagura, d, db, wkeys)
            finally:
                rc = tw.stop()
            t.check(rc == 0, "%s: tower exit %d on SIGTERM" % (label, rc))
    t.finish()


main()
