"""The transparency log's tables as tests read and rewrite them, on SQLite
and PostgreSQL, keys of our own, and RFC 9162 proof checks: shared by
test_audit.py, test_witness.py, test_log.py and test_log_towers.py."""
import base64
import hashlib
import sqlite3
import subprocess

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def stored_index(level, n):
    """Go's sumdb/tlog StoredHashIndex."""
    for _ in range(level):
        n = 2 * n + 1
    i = 0
    while n > 0:
        i += n
        n >>= 1
    return i + level


def stored_count(n):
    """The stored hashes of a tree of n leaves: leaf n's comes next."""
    return stored_index(0, n)


class SqliteDB:
    def __init__(self, path):
        self.path = path

    def rows(self, sql):
        con = sqlite3.connect(self.path, timeout=30)
        try:
            return [tuple(str(v) for v in r) for r in con.execute(sql).fetchall()]
        finally:
            con.close()

    def run(self, *stmts):
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            con.executescript("BEGIN IMMEDIATE;" + ";".join(stmts) + ";COMMIT;")
        finally:
            con.close()

    def blob(self, b):
        return "X'%s'" % b.hex()

    def hexof(self, col):
        return "hex(%s)" % col

    def hextext(self, col):
        return "hex(%s)" % col

    overriding = ""


class PgDB:
    def __init__(self, url):
        self.url = url

    def rows(self, sql):
        out = subprocess.run(["psql", self.url, "-At", "-F", "|", "-v", "ON_ERROR_STOP=1", "-c", sql],
                             capture_output=True, text=True, check=True)
        return [tuple(line.split("|")) for line in out.stdout.splitlines()]

    def run(self, *stmts):
        subprocess.run(["psql", self.url, "-q", "-v", "ON_ERROR_STOP=1", "-c",
                        "BEGIN;" + ";".join(stmts) + ";COMMIT;"], check=True)

    def blob(self, b):
        return "'\\x%s'::bytea" % b.hex()

    def hexof(self, col):
        return "encode(%s, 'hex')" % col

    def hextext(self, col):
        return "encode(convert_to(%s::text, 'UTF8'), 'hex')" % col

    overriding = "OVERRIDING SYSTEM VALUE"


def key_id(name, pub):
    return hashlib.sha256(name.encode() + b"\n\x01" + pub).digest()[:4]


def rogue_key(name):
    """An Ed25519 key of our own: (verifier key text, sign(note text) -> note)."""
    sk = Ed25519PrivateKey.generate()
    pub = sk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    kid = key_id(name, pub)
    vkey = "%s+%s+%s" % (name, kid.hex(), base64.b64encode(b"\x01" + pub).decode())

    def sign(text):
        sig = base64.b64encode(kid + sk.sign(text.encode())).decode()
        return text + "\n\u2014 %s %s\n" % (name, sig)
    return vkey, sign


def leaf_seq(db, idx):
    """The seq of the entry at leaf idx."""
    return int(db.rows("SELECT seq FROM log_leaves WHERE idx = %d" % idx)[0][0])


# RFC 9162 hashing and proof checks, written from the RFC: what a verifier
# nobody here wrote does with the tower's proofs.

def leaf_hash(entry):
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def check_inclusion(index, size, leaf, proof, root):
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def check_consistency(m, n, old_root, new_root, proof):
    """RFC 9162 §2.1.4.2."""
    if m == n:
        return not proof and old_root == new_root
    if m == 0 or m > n or not proof:
        return False
    if m & (m - 1) == 0:  # a power of two: the old root starts the path
        proof = [old_root] + list(proof)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
