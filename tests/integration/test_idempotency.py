"""Idempotency-Key on every write that creates or decides (issue 18), on
SQLite and PostgreSQL. A client that got no answer, or a 5xx, sends the
same request again with the same key: it gets the first answer back
(Idempotent-Replayed: true) and nothing is stored twice, whether the
retries come one after another or all at once. The key of another request
is refused (422), keys are each user's own, a malformed key is a 400, and
keys are forgotten after a day by the retention pass.

The terminal commands send every write with a key (their own, or
--idempotency-key) and send it again when the answer is lost: through a
proxy that forwards a request and drops the tower's answer, the write is
stored once and the command succeeds.

What a failed allocation after the commit does to such a write is
unit.sweep's part: it retries every write it sees answered 5xx."""
import json
import os
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time

import common
from towerlib import Tower, both_stores, log_verified


def sql_count(store, query):
    if store.startswith("postgres"):
        out = subprocess.run(["psql", store, "-Atc", query], capture_output=True, text=True,
                             check=True)
        return int(out.stdout.strip())
    with sqlite3.connect(store, timeout=30) as db:
        return db.execute(query).fetchone()[0]


def sql_exec(store, query):
    if store.startswith("postgres"):
        subprocess.run(["psql", store, "-qc", query], check=True)
        return
    with sqlite3.connect(store, timeout=30) as db:
        db.execute(query)


def read_message(sock):
    """One HTTP message, whole (headers, then Content-Length bytes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


class LosingProxy:
    """Forwards each connection's request to the tower and its answer back,
    except the first `lose` answers: those it reads from the tower and
    drops, closing the client's connection, as a network cut after the
    tower answered would."""

    def __init__(self, port, lose):
        self.port, self.lose, self.lost = port, lose, []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(c,), daemon=True).start()

    def _one(self, c):
        with c, socket.create_connection(("127.0.0.1", self.port)) as s:
            req = read_message(c)
            if not req:
                return
            s.sendall(req)
            ans = read_message(s)
            if len(self.lost) < self.lose:
                self.lost.append(ans.split(b"\r\n", 1)[0].decode())
                return
            c.sendall(ans)

    def close(self):
        self.sock.close()


def cli_lost_answers(t, tw, label, store, yagura, op, overseer, analyst):
    """yagura asset add and case approve through a proxy that loses the
    tower's first answer: stored once, exit 0, the retry said on stderr."""
    env = dict(os.environ)
    for what, tok, args, count in (
            ("asset add", op, ["asset", "add", "Historian", "--address", "192.0.2.77"],
             "SELECT COUNT(*) FROM assets WHERE product = 'Historian'"),
            ("case propose", analyst, ["case", "propose", "--action", "sinkhole", "--target",
                                       "c2-cli.example.net", "--justification", "C2 domain",
                                       "--duration", "2h"],
             "SELECT COUNT(*) FROM cases WHERE target = 'c2-cli.example.net'")):
        proxy = LosingProxy(tw.port, 1)
        env["YAGURA_TOKEN"] = tok
        p = subprocess.run([yagura] + args + ["--tower", proxy.url], env=env,
                           capture_output=True, text=True, timeout=60)
        proxy.close()
        t.check(proxy.lost and " 201 " in proxy.lost[0] + " ",
                "%s: %s: the proxy lost a stored write's answer: %s" % (label, what, proxy.lost))
        t.check(p.returncode == 0 and "same Idempotency-Key" in p.stderr,
                "%s: %s through a lost answer: exit %d\n%s%s" %
                (label, what, p.returncode, p.stdout, p.stderr))
        t.check(sql_count(store, count) == 1, "%s: %s through a lost answer: stored %d" %
                (label, what, sql_count(store, count)))
        if what == "case propose":
            case_id = json.loads(p.stdout)["case"]["id"]
    # A decision, with the user's own key, lost twice.
    proxy = LosingProxy(tw.port, 2)
    env["YAGURA_TOKEN"] = overseer
    p = subprocess.run([yagura, "case", "approve", str(case_id), "--reason", "evidence holds",
                        "--idempotency-key", "approve-%d" % case_id, "--tower", proxy.url],
                       env=env, capture_output=True, text=True, timeout=60)
    proxy.close()
    n = sql_count(store, "SELECT COUNT(*) FROM case_decisions WHERE decision = 'approve' "
                         "AND case_id = %d" % case_id)
    t.check(p.returncode == 0 and n == 1 and len(proxy.lost) == 2,
            "%s: case approve through two lost answers: exit %d, %d approvals, lost %s\n%s" %
            (label, p.returncode, n, proxy.lost, p.stderr))


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def report(summary="substation HMI beaconing"):
    return {"category": "malware", "severity": "high", "summary": summary,
            "detected_at": "2026-12-01T00:00:00Z"}


def run(t, tw, label, store, yagura):
    A = tw.admin
    analyst = tw.token_for("analyst1", "analyst")
    overseer = tw.token_for("overseer1", "overseer")
    auditor = tw.token_for("auditor1", "auditor")
    tw.token_for("edge-1", "sensor")
    ops = []
    for name in ("Kanto Power", "Kansai Water"):
        st, org, _ = tw.call("POST", "/api/v1/orgs", {"name": name, "sector": "electricity"}, A)
        st, u, _ = tw.call("POST", "/api/v1/users", {"name": "op-" + name.split()[0].lower(),
                                                     "role": "operator", "org_id": org["id"]}, A)
        st, tk, _ = tw.call("POST", "/api/v1/tokens", {"user_id": u["id"]}, A)
        ops.append(tk["token"])
    op, op2 = ops

    st, r0, _ = tw.call("POST", "/api/v1/reports", report("the report versions go on"), op)
    t.check(st == 201, "%s: a report to add versions to: %s" % (label, st))
    st, c0, _ = tw.call("POST", "/api/v1/cases",
                        {"action": "sinkhole", "target": "c2-approve.example.net",
                         "justification": "C2 domain", "duration": "2h"}, analyst)
    t.check(st == 201, "%s: a case to decide on: %s %s" % (label, st, c0))
    cid = c0["case"]["id"]

    # Each keyed write: sent, sent again, sent again with the key quoted
    # (the draft's structured-field string), sent with another body.
    writes = [
        ("report", "POST", "/api/v1/reports", report(), report("another"), op, 201,
         "SELECT COUNT(*) FROM reports"),
        ("report version", "POST", "/api/v1/reports/%d/versions" % r0["id"],
         {"stage": "prompt", "report": report("more known now")},
         {"stage": "prompt", "report": report("still more")}, op, 201,
         "SELECT COUNT(*) FROM report_versions"),
        ("asset", "POST", "/api/v1/assets",
         {"product": "SCADA HMI", "role": "control", "addresses": ["203.0.113.10"]},
         {"product": "SCADA HMI", "role": "control", "addresses": ["203.0.113.11"]}, op, 201,
         "SELECT COUNT(*) FROM assets"),
        ("case", "POST", "/api/v1/cases",
         {"action": "sinkhole", "target": "c2-one.example.net", "justification": "C2 domain",
          "duration": "2h"},
         {"action": "sinkhole", "target": "c2-two.example.net", "justification": "C2 domain",
          "duration": "2h"}, analyst, 201, "SELECT COUNT(*) FROM cases"),
        ("authorization", "POST", "/api/v1/monitoring/authorizations",
         {"sensor": "edge-1", "prefixes": ["10.20.0.0/16"], "purpose": "beaconing",
          "until": iso(time.time() + 3600)},
         {"sensor": "edge-1", "prefixes": ["10.21.0.0/16"], "purpose": "beaconing",
          "until": iso(time.time() + 3600)}, analyst, 201,
         "SELECT COUNT(*) FROM authorizations"),
        ("approval", "POST", "/api/v1/cases/%d/approve" % cid, {"reason": "evidence holds"},
         {"reason": "evidence still holds"}, overseer, 200,
         "SELECT COUNT(*) FROM case_decisions WHERE decision = 'approve'"),
    ]
    for i, (what, method, path, body, other, tok, ok, count) in enumerate(writes):
        key = "%s-%d-4f1c" % (label, i)
        n0 = sql_count(store, count)
        st, first, h = tw.call(method, path, body, tok, {"Idempotency-Key": key})
        t.check(st == ok and h.get("Idempotent-Replayed") is None,
                "%s: %s: first %s %s" % (label, what, st, first))
        n1 = sql_count(store, count)
        t.check(n1 == n0 + 1, "%s: %s stored %d rows" % (label, what, n1 - n0))
        for sent in (key, '"%s"' % key):
            st, again, h = tw.call(method, path, body, tok, {"Idempotency-Key": sent})
            t.check(st == ok and h.get("Idempotent-Replayed") == "true",
                    "%s: %s sent again as %s: %s, replayed %s" %
                    (label, what, sent, st, h.get("Idempotent-Replayed")))
            t.check(json.dumps(again, sort_keys=True).count('"id"') > 0 and
                    first_id(again) == first_id(first),
                    "%s: %s sent again: the same record: %s, first %s" %
                    (label, what, again, first))
        t.check(sql_count(store, count) == n1, "%s: %s: the retries stored nothing" %
                (label, what))
        st, e, _ = tw.call(method, path, other, tok, {"Idempotency-Key": key})
        t.check(st == 422 and e["error"]["code"] == "idempotency_key_reused",
                "%s: %s: the key with another body: %s %s" % (label, what, st, e))
        t.check(sql_count(store, count) == n1, "%s: %s: the refused one stored nothing" %
                (label, what))

    # A decision sent again without a key is refused: the key is what
    # makes a retry safe to send.
    st, e, _ = tw.call("POST", "/api/v1/cases/%d/approve" % cid, {"reason": "evidence holds"},
                       overseer)
    t.check(st == 409, "%s: an approval sent again without its key: %s %s" % (label, st, e))

    # Keys are each user's: another operator's same key is its own write.
    asset = {"product": "PLC", "addresses": ["198.51.100.20"]}
    st, a1, _ = tw.call("POST", "/api/v1/assets", asset, op, {"Idempotency-Key": "shared-key"})
    st2, a2, h = tw.call("POST", "/api/v1/assets", asset, op2, {"Idempotency-Key": "shared-key"})
    t.check(st == 201 and st2 == 201 and a1["id"] != a2["id"] and
            h.get("Idempotent-Replayed") is None,
            "%s: the same key from two users: %s %s, %s %s" % (label, st, a1, st2, a2))

    # Malformed keys.
    for bad in ("k" * 201, "caf\u00e9", '""'):
        st, e, _ = tw.call("POST", "/api/v1/assets", asset, op, {"Idempotency-Key": bad})
        t.check(st == 400 and e["error"]["code"] == "bad_idempotency_key",
                "%s: key %r: %s %s" % (label, bad[:20], st, e))

    # Retries all at once: one record, every answer about it.
    for what, path, body, tok, count in (
            ("asset", "/api/v1/assets", {"product": "RTU", "addresses": ["198.51.100.30"]}, op,
             "SELECT COUNT(*) FROM assets"),
            ("report", "/api/v1/reports", report("sent by eight at once"), op,
             "SELECT COUNT(*) FROM reports"),
            ("case", "/api/v1/cases", {"action": "sinkhole", "target": "c2-race.example.net",
                                       "justification": "C2 domain", "duration": "2h"},
             analyst, "SELECT COUNT(*) FROM cases")):
        n0 = sql_count(store, count)
        answers, go = [], threading.Event()

        def send():
            go.wait()
            answers.append(tw.call("POST", path, body, tok, {"Idempotency-Key": "race-" + what}))

        threads = [threading.Thread(target=send) for _ in range(8)]
        for th in threads:
            th.start()
        go.set()
        for th in threads:
            th.join()
        ids = {first_id(a) for s, a, _ in answers if s == 201}
        t.check(len(answers) == 8 and all(s == 201 for s, _, _ in answers) and len(ids) == 1,
                "%s: %s sent by eight at once: %s" %
                (label, what, [(s, first_id(a)) for s, a, _ in answers]))
        t.check(sql_count(store, count) == n0 + 1, "%s: %s sent by eight at once stored %d" %
                (label, what, sql_count(store, count) - n0))

    # Forgotten after a day: the retention pass (every second here)
    # removes a key older than that, and the key is free again.
    keys = sql_count(store, "SELECT COUNT(*) FROM idempotency")
    sql_exec(store, "UPDATE idempotency SET created = created - 90000000000 "
                    "WHERE idem_key = 'shared-key'")
    deadline = time.time() + 20
    while time.time() < deadline and \
            sql_count(store, "SELECT COUNT(*) FROM idempotency") != keys - 2:
        time.sleep(0.2)
    t.check(sql_count(store, "SELECT COUNT(*) FROM idempotency") == keys - 2,
            "%s: keys older than a day forgotten" % label)
    st, a3, h = tw.call("POST", "/api/v1/assets", {"product": "PLC 2", "addresses": []}, op,
                        {"Idempotency-Key": "shared-key"})
    t.check(st == 201 and a3["id"] not in (a1["id"], a2["id"]),
            "%s: a forgotten key is free again: %s %s" % (label, st, a3))

    cli_lost_answers(t, tw, label, store, yagura, op, overseer, analyst)

    n = sql_count(store, "SELECT COUNT(*) FROM log_entries")
    log_verified(t, tw, auditor, n, yagura, store)


def first_id(answer):
    """The record an answer is about: its id, or its case's."""
    if isinstance(answer, dict):
        if "id" in answer:
            return answer["id"]
        for v in answer.values():
            if isinstance(v, dict) and "id" in v:
                return v["id"]
    return None


def main():
    a = common.parse_args()
    t = common.Checker("idempotency")
    with tempfile.TemporaryDirectory() as d:
        for label, store in both_stores(t, a.yagura, d, "tower_idempotency"):
            keyfile = os.path.join(d, label + ".log-key")
            conf = os.path.join(d, label + ".conf")
            with open(conf, "w") as f:
                f.write("[log]\nkey = %s\n\n[retention]\ninterval = 1s\n" % keyfile)
            tw = Tower(a.yagura, store, d, extra=["--config", conf],
                       init_extra=["--log-key", keyfile])
            try:
                run(t, tw, label, store, a.yagura)
            finally:
                rc = tw.stop()
            t.check(rc == 0, "%s: tower exit %d on SIGTERM" % (label, rc))
    t.finish()


main()
