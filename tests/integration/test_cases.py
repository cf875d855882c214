"""Countermeasure cases under oversight (issue 13), on SQLite and
PostgreSQL: an analyst proposes, overseers decide, the tower activates
and expires cases on its own and publishes the active set as files a
resolver and a router load; every refusal the law asks for is made and
says why, and every step is in the transparency log, which audit verify
then finds whole.

The laboratory's configuration takes the documentation ranges the test
uses (198.51.100.0/24, 203.0.113.0/24) out of the never-block list, as
[cases] lab_allow is meant for; 192.0.2.0/24 stays in it."""
import os
import sqlite3
import subprocess
import tempfile
import threading
import time

import common
from towerlib import Tower, both_stores, store_rows

ATTACKER, FORGED, ASSET = "198.51.100.7", "198.51.100.66", "203.0.113.10"


def forged_plan(store):
    """How the store finds FORGED's forged alerts, the count a proposal
    against one address makes inside its write transaction
    (src/tower/cases.c): by the index of forged alerts (schema v22), not by
    reading every alert. PostgreSQL is told to avoid a full scan where it
    can, since on a table this small it would rather read it whole."""
    q = "SELECT COUNT(*) FROM alerts WHERE src_ip = '%s' AND attackers = ''" % FORGED
    if store.startswith("postgres"):
        return subprocess.run(["psql", store, "-qAt", "-c", "SET enable_seqscan = off",
                               "-c", "EXPLAIN " + q], capture_output=True, text=True,
                              check=True).stdout
    with sqlite3.connect(store, timeout=30) as db:
        return " ".join(str(r[-1]) for r in db.execute("EXPLAIN QUERY PLAN " + q))


def write_config(d, label, keyfile):
    cmdir = os.path.join(d, label + "-cm")
    os.makedirs(cmdir, exist_ok=True)
    path = os.path.join(d, label + ".conf")
    with open(path, "w") as f:
        f.write("[log]\nkey = %s\n\n[cases]\nmin_duration = 2s\nmax_duration = 7d\n"
                "lab_allow = 198.51.100.0/24, 203.0.113.0/24\n\n"
                "[countermeasures]\nsinkhole = sinkhole.yagura.local\n"
                "bgp_local_as = 64512\nbgp_router_id = 192.0.2.1\nbgp_neighbor = 192.0.2.2\n"
                "bgp_neighbor_as = 64513\n" % keyfile)
    return path, cmdir


def alert(i, src, attackers=None, dest=None):
    a = {"alert_id": "c-%s-%d" % (src, i), "timestamp": "2026-12-01T00:00:00.000000+0000",
         "src_ip": src, "dest_ip": dest or "10.0.0.%d" % (i % 200 + 1), "proto": "TCP",
         "alert": {"signature_id": 9100001, "signature": "c2 beacon", "severity": 1}}
    if attackers is not None:
        a["evidence"] = {"attackers": attackers}
    return a


def wait_state(tw, tok, cid, want, secs=15):
    deadline, c = time.time() + secs, None
    while time.time() < deadline:
        st, body, _ = tw.call("GET", "/api/v1/cases/%d" % cid, token=tok)
        c = body.get("case") if st == 200 else None
        if c is not None and c["state"] == want:
            return c
        time.sleep(0.2)
    return c


def wait_file(path, pred, secs=15):
    """The file's text once pred holds of it (the tower writes the files
    just after it changes a case's state), or the last text read."""
    deadline, text = time.time() + secs, ""
    while time.time() < deadline:
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            text = ""
        if pred(text):
            break
        time.sleep(0.2)
    return text


def run(t, tw, label, yagura, cmdir, keyfile):
    A = tw.admin
    a1, a2 = tw.token_for("analyst1", "analyst"), tw.token_for("analyst2", "analyst")
    o1, o2 = tw.token_for("overseer1", "overseer"), tw.token_for("overseer2", "overseer")
    auditor, sensor = tw.token_for("auditor1", "auditor"), tw.token_for("sensor1", "sensor")
    st, org, _ = tw.call("POST", "/api/v1/orgs", {"name": "Kanto Power", "sector": "electricity"}, A)
    st, u, _ = tw.call("POST", "/api/v1/users", {"name": "op1", "role": "operator",
                                                 "org_id": org["id"]}, A)
    st, tk, _ = tw.call("POST", "/api/v1/tokens", {"user_id": u["id"]}, A)
    st, asset, _ = tw.call("POST", "/api/v1/assets", {"product": "SCADA HMI",
                                                      "addresses": [ASSET]}, tk["token"])
    t.check(st == 201, "%s: an asset: %s %s" % (label, st, asset))
    # The attacker's alerts hit the operator's registered computer: its
    # cases are the electricity sector's.
    batch = [alert(i, ATTACKER, dest=ASSET) for i in range(5)] + \
        [alert(i, FORGED, []) for i in range(3)]
    st, res, _ = tw.call("POST", "/api/v1/alerts", {"alerts": batch}, sensor)
    t.check(st == 200 and res["accepted"] == 8, "%s: alerts: %s %s" % (label, st, res))
    case = {"action": "rtbh", "justification": "C2 server of the campaign", "duration": "2h"}

    def propose(body, tok=a1, path="/api/v1/cases"):
        return tw.call("POST", path, body, tok)

    def refused(body, status, code, text, tok=a1, path="/api/v1/cases"):
        st, e, _ = propose(body, tok, path)
        err = e.get("error", {}) if isinstance(e, dict) else {}
        t.check(st == status and err.get("code") == code and text in err.get("message", "") +
                str(err.get("fields", "")),
                "%s: %s: %s %s (wanted %d %s '%s')" % (label, body.get("target", path), st, e,
                                                       status, code, text))

    # Refusals, each naming why.
    refused(dict(case, target="8.8.8.8"), 422, "never_block", "Google Public DNS")
    refused(dict(case, target="192.0.2.1"), 422, "never_block", "192.0.2.0/24")
    refused(dict(case, action="sinkhole", target="a.root-servers.net"), 422, "never_block",
            "root-servers.net")
    refused(dict(case, target=ASSET), 422, "never_block",
            "registered critical infrastructure (asset %d)" % asset["id"])
    refused(dict(case, target="198.51.100.0/23"), 422, "too_wide", "/24 at most")
    refused(dict(case, target=FORGED), 422, "spoofed_source", "3 of its alerts")
    plan = forged_plan(tw.store)
    t.check("alerts_forged" in plan, "%s: the spoofed-source check reads every alert: %s" %
            (label, plan))
    refused(dict(case, target=ATTACKER, evidence=["alert:999999"]), 422, "validation_failed",
            "alert:999999 does not exist")
    refused(dict(case, target=ATTACKER, duration="8d"), 422, "validation_failed", "duration")
    refused(dict(case, target=ATTACKER, action="reboot"), 422, "validation_failed", "action")
    refused(dict(case, target="198.51.100.8\nevil"), 422, "validation_failed", "target")
    refused(dict(case, target=ATTACKER, color="red"), 422, "validation_failed", "color")
    refused(dict(case, target=ATTACKER, justification="x" * 4097), 422, "validation_failed",
            "justification")
    refused(dict(case, target=ATTACKER, evidence=["alert:1"] * 65), 422, "validation_failed",
            "evidence")
    refused(dict(case, target=ATTACKER, ports=[80, 0]), 422, "validation_failed", "ports")
    refused(dict(case, target="x" * 300), 422, "validation_failed", "target")
    st, _, _ = tw.call("POST", "/api/v1/cases", b'{"action": "rtbh", "tar', a1)
    t.check(st == 400, "%s: a truncated case: %s" % (label, st))
    st, _, _ = propose(dict(case, target=ATTACKER), o1)
    t.check(st == 403, "%s: an overseer proposing: %s" % (label, st))

    # A case from the top source, with its evidence; decided by an overseer.
    for _ in range(100):
        st, body, _ = tw.call("GET", "/api/v1/sources", token=a1)
        if st != 200 or body.get("pending_alerts") == 0:
            break
        time.sleep(0.1)
    top = body["sources"][0]["ip"] if st == 200 and body.get("sources") else None
    t.check(top == ATTACKER, "%s: the top source is the attacker: %s" % (label, top))
    st, body, _ = propose(case, a1, "/api/v1/sources/%s/case" % ATTACKER)
    c = body.get("case", {})
    t.check(st == 201 and c.get("state") == "proposed" and c.get("target") == ATTACKER and
            "source:%s" % ATTACKER in c.get("evidence", []) and
            sum(e.startswith("alert:") for e in c.get("evidence", [])) == 5 and
            c.get("approvals_needed") == 1,
            "%s: a case from a source: %s %s" % (label, st, body))
    cid = c.get("id", 0)
    for tok, who in ((a1, "the analyst who proposed it"), (a2, "another analyst"),
                     (auditor, "an auditor")):
        st, _, _ = tw.call("POST", "/api/v1/cases/%d/approve" % cid, {"reason": "ok"}, tok)
        t.check(st == 403, "%s: approved by %s: %s" % (label, who, st))
    st, e, _ = tw.call("POST", "/api/v1/cases/%d/approve" % cid, {}, o1)
    t.check(st == 422, "%s: an approval without a reason: %s" % (label, st))
    st, body, _ = tw.call("POST", "/api/v1/cases/%d/approve" % cid,
                          {"reason": "evidence of C2 traffic reviewed"}, o1)
    t.check(st == 200 and body["case"]["state"] in ("approved", "active"),
            "%s: approved: %s %s" % (label, st, body))
    c = wait_state(tw, o1, cid, "active")
    t.check(c is not None and c["state"] == "active" and c["expires"] is not None and
            [d["decision"] for d in c["decisions"]] == ["approve", "activate"] and
            c["decisions"][1]["by"] == "server",
            "%s: active within seconds, by the tower: %s" % (label, c))
    st, _, _ = tw.call("POST", "/api/v1/cases/%d/approve" % cid, {"reason": "again"}, o2)
    t.check(st == 409, "%s: approving an active case: %s" % (label, st))

    # A case from a source cites the latest alerts credited to it, kept by
    # the source summary (schema v25): those naming it in
    # evidence.attackers as well as those from it, without a search of the
    # alerts; and those stored since the summary's last pass.
    named = "198.51.100.9"
    batch = [alert(i, "203.0.113.%d" % (50 + i), [named]) for i in range(12)]
    st, res, _ = tw.call("POST", "/api/v1/alerts", {"alerts": batch}, sensor)
    for _ in range(100):
        st, body, _ = tw.call("GET", "/api/v1/sources", token=a1)
        if st != 200 or body.get("pending_alerts") == 0:
            break
        time.sleep(0.1)

    def cited(body):
        return sorted(int(e[6:]) for e in body.get("case", {}).get("evidence", [])
                      if e.startswith("alert:"))

    latest = sorted(int(r[0]) for r in store_rows(
        tw.store, "SELECT id FROM alerts WHERE attackers = '%s' ORDER BY id DESC LIMIT 10" % named))
    st, body, _ = propose(case, a1, "/api/v1/sources/%s/case" % named)
    t.check(st == 201 and len(latest) == 10 and cited(body) == latest,
            "%s: a case from a source named by its alerts cites its latest ten: %s %s, "
            "the store's %s" % (label, st, cited(body), latest))
    tw.call("POST", "/api/v1/cases/%d/withdraw" % body.get("case", {}).get("id", 0),
            {"reason": "again below"}, a1)
    batch = [alert(100 + i, named) for i in range(2)]
    st, res, _ = tw.call("POST", "/api/v1/alerts", {"alerts": batch}, sensor)
    st, body, _ = propose(case, a1, "/api/v1/sources/%s/case" % named)
    newest = sorted(int(r[0]) for r in store_rows(
        tw.store, "SELECT id FROM alerts WHERE src_ip = '%s' OR attackers = '%s' "
        "ORDER BY id DESC LIMIT 10" % (named, named)))
    t.check(st == 201 and cited(body) == newest,
            "%s: alerts stored since the summary's pass are cited too: %s %s, the store's %s"
            % (label, st, cited(body), newest))
    tw.call("POST", "/api/v1/cases/%d/withdraw" % body.get("case", {}).get("id", 0),
            {"reason": "done"}, a1)
    # Once the summary has passed them, its list holds them, newest first.
    for _ in range(100):
        st, body, _ = tw.call("GET", "/api/v1/sources", token=a1)
        if st != 200 or body.get("pending_alerts") == 0:
            break
        time.sleep(0.1)
    kept = store_rows(tw.store, "SELECT recent_alerts FROM source_stats WHERE src_ip = '%s'"
                      % named)
    t.check(kept == [(",".join(str(i) for i in reversed(newest)),)],
            "%s: the summary's latest alerts of %s: %s, the store's %s" % (label, named, kept,
                                                                        newest))

    # Published: in the directory and at the URLs, with ETags.
    bird = wait_file(os.path.join(cmdir, "bird.conf"), lambda s: "%s/32" % ATTACKER in s)
    t.check("%s/32" % ATTACKER in bird and "(65535, 666)" in bird,
            "%s: bird.conf holds the blackhole route:\n%s" % (label, bird))
    st, conf, h = tw.call("GET", "/api/v1/countermeasures/bird.conf", token=sensor)
    etag = h.get("ETag")
    t.check(st == 200 and conf == bird and etag, "%s: bird.conf served: %s %s" % (label, st, etag))
    st, _, _ = tw.call("GET", "/api/v1/countermeasures/bird.conf", token=sensor,
                       headers={"If-None-Match": etag})
    t.check(st == 304, "%s: unchanged: 304, got %s" % (label, st))

    st, _, _ = tw.call("GET", "/api/v1/countermeasures/bird.conf?wait=1", token=sensor,
                       headers={"If-None-Match": etag})
    t.check(st == 304, "%s: a long poll on an unchanged file: 304 at its end, got %s" %
            (label, st))
    for bad in ("wait=0", "wait=301", "wait=x", "later=1"):
        st, _, _ = tw.call("GET", "/api/v1/countermeasures/bird.conf?" + bad, token=sensor)
        t.check(st == 400, "%s: ?%s: %s" % (label, bad, st))
    st, rpz0, h = tw.call("GET", "/api/v1/countermeasures/rpz.zone", token=sensor)
    st, nft0, hn = tw.call("GET", "/api/v1/countermeasures/nftables.nft", token=sensor)
    t.check(hn.get("ETag", "").startswith('W/"'), "%s: nftables.nft's ETag is weak: %s" %
            (label, hn.get("ETag")))
    time.sleep(1.1)  # its timeouts count down; its set, and so its ETag, does not
    st, _, _ = tw.call("GET", "/api/v1/countermeasures/nftables.nft", token=sensor,
                       headers={"If-None-Match": hn.get("ETag", "")})
    t.check(st == 304, "%s: nftables.nft unchanged a second later: %s" % (label, st))
    # Long polls, waiting for the next change: the resolver's zone answers
    # with the new zone when the sinkhole below is approved; the router's
    # and the firewall's files, which a sinkhole does not touch, wait on.
    polls = {}

    def long_poll(name, etag_, wait):
        polls[name] = tw.call("GET", "/api/v1/countermeasures/%s?wait=%d" % (name, wait),
                              token=sensor, headers={"If-None-Match": etag_})

    waiters = [threading.Thread(target=long_poll, args=a_) for a_ in (
        ("rpz.zone", h.get("ETag", ""), 25), ("nftables.nft", hn.get("ETag", ""), 3),
        ("bird.conf", etag, 3))]
    for w in waiters:
        w.start()
    time.sleep(0.5)

    # A sinkhole with a short life: it expires on time, with nobody calling.
    st, body, _ = propose({"action": "sinkhole", "target": "c2.bad.example",
                           "justification": "C2 domain", "duration": "6s"})
    sid = body.get("case", {}).get("id", 0)
    st, _, _ = tw.call("POST", "/api/v1/cases/%d/approve" % sid, {"reason": "ok"}, o2)
    waiters[0].join(30)
    st, text, _ = polls.get("rpz.zone", (0, "", {}))
    t.check(st == 200 and "c2.bad.example" in text,
            "%s: the zone's long poll answered with the sinkhole: %s" % (label, st))
    c = wait_state(tw, o1, sid, "active")
    rpz = wait_file(os.path.join(cmdir, "rpz.zone"), lambda s: "c2.bad.example" in s)
    t.check(c is not None and c["state"] == "active" and "c2.bad.example" in rpz,
            "%s: the sinkhole is active and in rpz.zone: %s\n%s" % (label, c, rpz))
    for w in waiters:
        w.join(30)
    for name in ("nftables.nft", "bird.conf"):
        st = polls.get(name, (0,))[0]
        t.check(st == 304, "%s: %s's long poll waited out its 3 s: %s" % (label, name, st))
    c = wait_state(tw, o1, sid, "expired", 25)
    rpz = wait_file(os.path.join(cmdir, "rpz.zone"), lambda s: "c2.bad.example" not in s)
    t.check(c is not None and c["state"] == "expired" and c["ended"] is not None and
            "c2.bad.example" not in rpz,
            "%s: expired and gone from rpz.zone: %s\n%s" % (label, c, rpz))
    st, conf2, h2 = tw.call("GET", "/api/v1/countermeasures/bird.conf", token=sensor)
    t.check(st == 200 and conf2 == conf and h2.get("ETag") == etag,
            "%s: bird.conf unchanged by the sinkhole's life" % label)

    # A notice for the hosting provider, with the evidence.
    st, body, _ = propose({"action": "notice", "target": "198.51.100.77",
                           "contact": "abuse@hoster.example", "duration": "1h",
                           "justification": "C2 server hosted at your network",
                           "evidence": ["source:%s" % ATTACKER]})
    nid = body.get("case", {}).get("id", 0)
    st, _, _ = tw.call("POST", "/api/v1/cases/%d/approve" % nid, {"reason": "ok"}, o1)
    c = wait_state(tw, o1, nid, "active")
    st, text, h = tw.call("GET", "/api/v1/countermeasures/notices/%d.txt" % nid, token=sensor)
    t.check(c is not None and c["state"] == "active" and st == 200 and
            "abuse@hoster.example" in text and "198.51.100.77" in text and
            "C2 server hosted at your network" in text and h.get("ETag"),
            "%s: the notice served: %s %r" % (label, st, text))
    st, doc, _ = tw.call("GET", "/api/v1/countermeasures/notices/%d.json" % nid, token=sensor)
    t.check(st == 200 and "198.51.100.77" in str(doc), "%s: the notice as JSON: %s %s" % (
        label, st, doc))
    on_disk = wait_file(os.path.join(cmdir, "notices", "%d.txt" % nid), lambda s: s != "")
    t.check(on_disk == text, "%s: the notice in the directory is the one served" % label)
    st, _, _ = tw.call("GET", "/api/v1/countermeasures/notices/%d.txt" % cid, token=sensor)
    t.check(st == 404, "%s: no notice for an rtbh case: %s" % (label, st))
    st, _, _ = tw.call("GET", "/api/v1/countermeasures/notices/x.txt", token=sensor)
    t.check(st == 404, "%s: a notice name that is no id: %s" % (label, st))

    # Wide or long needs two overseers, each once.
    st, body, _ = propose(dict(case, target="198.51.100.16/28"))
    wid = body.get("case", {}).get("id", 0)
    t.check(st == 201 and body["case"]["approvals_needed"] == 2,
            "%s: a /28 needs two overseers: %s" % (label, body))
    st, body, _ = tw.call("POST", "/api/v1/cases/%d/approve" % wid, {"reason": "ok"}, o1)
    t.check(st == 200 and body["case"]["state"] == "proposed" and body["case"]["approvals"] == 1,
            "%s: one of two approvals: %s" % (label, body))
    st, e, _ = tw.call("POST", "/api/v1/cases/%d/approve" % wid, {"reason": "again"}, o1)
    t.check(st == 409 and e["error"]["code"] == "already_approved",
            "%s: the same overseer twice: %s %s" % (label, st, e))
    st, body, _ = tw.call("POST", "/api/v1/cases/%d/approve" % wid, {"reason": "ok"}, o2)
    t.check(st == 200 and body["case"]["state"] in ("approved", "active"),
            "%s: two approvals: %s" % (label, body))
    st, body, _ = propose(dict(case, target="198.51.100.99", duration="4d"))
    t.check(st == 201 and body["case"]["approvals_needed"] == 2,
            "%s: four days needs two overseers: %s" % (label, body))

    # Rejected, withdrawn, revoked.
    st, body, _ = propose(dict(case, target="198.51.100.100"))
    rid = body["case"]["id"]
    st, body, _ = tw.call("POST", "/api/v1/cases/%d/reject" % rid, {"reason": "too thin"}, o1)
    t.check(st == 200 and body["case"]["state"] == "rejected", "%s: rejected: %s" % (label, body))
    st, e, _ = tw.call("POST", "/api/v1/cases/%d/approve" % rid, {"reason": "ok"}, o2)
    t.check(st == 409 and e["error"]["code"] == "wrong_state",
            "%s: approving a rejected case: %s %s" % (label, st, e))
    st, body, _ = propose(dict(case, target="198.51.100.101"))
    xid = body["case"]["id"]
    st, _, _ = tw.call("POST", "/api/v1/cases/%d/withdraw" % xid, {"reason": "mine"}, a2)
    t.check(st == 403, "%s: withdrawn by another analyst: %s" % (label, st))
    st, body, _ = tw.call("POST", "/api/v1/cases/%d/withdraw" % xid, {"reason": "wrong host"}, a1)
    t.check(st == 200 and body["case"]["state"] == "withdrawn", "%s: withdrawn: %s" % (label, body))
    st, body, _ = tw.call("POST", "/api/v1/cases/%d/revoke" % cid, {"reason": "host cleaned"}, o2)
    t.check(st == 200 and body["case"]["state"] == "revoked" and body["case"]["ended"],
            "%s: revoked: %s" % (label, body))
    bird = wait_file(os.path.join(cmdir, "bird.conf"), lambda s: "%s/32" % ATTACKER not in s)
    t.check("%s/32" % ATTACKER not in bird, "%s: the revoked route is gone:\n%s" % (label, bird))

    # Lists, and who may read them.
    st, body, _ = tw.call("GET", "/api/v1/cases?state=proposed", token=auditor)
    t.check(st == 200 and all(c["state"] == "proposed" for c in body["cases"]) and
            len(body["cases"]) == 1, "%s: proposed cases: %s" % (label, body))
    st, body, _ = tw.call("GET", "/api/v1/cases?state=sideways", token=auditor)
    t.check(st == 400, "%s: an unknown state: %s" % (label, st))
    st, _, _ = tw.call("GET", "/api/v1/cases", token=sensor)
    t.check(st == 403, "%s: a sensor reading cases: %s" % (label, st))

    # Every step is in the log, and the store is what the log says.
    st, vkey, _ = tw.call("GET", "/log/key")
    for _ in range(100):
        st, note, _ = tw.call("POST", "/api/v1/log/checkpoint", b"", auditor)
        size = int(note.split("\n")[1]) if st == 200 else 0
        st, inc, _ = tw.call("GET", "/api/v1/log/inclusion?index=%d&size=%d" % (size - 1, size),
                             token=auditor)
        if st == 200 and "kind case.revoke" in inc.get("entry", ""):
            break
        time.sleep(0.2)
    kinds = []
    for i in range(size):
        st, inc, _ = tw.call("GET", "/api/v1/log/inclusion?index=%d&size=%d" % (i, size),
                             token=auditor)
        kinds.append(inc.get("entry", "").split("\n")[1])
    # (two of the proposals and withdrawals are the cases from a named source)
    want = {"kind case.propose": 9, "kind case.approve": 5, "kind case.activate": 4,
            "kind case.expire": 1, "kind case.reject": 1, "kind case.withdraw": 3,
            "kind case.revoke": 1}
    got = {k: kinds.count(k) for k in want}
    t.check(got == want, "%s: the log's case entries: %s, wanted %s" % (label, got, want))
    p = subprocess.run([yagura, "audit", "verify", "--key", vkey.strip(), "--store", tw.store],
                       capture_output=True, text=True, timeout=300)
    t.check(p.returncode == 0 and "rows are as the entries recorded them" in p.stdout,
            "%s: audit verify --store: %d\n%s%s" % (label, p.returncode, p.stdout, p.stderr))
    st, m, _ = tw.call("GET", "/metrics")
    t.check("yagura_cases_never_block_narrowed 2\n" in m,
            "%s: the laboratory's narrowing in /metrics" % label)

    # The year's summary for the committee, counted from the log.
    year = time.gmtime().tm_year
    st, s, _ = tw.call("GET", "/api/v1/oversight/summary?year=%d" % year, token=o1)
    got = {k: (v["total"], v["by_action"]["rtbh"], v["by_action"]["sinkhole"])
           for k, v in s.get("cases", {}).items()} if st == 200 else s
    want = {"proposed": (9, 7, 1), "approvals": (5, 3, 1), "approved": (4, 2, 1),
            "rejected": (1, 1, 0), "withdrawn": (3, 3, 0), "revoked": (1, 1, 0),
            "activated": (4, 2, 1), "expired": (1, 0, 1)}
    t.check(got == want, "%s: the oversight summary: %s, wanted %s" % (label, got, want))
    sectors = {k: (v["by_sector"]["electricity"], v["by_sector"]["none"], v["by_sector"]["water"])
               for k, v in s.get("cases", {}).items()} if st == 200 else s
    want = {"proposed": (2, 7, 0), "approvals": (2, 3, 0), "approved": (2, 2, 0),
            "rejected": (0, 1, 0), "withdrawn": (0, 3, 0), "revoked": (1, 0, 0),
            "activated": (2, 2, 0), "expired": (0, 1, 0)}
    t.check(sectors == want, "%s: the summary by sector (electricity, none, water): %s, "
            "wanted %s" % (label, sectors, want))
    t.check(st == 200 and s["log"]["size"] >= size and s["log"]["checkpoint"].startswith(
        "yagura.local/log\n%d\n" % s["log"]["size"]),
        "%s: the summary names its signed tree: %s" % (label, s.get("log")))
    st, s, _ = tw.call("GET", "/api/v1/oversight/summary?year=%d" % (year - 1), token=auditor)
    t.check(st == 200 and s["cases"]["proposed"]["total"] == 0,
            "%s: last year had no cases: %s" % (label, s))
    st, _, _ = tw.call("GET", "/api/v1/oversight/summary", token=auditor)
    t.check(st == 400, "%s: a summary without a year: %s" % (label, st))


def main():
    a = common.parse_args()
    t = common.Checker("cases")
    with tempfile.TemporaryDirectory() as d:
        for label, store in both_stores(t, a.yagura, d, "tower_cases"):
            keyfile = os.path.join(d, label + ".log-key")
            conf, cmdir = write_config(d, label, keyfile)
            # The directory as the issue names it: yagura tower --countermeasures DIR.
            tw = Tower(a.yagura, store, d, extra=["--config", conf, "--countermeasures", cmdir],
                       init_extra=["--log-key", keyfile])
            poll = []
            try:
                run(t, tw, label, a.yagura, cmdir, keyfile)
                # A long poll waiting when the tower stops is answered then,
                # and the tower stops cleanly.
                tok = tw.token_for("late-sensor", "sensor")
                st, _, h = tw.call("GET", "/api/v1/countermeasures/blocklist.txt", token=tok)
                w = threading.Thread(target=lambda: poll.append(tw.call(
                    "GET", "/api/v1/countermeasures/blocklist.txt?wait=300", token=tok,
                    headers={"If-None-Match": h.get("ETag", "")})))
                w.start()
                time.sleep(0.5)
            finally:
                rc = tw.stop()
            t.check(rc == 0, "%s: tower exit %d on SIGTERM" % (label, rc))
            w.join(30)
            t.check(poll and poll[0][0] in (304, 503),
                    "%s: the long poll answered at the stop: %s" % (label, poll))
    t.finish()


main()
