"""Monitoring authorizations (issue 13), on SQLite and PostgreSQL: an
analyst proposes that a sensor may analyse some traffic, an overseer
approves, the tower starts it on time and ends it on time or on
revocation; a sensor sees only its own active authorizations; every
refusal says why; every step is in the transparency log and counted in
the committee's yearly summary; audit verify finds the store whole."""
import os
import subprocess
import tempfile
import time

import common
from towerlib import Tower, both_stores


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def wait_state(tw, tok, aid, want, secs=15):
    deadline, a = time.time() + secs, None
    while time.time() < deadline:
        st, body, _ = tw.call("GET", "/api/v1/monitoring/authorizations/%d" % aid, token=tok)
        a = body.get("authorization") if st == 200 else None
        if a is not None and a["state"] == want:
            return a
        time.sleep(0.2)
    return a


def active_ids(tw, tok, query=""):
    st, body, _ = tw.call("GET", "/api/v1/monitoring/authorizations/active" + query, token=tok)
    return [a["id"] for a in body["authorizations"]] if st == 200 else (st, body)


def run(t, tw, label, yagura, keyfile):
    A = tw.admin
    a1 = tw.token_for("analyst1", "analyst")
    o1, o2 = tw.token_for("overseer1", "overseer"), tw.token_for("overseer2", "overseer")
    auditor = tw.token_for("auditor1", "auditor")
    s1, s2 = tw.token_for("edge-1", "sensor"), tw.token_for("edge-2", "sensor")
    st, org, _ = tw.call("POST", "/api/v1/orgs", {"name": "Kanto Water", "sector": "water"}, A)
    st, u, _ = tw.call("POST", "/api/v1/users", {"name": "op1", "role": "operator",
                                                 "org_id": org["id"]}, A)
    st, tk, _ = tw.call("POST", "/api/v1/tokens", {"user_id": u["id"]}, A)
    st, _, _ = tw.call("POST", "/api/v1/assets", {"product": "SCADA HMI", "version": "7",
                                                 "addresses": ["10.20.0.5"]}, tk["token"])
    t.check(st == 201, "%s: an asset registered: %s" % (label, st))

    now = time.time()
    auth = {"sensor": "edge-1", "prefixes": ["10.20.0.0/16", "2001:db8:20::/48"],
            "vlans": [120], "purpose": "C2 beaconing against the water utility's control "
            "network (case file 2026-114)", "until": iso(now + 3600)}
    path = "/api/v1/monitoring/authorizations"

    def propose(body, tok=a1):
        return tw.call("POST", path, body, tok)

    # Refusals: each says which field, and why.
    for bad, field in ((dict(auth, sensor="nobody"), "sensor"),
                       (dict(auth, sensor="op1"), "sensor"),
                       (dict(auth, prefixes=[], vlans=[]), "prefixes"),
                       (dict(auth, prefixes=["10.20.0.1/16"]), "prefixes[0]"),
                       (dict(auth, prefixes=["example.com"]), "prefixes[0]"),
                       (dict(auth, vlans=[4095]), "vlans[0]"),
                       (dict(auth, purpose=""), "purpose"),
                       (dict(auth, purpose="x\x07"), "purpose"),
                       (dict(auth, until="tomorrow"), "until"),
                       (dict(auth, until=iso(now - 10)), "until"),
                       (dict(auth, until=iso(now + 91 * 86400)), "until"),
                       (dict(auth, **{"from": iso(now - 3600)}), "from")):
        st, e, _ = propose(bad)
        fields = [f["field"] for f in e.get("error", {}).get("fields", [])] if st == 422 else e
        t.check(st == 422 and fields == [field],
                "%s: %s refused naming %s: %s %s" % (label, bad, field, st, fields))
    st, e, _ = propose(dict(auth, extra=1))
    t.check(st == 422, "%s: an unknown field: %s %s" % (label, st, e))
    # Oversized and truncated: refused whole, naming what is wrong.
    for bad, field in ((dict(auth, purpose="p" * 4097), "purpose"),
                       (dict(auth, prefixes=["10.%d.0.0/16" % i for i in range(65)]), "prefixes"),
                       (dict(auth, vlans=list(range(1, 66))), "vlans"),
                       (dict(auth, sensor="s" * 200), "sensor")):
        st, e, _ = propose(bad)
        fields = [f["field"] for f in e.get("error", {}).get("fields", [])] if st == 422 else e
        t.check(st == 422 and fields == [field], "%s: oversized %s: %s %s" %
                (label, field, st, fields))
    st, e, _ = tw.call("POST", path, b'{"sensor": "edge-1", "prefixes": ["10.20', a1)
    t.check(st == 400, "%s: a truncated authorization: %s" % (label, st))
    st, e, _ = tw.call("POST", path + "/1/approve", b'{"reason": "o', o1)
    t.check(st == 400, "%s: a truncated decision: %s" % (label, st))
    st, e, _ = propose(auth, o1)
    t.check(st == 403, "%s: an overseer proposing: %s" % (label, st))
    st, e, _ = propose(auth, s1)
    t.check(st == 403, "%s: a sensor proposing for itself: %s" % (label, st))

    # Proposed, approved by one overseer, activated by the tower.
    st, body, _ = propose(auth)
    a = body.get("authorization", {})
    t.check(st == 201 and a.get("state") == "proposed" and a["approvals_needed"] == 1 and
            a["prefixes"] == ["10.20.0.0/16", "2001:db8:20::/48"] and a["vlans"] == [120] and
            a["sensor"] == "edge-1", "%s: proposed: %s %s" % (label, st, body))
    aid = a.get("id", 0)
    t.check(active_ids(tw, s1) == [], "%s: nothing active before approval" % label)
    st, e, _ = tw.call("POST", "%s/%d/approve" % (path, aid), {"reason": "ok"}, a1)
    t.check(st == 403, "%s: an analyst approving: %s" % (label, st))
    st, e, _ = tw.call("POST", "%s/%d/approve" % (path, aid), {}, o1)
    t.check(st == 422, "%s: an approval without a reason: %s" % (label, st))
    st, body, _ = tw.call("POST", "%s/%d/approve" % (path, aid),
                          {"reason": "necessary and proportionate"}, o1)
    t.check(st == 200 and body["authorization"]["state"] in ("approved", "active"),
            "%s: approved: %s %s" % (label, st, body))
    a = wait_state(tw, o1, aid, "active")
    t.check(a is not None and a["state"] == "active" and a["activated"],
            "%s: activated by the tower: %s" % (label, a))
    t.check(active_ids(tw, s1) == [aid], "%s: the sensor's active list: %s" %
            (label, active_ids(tw, s1)))
    t.check(active_ids(tw, s2) == [], "%s: another sensor sees none of it: %s" %
            (label, active_ids(tw, s2)))
    st, _, _ = tw.call("GET", "%s/%d" % (path, aid), token=s2)
    t.check(st == 404, "%s: another sensor reading it: %s" % (label, st))
    st, body, _ = tw.call("GET", path, token=s2)
    t.check(st == 200 and body["authorizations"] == [],
            "%s: another sensor's list: %s %s" % (label, st, body))
    t.check(active_ids(tw, a1, "?sensor=edge-1") == [aid], "%s: an analyst asking for edge-1" %
            label)
    st, _, _ = tw.call("GET", path + "/active", token=a1)
    t.check(st == 400, "%s: an analyst must name the sensor: %s" % (label, st))
    st, _, _ = tw.call("GET", path + "/active?sensor=edge-2", token=s1)
    t.check(st == 400, "%s: a sensor asking for another's: %s" % (label, st))

    # One that starts later waits, approved, until its from.
    st, body, _ = propose(dict(auth, prefixes=["10.30.0.0/16"], vlans=[],
                               **{"from": iso(time.time() + 4), "until": iso(now + 600)}))
    lid = body.get("authorization", {}).get("id", 0)
    st, body, _ = tw.call("POST", "%s/%d/approve" % (path, lid), {"reason": "ok"}, o2)
    time.sleep(1.5)
    st, body, _ = tw.call("GET", "%s/%d" % (path, lid), token=o1)
    t.check(st == 200 and body["authorization"]["state"] == "approved",
            "%s: approved, not yet begun: %s" % (label, body))
    a = wait_state(tw, o1, lid, "active")
    t.check(a is not None and a["state"] == "active", "%s: begun at its from: %s" % (label, a))

    # One that ends on its own.
    st, body, _ = propose(dict(auth, prefixes=["10.40.0.0/16"], until=iso(time.time() + 4)))
    eid = body.get("authorization", {}).get("id", 0)
    tw.call("POST", "%s/%d/approve" % (path, eid), {"reason": "short look"}, o1)
    a = wait_state(tw, o1, eid, "expired")
    t.check(a is not None and a["state"] == "expired" and a["ended"],
            "%s: expired on time: %s" % (label, a))
    t.check(eid not in active_ids(tw, s1), "%s: no longer listed to the sensor" % label)

    # A long one needs two overseers ([monitoring] two_overseers_after = 1h).
    st, body, _ = propose(dict(auth, prefixes=["10.50.0.0/16"], until=iso(now + 7200)))
    wid = body.get("authorization", {}).get("id", 0)
    t.check(body.get("authorization", {}).get("approvals_needed") == 2,
            "%s: two hours needs two overseers: %s" % (label, body))
    st, body, _ = tw.call("POST", "%s/%d/approve" % (path, wid), {"reason": "ok"}, o1)
    t.check(st == 200 and body["authorization"]["state"] == "proposed",
            "%s: one approval of two: %s" % (label, body))
    st, e, _ = tw.call("POST", "%s/%d/approve" % (path, wid), {"reason": "again"}, o1)
    t.check(st == 409 and e["error"]["code"] == "already_approved",
            "%s: the same overseer twice: %s %s" % (label, st, e))
    st, body, _ = tw.call("POST", "%s/%d/reject" % (path, wid), {"reason": "too long"}, o2)
    t.check(st == 200 and body["authorization"]["state"] == "rejected",
            "%s: rejected by the second: %s" % (label, body))

    # Withdrawn by its analyst; revoked by an overseer.
    st, body, _ = propose(dict(auth, prefixes=["10.60.0.0/16"]))
    xid = body.get("authorization", {}).get("id", 0)
    st, body, _ = tw.call("POST", "%s/%d/withdraw" % (path, xid), {"reason": "wrong link"}, a1)
    t.check(st == 200 and body["authorization"]["state"] == "withdrawn",
            "%s: withdrawn: %s" % (label, body))
    st, body, _ = tw.call("POST", "%s/%d/revoke" % (path, aid), {"reason": "case closed"}, o2)
    t.check(st == 200 and body["authorization"]["state"] == "revoked",
            "%s: revoked: %s" % (label, body))
    t.check(aid not in active_ids(tw, s1), "%s: revoked, not listed: %s" %
            (label, active_ids(tw, s1)))
    st, e, _ = tw.call("POST", "%s/%d/revoke" % (path, aid), {"reason": "again"}, o2)
    t.check(st == 409 and e["error"]["code"] == "wrong_state", "%s: revoked twice: %s" %
            (label, st))
    st, body, _ = tw.call("GET", path + "?state=revoked", token=auditor)
    t.check(st == 200 and [x["id"] for x in body["authorizations"]] == [aid],
            "%s: the auditor's list of revoked ones: %s" % (label, body))
    st, body, _ = tw.call("GET", "%s/%d" % (path, aid), token=auditor)
    t.check(st == 200 and [d["decision"] for d in body["authorization"]["decisions"]] ==
            ["approve", "activate", "revoke"], "%s: its decisions: %s" % (label, body))

    # The committee's year, from the log.
    year = time.gmtime().tm_year
    st, s, _ = tw.call("GET", "/api/v1/oversight/summary?year=%d" % year, token=o1)
    got = {k: v["total"] for k, v in s.get("authorizations", {}).items()} if st == 200 else s
    want = {"proposed": 5, "approvals": 4, "approved": 3, "rejected": 1, "withdrawn": 1,
            "revoked": 1, "activated": 3, "expired": 1}
    t.check(got == want, "%s: authorizations in the summary: %s, wanted %s" % (label, got, want))
    water = {k: v["by_sector"]["water"] for k, v in s.get("authorizations", {}).items()} \
        if st == 200 else s
    t.check(water.get("proposed") == 1 and water.get("revoked") == 1,
            "%s: the one over the water utility's asset, by sector: %s" % (label, water))
    t.check(st == 200 and s["cases"]["proposed"]["total"] == 0,
            "%s: no cases counted: %s" % (label, s.get("cases")))

    # The store is what the log says.
    st, vkey, _ = tw.call("GET", "/log/key")
    p = subprocess.run([yagura, "audit", "verify", "--key", vkey.strip(), "--store", tw.store],
                       capture_output=True, text=True, timeout=300)
    t.check(p.returncode == 0 and "rows are as the entries recorded them" in p.stdout,
            "%s: audit verify --store: %d\n%s%s" % (label, p.returncode, p.stdout, p.stderr))


def main():
    a = common.parse_args()
    t = common.Checker("authorizations")
    with tempfile.TemporaryDirectory() as d:
        for label, store in both_stores(t, a.yagura, d, "tower_authorizations"):
            keyfile = os.path.join(d, label + ".log-key")
            conf = os.path.join(d, label + ".conf")
            with open(conf, "w") as f:
                f.write("[log]\nkey = %s\n\n[monitoring]\nmax_duration = 90d\n"
                        "two_overseers_after = 1h\n" % keyfile)
            tw = Tower(a.yagura, store, d, extra=["--config", conf],
                       init_extra=["--log-key", keyfile])
            try:
                run(t, tw, label, a.yagura, keyfile)
            finally:
                rc = tw.stop()
            t.check(rc == 0, "%s: tower exit %d on SIGTERM" % (label, rc))
    t.finish()


main()
