"""The tower trusts nothing a client sends, and gives what users asked for
on first contact (issue 11), on SQLite and on PostgreSQL: unknown fields
refused everywhere, naming the field; reports naming only their own
organisation's assets; a version's category replacing the report's; the
last admin token kept, and recovery on the server; assets with address
ranges that mark the alerts against them; alerts read back by filter and
cursor; every list paged, saying when there is more."""
import json
import os
import subprocess
import tempfile

import common
from towerlib import Tower, both_stores


def report_body(**kw):
    b = {"category": "ddos", "summary": "SYN flood on the portal",
         "detected_at": "2026-11-20T09:00:00+09:00", "severity": "high", "tlp": "TLP:AMBER"}
    b.update(kw)
    return b


def detailed(**kw):
    b = report_body(**kw)
    b.update({"technical_details": {"indicators": {"addresses": ["198.51.100.7"]}},
              "affected_computers": [{"description": "web portal"}]})
    b.update(kw)
    return b


def alert(aid, src, dst, sid=9100001, ts="2026-11-23T00:00:00.000000+0000"):
    return {"alert_id": aid, "timestamp": ts, "event_type": "alert", "src_ip": src,
            "dest_ip": dst, "proto": "TCP",
            "alert": {"signature_id": sid, "signature": "YAGURA %d" % sid, "severity": 2}}


def fields(e):
    return [f["field"] for f in (e.get("error", {}).get("fields") or [])] if isinstance(e, dict) else []


def doc_examples():
    """The JSON blocks of docs/tower.md's worked report, in order."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "tower.md")
    text = open(path).read()
    section = text[text.index("### A report through its stages"):]
    section = section[:section.index("\n## ")] if "\n## " in section else section
    return [json.loads(block.split("```", 1)[0]) for block in section.split("```json")[1:]]


def run(t, tw, label, yagura):
    A = tw.admin

    def ok(st, want, what, body=None):
        t.check(st == want, "%s: %s: status %s, wanted %s %s" % (label, what, st, want,
                                                                 body if st != want else ""))

    def user(name, role, **kw):
        st, u, _ = tw.call("POST", "/api/v1/users", dict(name=name, role=role, **kw), A)
        ok(st, 201, "user " + name, u)
        st, tk, _ = tw.call("POST", "/api/v1/tokens", {"user_id": u["id"]}, A)
        ok(st, 201, "token " + name, tk)
        return tk["token"], u["id"], tk["id"]

    # Unknown fields, everywhere, named.
    st, e, _ = tw.call("POST", "/api/v1/orgs", {"name": "Kansai Grid", "sector": "electricity",
                                                "colour": "red"}, A)
    ok(st, 422, "org with an unknown field", e)
    t.check(fields(e) == ["colour"], "%s: org's unknown field named: %s" % (label, e))
    st, o1, _ = tw.call("POST", "/api/v1/orgs", {"name": "Kansai Grid", "sector": "electricity"}, A)
    st, o2, _ = tw.call("POST", "/api/v1/orgs", {"name": "Kobe Water", "sector": "water"}, A)
    st, e, _ = tw.call("POST", "/api/v1/users", {"name": "x", "role": "analyst", "admin": True}, A)
    ok(st, 422, "user with an unknown field", e)
    t.check(fields(e) == ["admin"], "%s: user's unknown field named: %s" % (label, e))
    st, e, _ = tw.call("POST", "/api/v1/users", {"name": "x", "role": "analyst",
                                                 "sectors": ["water"]}, A)
    ok(st, 422, "sectors for a non-regulator", e)
    op1, op1_id, _ = user("op1", "operator", org_id=o1["id"])
    op2, _, _ = user("op2", "operator", org_id=o2["id"])
    reg_w, _, _ = user("mlit", "regulator", sectors=["water"])
    analyst, _, _ = user("analyst", "analyst")
    sensor, sensor_id, _ = user("sensor", "sensor")
    # "days": 1 used to give a 90-day token.
    st, e, _ = tw.call("POST", "/api/v1/tokens", {"user_id": op1_id, "days": 1}, A)
    ok(st, 422, "token with an unknown field", e)
    t.check(fields(e) == ["days"], "%s: token's unknown field named: %s" % (label, e))
    st, e, _ = tw.call("POST", "/api/v1/assets", {"product": "PLC", "vendor": "x"}, op1)
    ok(st, 422, "asset with an unknown field", e)
    t.check(fields(e) == ["vendor"], "%s: asset's unknown field named: %s" % (label, e))

    # Assets with address ranges; bad ones refused, naming the entry.
    for bad in (["10.0.0.1/24"], ["999.1.1.1"], ["fe80::1%eth0"], ["10.0.0.0/33"], "10.0.0.0/8",
                [7], ["0.0.0.0/0x"]):
        st, e, _ = tw.call("POST", "/api/v1/assets", {"product": "PLC", "addresses": bad}, op1)
        ok(st, 422, "asset addresses %r" % (bad,), e)
        t.check(fields(e) and fields(e)[0].startswith("addresses"),
                "%s: bad addresses named: %s" % (label, e))
    st, a1, _ = tw.call("POST", "/api/v1/assets", {"product": "SCADA HMI", "role": "control",
                                                   "addresses": ["203.0.113.0/28", "2001:db8::/64"]}, op1)
    ok(st, 201, "asset with addresses", a1)
    st, a1host, _ = tw.call("POST", "/api/v1/assets", {"product": "historian",
                                                       "addresses": ["203.0.113.5"]}, op1)
    ok(st, 201, "asset inside another's range", a1host)
    st, a2, _ = tw.call("POST", "/api/v1/assets", {"product": "pump PLC",
                                                   "addresses": ["192.0.2.64/26"]}, op2)
    ok(st, 201, "asset of another organisation", a2)
    st, lst, _ = tw.call("GET", "/api/v1/assets", token=op1)
    mine = {a["id"]: a for a in lst.get("assets", [])}
    t.check(st == 200 and set(mine) == {a1["id"], a1host["id"]} and
            mine[a1["id"]]["addresses"] == sorted(["203.0.113.0/28", "2001:db8::/64"]) and
            lst.get("more") is False, "%s: operator lists its assets: %s" % (label, lst))
    st, page, _ = tw.call("GET", "/api/v1/assets?limit=1", token=analyst)
    t.check(st == 200 and len(page["assets"]) == 1 and page["more"] is True and "next_after" in page,
            "%s: asset page 1: %s" % (label, page))
    st, page2, _ = tw.call("GET", "/api/v1/assets?limit=5&after=%d" % page["next_after"], token=analyst)
    t.check(st == 200 and len(page2["assets"]) == 2 and page2["more"] is False,
            "%s: asset page 2: %s" % (label, page2))

    # Reports may name only their own organisation's assets.
    for aid in (a2["id"], 999999):
        st, e, _ = tw.call("POST", "/api/v1/reports",
                           report_body(affected_computers=[{"asset_id": aid}]), op1)
        ok(st, 422, "report naming asset %d" % aid, e)
        t.check(fields(e) == ["affected_computers[0].asset_id"], "%s: asset named: %s" % (label, e))
    st, r1, _ = tw.call("POST", "/api/v1/reports",
                        report_body(affected_computers=[{"asset_id": a1["id"]}]), op1)
    ok(st, 201, "report naming its own asset", r1)
    st, e, _ = tw.call("POST", "/api/v1/reports/%d/versions" % r1["id"],
                       {"stage": "detailed", "report": detailed(
                           affected_computers=[{"asset_id": a2["id"]}])}, op1)
    ok(st, 422, "version naming another's asset", e)
    # A version that changes the category changes the report's.
    st, e, _ = tw.call("POST", "/api/v1/reports/%d/versions" % r1["id"],
                       {"stage": "detailed", "report": detailed(), "note": "x"}, op1)
    ok(st, 422, "version with an unknown field", e)
    t.check(fields(e) == ["note"], "%s: version's unknown field named: %s" % (label, e))
    st, v, _ = tw.call("POST", "/api/v1/reports/%d/versions" % r1["id"],
                       {"stage": "detailed", "report": detailed(category="malware", severity="critical",
                                                                category_details={"family": "Emotet"})}, op1)
    ok(st, 201, "version changing the category", v)
    st, rep, _ = tw.call("GET", "/api/v1/reports/%d" % r1["id"], token=op1)
    t.check(st == 200 and rep["category"] == "malware" and rep["severity"] == "critical",
            "%s: the report's category follows its version: %s" % (label,
                                                                    {k: rep.get(k) for k in ("category", "severity")}))
    st, e, _ = tw.call("POST", "/api/v1/reports/%d/versions" % r1["id"],
                       {"stage": "closed", "report": detailed()}, op1)
    ok(st, 422, "closing with a report", e)

    # Lists say when there is more; unknown query parameters are refused.
    st, page, _ = tw.call("GET", "/api/v1/orgs?limit=1", token=A)
    st2, page2, _ = tw.call("GET", "/api/v1/orgs?after=%d" % page.get("next_after", 0), token=A)
    t.check(st == 200 and page["more"] and [o["id"] for o in page["orgs"]] == [o1["id"]] and
            st2 == 200 and not page2["more"] and [o["id"] for o in page2["orgs"]] == [o2["id"]],
            "%s: organisations paged: %s %s" % (label, page, page2))
    for i in range(3):
        tw.call("POST", "/api/v1/reports", report_body(summary="r%d" % i), op1)
    st, page, _ = tw.call("GET", "/api/v1/reports?limit=2", token=op1)
    t.check(st == 200 and len(page["reports"]) == 2 and page["more"] is True,
            "%s: report page 1: %s" % (label, page))
    st, page2, _ = tw.call("GET", "/api/v1/reports?limit=2&before=%d" % page["next_before"], token=op1)
    t.check(st == 200 and len(page2["reports"]) == 2 and page2["more"] is False and
            "next_before" not in page2, "%s: report page 2: %s" % (label, page2))
    for path in ("/api/v1/reports?overdue=yes", "/api/v1/reports?limt=5", "/api/v1/reports?limit=0",
                 "/api/v1/alerts?sorce=1.2.3.4", "/api/v1/alerts?src_ip=999.1.1.1",
                 "/api/v1/alerts?since=yesterday", "/api/v1/sources?limit=5&limit=6",
                 "/api/v1/assets?after=x"):
        st, e, _ = tw.call("GET", path, token=analyst)
        ok(st, 400, path, e)

    # Alerts against a registered asset are marked; its operator, and its
    # sector's regulator, read them; others do not.
    batch = [alert("t-1", "198.51.100.7", "203.0.113.5"),        # the historian (the /32 wins)
             alert("t-2", "198.51.100.7", "203.0.113.9"),        # the HMI's /28
             alert("t-3", "198.51.100.8", "2001:db8::42", sid=9100002),
             alert("t-4", "198.51.100.8", "192.0.2.70"),         # op2's pump
             alert("t-5", "198.51.100.9", "198.18.0.1",          # nobody's
                   ts="2026-11-24T00:00:00.000000+0000")]
    st, res, _ = tw.call("POST", "/api/v1/alerts", {"alerts": batch}, sensor)
    ok(st, 200, "alert batch", res)
    st, al, _ = tw.call("GET", "/api/v1/alerts?limit=1000", token=analyst)
    by = {a["alert_id"]: a for a in al.get("alerts", [])}
    t.check(st == 200 and len(by) == 5 and by["t-1"]["asset_id"] == a1host["id"] and
            by["t-2"]["asset_id"] == a1["id"] and by["t-3"]["asset_id"] == a1["id"] and
            by["t-4"]["asset_id"] == a2["id"] and by["t-4"]["asset_org_id"] == o2["id"] and
            by["t-5"]["asset_id"] is None and by["t-1"]["record"]["alert_id"] == "t-1" and
            by["t-1"]["sensor_id"] == sensor_id,
            "%s: alerts marked with assets: %s" % (label, {k: (v["asset_id"], v["asset_org_id"])
                                                          for k, v in by.items()}))
    st, al, _ = tw.call("GET", "/api/v1/alerts", token=op1)
    t.check(st == 200 and sorted(a["alert_id"] for a in al["alerts"]) == ["t-1", "t-2", "t-3"],
            "%s: an operator reads the alerts against its assets: %s" % (label, al))
    st, al, _ = tw.call("GET", "/api/v1/alerts", token=reg_w)
    t.check(st == 200 and [a["alert_id"] for a in al["alerts"]] == ["t-4"],
            "%s: a regulator reads its sectors': %s" % (label, al))
    for q, want in (("src_ip=198.51.100.8", ["t-4", "t-3"]), ("dest_ip=2001:DB8:0::42", ["t-3"]),
                    ("signature_id=9100002", ["t-3"]), ("since=2026-11-23T12:00:00Z", ["t-5"]),
                    ("until=2026-11-23T12:00:00Z&asset_id=%d" % a1["id"], ["t-3", "t-2"]),
                    ("sensor_id=%d&limit=2" % sensor_id, ["t-5", "t-4"])):
        st, al, _ = tw.call("GET", "/api/v1/alerts?" + q, token=analyst)
        t.check(st == 200 and [a["alert_id"] for a in al["alerts"]] == want,
                "%s: alerts?%s: %s" % (label, q, [a["alert_id"] for a in al.get("alerts", [])]))
    st, p1, _ = tw.call("GET", "/api/v1/alerts?limit=2", token=analyst)
    st, p2, _ = tw.call("GET", "/api/v1/alerts?limit=2&before=%d" % p1["next_before"], token=analyst)
    st, p3, _ = tw.call("GET", "/api/v1/alerts?limit=2&before=%d" % p2["next_before"], token=analyst)
    seen = [a["alert_id"] for p in (p1, p2, p3) for a in p["alerts"]]
    t.check(seen == ["t-5", "t-4", "t-3", "t-2", "t-1"] and p3["more"] is False and p1["more"],
            "%s: alerts paged by cursor: %s" % (label, seen))
    # The ranking counts the critical computers a source attacked; it says
    # when there are more sources than the page.
    st, one, _ = tw.call("GET", "/api/v1/sources?limit=1", token=analyst)
    t.check(st == 200 and len(one["sources"]) == 1 and one["more"] is True,
            "%s: sources say there are more: %s" % (label, one))
    st, src, _ = tw.call("GET", "/api/v1/sources", token=analyst)
    t.check(src.get("more") is False, "%s: and when there are not: %s" % (label, src.get("more")))
    crit = {s["ip"]: s.get("critical_victims") for s in src.get("sources", [])}
    t.check(st == 200 and crit.get("198.51.100.7") == 2 and crit.get("198.51.100.8") == 2 and
            crit.get("198.51.100.9") == 0, "%s: critical victims: %s" % (label, crit))

    # A report's indicator addresses rank as one source however written;
    # a prefix names a range, not an attacker.
    st, r2, _ = tw.call("POST", "/api/v1/reports", report_body(technical_details={
        "indicators": {"addresses": ["2001:DB8:0:0::77", "0.0.0.0/0", "198.51.100.0/24"]}}), op1)
    ok(st, 201, "report with prefixes among its indicators", r2)
    st, src, _ = tw.call("GET", "/api/v1/sources?limit=1000", token=analyst)
    ips = {s["ip"]: s for s in src.get("sources", [])}
    t.check(st == 200 and "2001:db8::77" in ips and ips["2001:db8::77"]["reports"] == 1 and
            not any("/" in ip for ip in ips), "%s: indicator addresses as sources: %s" % (label, sorted(ips)))

    # docs/tower.md's worked report, filed as written (asset 3 is op2's).
    ex = doc_examples()
    t.check(len(ex) == 4 and a2["id"] == 3, "%s: four examples in docs/tower.md" % label)
    st, r, _ = tw.call("POST", "/api/v1/reports", ex[0], op2)
    ok(st, 201, "docs: the prompt report", r)
    for stage, body in zip(("detailed", "final", "closed"), ex[1:]):
        st, v, _ = tw.call("POST", "/api/v1/reports/%d/versions" % r.get("id", 0), body, op2)
        ok(st, 200 if stage == "closed" else 201, "docs: the %s stage" % stage, v)
    st, rep, _ = tw.call("GET", "/api/v1/reports/%d" % r.get("id", 0), token=op2)
    t.check(st == 200 and rep["stage"] == "closed" and len(rep["versions"]) == 3,
            "%s: docs' report closed with three versions: %s" % (label, rep.get("stage")))

    # The last admin token that works cannot be revoked through the API.
    st, me, _ = tw.call("GET", "/api/v1/orgs", token=A)
    admin_tid = 1  # admin init's token is the store's first
    st, e, _ = tw.call("DELETE", "/api/v1/tokens/%d" % admin_tid, token=A)
    ok(st, 409, "revoking the last admin token", e)
    t.check(e.get("error", {}).get("code") == "last_admin_token", "%s: reason: %s" % (label, e))
    st, _, _ = tw.call("GET", "/api/v1/orgs", token=A)
    ok(st, 200, "the admin still works")
    _, _, second_tid = user("admin2", "admin")
    st, _, _ = tw.call("DELETE", "/api/v1/tokens/%d" % admin_tid, token=A)
    ok(st, 204, "revoking an admin token while another works")
    st, _, _ = tw.call("GET", "/api/v1/orgs", token=A)
    ok(st, 401, "the revoked admin token")
    # Recovery, for whoever holds the store.
    out = subprocess.run([yagura, "admin", "recover", "--store", tw.store, "--name", "admin"],
                         capture_output=True, text=True)
    t.check(out.returncode == 0 and out.stdout.startswith("ygt_"),
            "%s: admin recover: %s %s" % (label, out.returncode, out.stderr))
    A2 = out.stdout.strip()
    st, _, _ = tw.call("GET", "/api/v1/orgs", token=A2)
    ok(st, 200, "the recovered admin token")
    out = subprocess.run([yagura, "admin", "recover", "--store", tw.store, "--name", "bad\x1bname"],
                         capture_output=True, text=True)
    t.check(out.returncode != 0 and "control" in out.stderr,
            "%s: recover refuses a control character: %s" % (label, out.stderr))


def main():
    a = common.parse_args()
    t = common.Checker("tower_trust")
    with tempfile.TemporaryDirectory() as d:
        stores = both_stores(t, a.yagura, d, "tower_trust")
        for label, store in stores:
            tw = Tower(a.yagura, store, d)
            try:
                run(t, tw, label, a.yagura)
            finally:
                rc = tw.stop()
            t.check(rc == 0, "%s: tower exit %d on SIGTERM" % (label, rc))
    t.finish()


main()
