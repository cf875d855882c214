"""The tower through its HTTP API, on SQLite and on PostgreSQL: bootstrap,
organisations, users and tokens; the reporting lifecycle with validation,
deadlines and Idempotency-Key; who sees what (operators their own
organisation, regulators their sectors); sensor alerts stored once and
ranked as sources; every route against every role; health and metrics."""
import json
import os
import sqlite3
import subprocess
import tempfile
import time

import common
from towerlib import Tower, fresh_pg_db, pg_url


def report_body(**kw):
    b = {"category": "ddos", "summary": "SYN flood on the portal",
         "detected_at": "2026-11-20T09:00:00+09:00", "severity": "high", "tlp": "TLP:AMBER"}
    b.update(kw)
    return b


def eve(aid, sec, src, dst, sid, sev, detector, **evidence):
    """A yagura sensor's EVE alert; evidence as its detectors write it."""
    return {"alert_id": aid, "timestamp": "2026-11-23T00:%02d:%02d.000000+0000" % (sec // 60, sec % 60),
            "event_type": "alert", "src_ip": src, "dest_ip": dst, "proto": "TCP",
            "alert": {"signature_id": sid, "signature": "YAGURA %d" % sid, "severity": sev,
                      "metadata": {"detector": [detector]}},
            "evidence": evidence}


def ranking(t, tw, label, user, sources, analyst):
    """Sources by the ranking the sensor uses (src/rank/rank.h): credited to
    the addresses evidence.attackers names, scored on what each did."""
    rk, _ = user("rank-sensor", "sensor")
    batch = [
        # A SYN flood judged forged: src_ip is one of the forged addresses,
        # and the alert names no attacker.
        eve("k-1", 1, "198.18.44.1", "10.7.0.1", 9200001, 1, "dos", packets=90000, bytes=5400000,
            distinct_sources=40000, spoofed=True, spoof_reason="40000 distinct sources",
            attackers=[]),
        # A scanner of 1,200 hosts (severity 2) ...
        eve("k-2", 2, "203.0.113.77", "10.7.0.2", 9100001, 2, "scan", packets=1200,
            distinct_hosts=1200, attackers=["203.0.113.77"]),
        # ... and sources with a single severity-1 alert: an intel match,
        # a flood from one real address.
        eve("k-3", 3, "203.0.113.78", "10.7.0.3", 9700001, 1, "intel", packets=1,
            indicator="203.0.113.78", confidence=80, attackers=["203.0.113.78"]),
        eve("k-4", 4, "203.0.113.80", "10.7.0.6", 9200001, 1, "dos", packets=50000,
            attackers=["203.0.113.80"]),
        # Reflectors a DNS amplification abused toward 10.7.0.4: the flood's
        # packets are split between them.
        eve("k-5", 5, "192.0.2.201", "10.7.0.4", 9200003, 1, "dos", packets=6000,
            attackers=["192.0.2.201", "192.0.2.202"], attacker_role="reflector"),
        eve("k-9", 5, "192.0.2.203", "10.7.0.7", 9200003, 1, "dos", packets=3000,
            attackers=["192.0.2.203"]),
        # A brute-force chain: the escalation's packets and sessions are
        # cumulative, previous_* what the first alert already reported.
        eve("k-6", 10, "203.0.113.79", "10.7.0.5", 9300022, 2, "brute", packets=300, sessions=20,
            window_start="2026-11-23T00:00:06.000000+0000", attackers=["203.0.113.79"]),
        eve("k-7", 130, "203.0.113.79", "10.7.0.5", 9300022, 2, "brute", packets=3000,
            sessions=200, escalation=1, previous_packets=300, previous_sessions=20,
            window_start="2026-11-23T00:00:06.000000+0000", attackers=["203.0.113.79"]),
        # A flood's real heavy sources, each with what it sent itself.
        eve("k-10", 21, "198.51.100.91", "10.7.0.8", 9200002, 1, "dos", packets=1000,
            attackers=["198.51.100.91", "198.51.100.92"], attacker_packets=[900, 100]),
        # A C2 server the victim called: the attacker is the destination.
        eve("k-8", 20, "10.7.0.9", "185.0.2.66", 9700002, 1, "intel", indicator_id="ind-c2",
            confidence=90, attackers=["185.0.2.66"]),
    ]
    st, res, _ = tw.call("POST", "/api/v1/alerts", {"alerts": batch}, rk)
    t.check(st == 200 and res["accepted"] == len(batch), "%s: rank batch %s %s" % (label, st, res))
    st, src = sources(analyst, "?limit=1000")
    ips = [s["ip"] for s in src.get("sources", [])]
    by = {s["ip"]: s for s in src.get("sources", [])}
    t.check("198.18.44.1" not in by,
            "%s: a flood from forged sources makes no source of its src_ip: %s" % (label, ips))
    scan, intel, flood = by.get("203.0.113.77", {}), by.get("203.0.113.78", {}), by.get("203.0.113.80", {})
    t.check(scan.get("hosts") == 1200 and scan.get("detectors") == {"scan": 2} and
            scan.get("score", 0) > intel.get("score", 0) > 0 and
            scan.get("score", 0) > flood.get("score", 0) > 0 and
            ips.index("203.0.113.77") < min(ips.index("203.0.113.78"), ips.index("203.0.113.80")),
            "%s: a scanner of 1,200 hosts outranks one severity-1 alert: %s / %s / %s" % (
                label, scan, intel, flood))
    t.check(intel.get("indicators") == {"203.0.113.78": 80} and intel.get("role") == "attacker",
            "%s: the intel match's indicator: %s" % (label, intel))
    refl = [by.get("192.0.2.201", {}), by.get("192.0.2.202", {})]
    t.check(all(r.get("role") == "reflector" and r.get("packets") == 3000 and r.get("alerts") == 1
                for r in refl) and scan.get("role") == "attacker",
            "%s: reflector-only sources: %s" % (label, refl))
    # A reflector scores half what an attacker with the same evidence does.
    twin = by.get("192.0.2.203", {})
    t.check(twin.get("role") == "attacker" and
            abs(2 * refl[0].get("score", 0) - twin.get("score", 0)) <= 0.2,
            "%s: reflectors score half: %s / %s" % (label, refl[0], twin))
    brute = by.get("203.0.113.79", {})
    t.check(brute.get("packets") == 3000 and brute.get("sessions") == 200 and
            brute.get("alerts") == 2 and brute.get("first_seen") == "2026-11-23T00:00:06.000000Z",
            "%s: an escalation does not count its chain twice: %s" % (label, brute))
    own = [by.get("198.51.100.91", {}).get("packets"), by.get("198.51.100.92", {}).get("packets")]
    t.check(own == [900, 100], "%s: named flood sources credited with their own packets: %s" %
            (label, own))
    c2 = by.get("185.0.2.66", {})
    t.check(c2.get("victims") == 1 and c2.get("indicators") == {"ind-c2": 90} and
            "10.7.0.9" not in by, "%s: a C2 server named as the attacker: %s" % (label, c2))
    t.check("score" in src.get("ranking", "") and "docs/detect.md" in src.get("ranking", ""),
            "%s: the ranking names its rule: %s" % (label, src.get("ranking")))
    scores = [s["score"] for s in src["sources"]]
    t.check(scores == sorted(scores, reverse=True), "%s: sources by score: %s" % (label, scores))
    # evidence.attackers is checked like every field the tower keeps.
    for bad, key in (([5, -1], "attacker_packets"), ("12", "attacker_packets")):
        st, e, _ = tw.call("POST", "/api/v1/alerts", {"alerts": [dict(batch[1], alert_id="bad",
                                                                  evidence={key: bad})]}, rk)
        t.check(st == 422 and [f["field"] for f in e["error"]["fields"]] ==
                ["alerts[0].evidence.attacker_packets"],
                "%s: attacker_packets %r: %s %s" % (label, bad, st, e))
    for bad in (["203.0.113.1", 5], "203.0.113.1", ["not an address"], ["203.0.113.1,10.0.0.1"]):
        st, e, _ = tw.call("POST", "/api/v1/alerts", {"alerts": [dict(batch[1], alert_id="bad",
                                                                  evidence={"attackers": bad})]}, rk)
        t.check(st == 422 and [f["field"] for f in e["error"]["fields"]] ==
                ["alerts[0].evidence.attackers"], "%s: attackers %r: %s %s" % (label, bad, st, e))


def downgrade_to_v6(store):
    """Takes the database back to schema v6, alerts and all: what a tower
    from before the shared ranking left (v25's latest alerts, v24's counts, v23's and v22's indexes, v21's key
    records, v20's jobs, v19's certificates, v18's collection numbers, v17's
    alert hours, v16's sessions, v13's TAXII, v12's authorizations, v11's
    cases, v10's batches, v9's log and v8's asset marks go first)."""
    sql = ["ALTER TABLE source_stats DROP COLUMN recent_alerts",
           "DELETE FROM schema_migrations WHERE version = 25"]
    sql += ["DROP TABLE report_counts", "DROP TABLE case_counts", "DROP INDEX reports_due_detailed",
           "DROP INDEX reports_due_final", "DELETE FROM schema_migrations WHERE version = 24"]
    sql += ["DROP INDEX alert_batches_sensor", "DELETE FROM schema_migrations WHERE version = 23"]
    sql += ["DROP INDEX alerts_forged", "DELETE FROM schema_migrations WHERE version = 22"]
    sql += ["DROP INDEX idempotency_created", "ALTER TABLE idempotency DROP COLUMN record_id",
           "DELETE FROM schema_migrations WHERE version = 21"]
    sql += ["DROP TABLE jobs", "DELETE FROM schema_migrations WHERE version = 20"]
    sql += ["DROP TABLE user_certificates", "DELETE FROM schema_migrations WHERE version = 19"]
    sql += ["DELETE FROM schema_migrations WHERE version = 18"]
    sql += ["DROP TABLE alert_hours", "DELETE FROM schema_migrations WHERE version = 17"]
    sql += ["DROP TABLE %s" % t for t in ("sessions", "user_preferences", "user_passwords")]
    sql += ["DELETE FROM schema_migrations WHERE version = 16"]
    sql += ["DROP TABLE stix_deletions", "DELETE FROM schema_migrations WHERE version = 15"]
    sql += ["DROP TABLE taxii_state", "DELETE FROM schema_migrations WHERE version = 14"]
    sql += ["DROP TABLE %s" % t for t in ("stix_objects", "taxii_status", "taxii_access",
                                          "taxii_collections")]
    sql += ["DELETE FROM schema_migrations WHERE version = 13"]
    sql += ["DROP TABLE %s" % t for t in ("authorization_decisions", "authorizations")]
    sql += ["DELETE FROM schema_migrations WHERE version = 12"]
    sql += ["DROP TABLE %s" % t for t in ("case_decisions", "case_evidence", "cases",
                                          "countermeasure_state")]
    sql += ["DELETE FROM schema_migrations WHERE version = 11"]
    sql += ["DROP TABLE log_cosignatures", "DROP TABLE alert_batches", "DROP INDEX alerts_batch",
           "ALTER TABLE alerts DROP COLUMN batch_id",
           "DELETE FROM schema_migrations WHERE version = 10"]
    sql += ["DROP TABLE %s" % t for t in ("log_entries", "log_leaves", "log_hashes",
                                          "log_checkpoints", "log_state")]
    sql += ["DELETE FROM schema_migrations WHERE version = 9"]
    sql += ["DROP INDEX alerts_asset", "DROP TABLE asset_addresses", "DROP TABLE asset_hits"]
    sql += ["ALTER TABLE alerts DROP COLUMN %s" % c for c in ("asset_id", "asset_org_id")]
    sql += ["DELETE FROM schema_migrations WHERE version = 8"]
    sql += ["DROP INDEX source_stats_rank"]
    sql += ["ALTER TABLE alerts DROP COLUMN %s" % c for c in (
        "attackers", "attacker_role", "detector", "hosts", "ports", "sessions", "packets",
        "window_start", "indicator", "confidence", "attacker_packets")]
    sql += ["ALTER TABLE source_stats DROP COLUMN %s" % c for c in (
        "hosts", "ports", "sessions", "packets", "named_attacker", "detectors", "indicators",
        "score_x10")]
    sql += ["CREATE INDEX source_stats_rank ON source_stats ((CASE WHEN severity IS NULL THEN 1 "
            "ELSE 0 END), severity, victims DESC, alerts DESC, src_ip)",
            "DELETE FROM schema_migrations WHERE version = 7"]
    if store.startswith("postgres"):
        subprocess.run(["psql", store, "-q", "-v", "ON_ERROR_STOP=1", "-c",
                        "; ".join(sql)], check=True)
    else:
        with sqlite3.connect(store) as db:
            for q in sql:
                db.execute(q)


def run(t, tw, label):
    A = tw.admin
    ok = lambda st, want, what: t.check(st == want, "%s: %s: status %s, wanted %s" % (
        label, what, st, want))
    # Organisations in two sectors, and their people.
    st, o1, _ = tw.call("POST", "/api/v1/orgs", {"name": "Tokyo Power", "sector": "electricity"}, A)
    ok(st, 201, "org 1")
    st, o2, _ = tw.call("POST", "/api/v1/orgs", {"name": "Osaka Water", "sector": "water"}, A)
    ok(st, 201, "org 2")
    st, e, _ = tw.call("POST", "/api/v1/orgs", {"name": "Tokyo Power", "sector": "electricity"}, A)
    ok(st, 409, "duplicate org")
    st, e, _ = tw.call("POST", "/api/v1/orgs", {"name": "X", "sector": "space"}, A)
    ok(st, 422, "unknown sector")
    t.check(any(f["field"] == "sector" for f in e["error"].get("fields", [])), "sector named")

    def user(name, role, **kw):
        st, u, _ = tw.call("POST", "/api/v1/users", dict(name=name, role=role, **kw), A)
        ok(st, 201, "user " + name)
        st, tk, _ = tw.call("POST", "/api/v1/tokens", {"user_id": u["id"]}, A)
        ok(st, 201, "token " + name)
        return tk["token"], tk["id"]

    def sources(token, query=""):
        """/sources once the summary holds every stored alert: it folds them
        in as it answers, but on PostgreSQL waits out the ids of a batch
        still in flight, or of one that failed, for a second or two."""
        deadline = time.time() + 15
        while True:
            st, src, _ = tw.call("GET", "/api/v1/sources" + query, token=token)
            if st != 200 or src.get("pending_alerts") == 0 or time.time() > deadline:
                return st, src
            time.sleep(0.2)

    op1, _ = user("op1", "operator", org_id=o1["id"])
    op2, _ = user("op2", "operator", org_id=o2["id"])
    reg_e, _ = user("meti", "regulator", sectors=["electricity"])
    analyst, _ = user("analyst", "analyst")
    overseer, _ = user("overseer", "overseer")
    auditor, _ = user("auditor", "auditor")
    sensor, sensor_tid = user("sensor1", "sensor")

    # Reports: prompt, validation, idempotency.
    st, e, _ = tw.call("POST", "/api/v1/reports", {"category": "aliens", "severity": "x"}, op1)
    ok(st, 422, "invalid report")
    fields = {f["field"] for f in e["error"].get("fields", [])}
    t.check({"category", "severity", "summary", "detected_at"} <= fields, "%s: fields %s" % (label, fields))
    st, r1, h = tw.call("POST", "/api/v1/reports", report_body(), op1, {"Idempotency-Key": "k1"})
    ok(st, 201, "prompt report")
    t.check(h.get("Location") == "/api/v1/reports/%d" % r1["id"], "Location header")
    t.check(r1["next_due"] == "2026-11-23T00:00:00.000000Z", "%s: next due %s" % (label, r1["next_due"]))
    st, again, h = tw.call("POST", "/api/v1/reports", report_body(), op1, {"Idempotency-Key": "k1"})
    t.check(st == 201 and again["id"] == r1["id"] and h.get("Idempotent-Replayed") == "true",
            "%s: retried POST returns the first result" % label)
    st, e, _ = tw.call("POST", "/api/v1/reports", report_body(summary="other"), op1,
                       {"Idempotency-Key": "k1"})
    ok(st, 422, "Idempotency-Key reused for another body")
    st, r2, _ = tw.call("POST", "/api/v1/reports", report_body(category="ransomware"), op2)
    ok(st, 201, "org 2 report")
    # Stages.
    detailed = report_body(technical_details={"indicators": {"addresses": ["203.0.113.5",
                                                                           "198.51.100.7"]},
                                              "attack_vector": "exposed VPN"},
                           affected_computers=[{"description": "portal front-end"}])
    st, e, _ = tw.call("POST", "/api/v1/reports/%d/versions" % r1["id"],
                       {"stage": "detailed", "report": report_body()}, op1)
    ok(st, 422, "detailed without details")
    st, v2, _ = tw.call("POST", "/api/v1/reports/%d/versions" % r1["id"],
                        {"stage": "detailed", "report": detailed}, op1)
    ok(st, 201, "detailed version")
    t.check(v2.get("version") == 2, "version 2")
    st, e, _ = tw.call("POST", "/api/v1/reports/%d/versions" % r1["id"],
                       {"stage": "prompt", "report": report_body()}, op1)
    ok(st, 409, "stage going back")
    st, e, _ = tw.call("POST", "/api/v1/reports/%d/versions" % r1["id"], {"stage": "closed"}, op1)
    ok(st, 409, "close before final")
    final = dict(detailed, response_taken="blocked at the edge",
                 impact={"users_affected": 1200, "outage_minutes": 45})
    st, v3, _ = tw.call("POST", "/api/v1/reports/%d/versions" % r1["id"],
                        {"stage": "final", "report": final}, op1)
    ok(st, 201, "final version")
    st, c, _ = tw.call("POST", "/api/v1/reports/%d/versions" % r1["id"], {"stage": "closed"}, op1)
    ok(st, 200, "close")
    st, shown, _ = tw.call("GET", "/api/v1/reports/%d" % r1["id"], token=op1)
    ok(st, 200, "show")
    t.check(shown["stage"] == "closed" and [v["version"] for v in shown["versions"]] == [1, 2, 3]
            and shown["report"]["response_taken"] == "blocked at the edge",
            "%s: every version kept: %s" % (label, [v["version"] for v in shown.get("versions", [])]))
    # Who sees what.
    st, e, _ = tw.call("GET", "/api/v1/reports/%d" % r2["id"], token=op1)
    ok(st, 404, "operator reading another organisation's report")
    st, e, _ = tw.call("POST", "/api/v1/reports/%d/versions" % r2["id"],
                       {"stage": "detailed", "report": detailed}, op1)
    ok(st, 404, "operator changing another organisation's report")
    st, lst, _ = tw.call("GET", "/api/v1/reports", token=op1)
    t.check([r["id"] for r in lst["reports"]] == [r1["id"]], "%s: op1 lists its own" % label)
    st, lst, _ = tw.call("GET", "/api/v1/reports", token=reg_e)
    t.check([r["id"] for r in lst["reports"]] == [r1["id"]], "%s: regulator sees its sector" % label)
    st, e, _ = tw.call("GET", "/api/v1/reports/%d" % r2["id"], token=reg_e)
    ok(st, 404, "regulator reading another sector")
    st, lst, _ = tw.call("GET", "/api/v1/reports", token=analyst)
    t.check(sorted(r["id"] for r in lst["reports"]) == sorted([r1["id"], r2["id"]]),
            "%s: analyst sees all" % label)
    st, od, _ = tw.call("GET", "/api/v1/reports?overdue=true", token=analyst)
    t.check([r["id"] for r in od["reports"]] == [r2["id"]] and od["reports"][0]["overdue"] and
            od["reports"][0]["overdue_by_seconds"] > 0, "%s: overdue %s" % (label, od))
    st, al, _ = tw.call("GET", "/api/v1/reports?overdue=false", token=analyst)
    t.check(st == 200 and len(al["reports"]) > len(od["reports"]), "%s: overdue=false lists all: %s" %
            (label, st))
    for v in ("yes", "1", "", "TRUE"):
        st, e, _ = tw.call("GET", "/api/v1/reports?overdue=" + v, token=analyst)
        t.check(st == 400 and e["error"]["code"] == "bad_query",
                "%s: ?overdue=%s refused, not ignored: %s %s" % (label, v, st, e))
    # Assets.
    st, a1, _ = tw.call("POST", "/api/v1/assets", {"product": "SCADA HMI", "version": "4.2",
                                                   "role": "control", "location": "Chiba"}, op1)
    ok(st, 201, "asset")
    st, al, _ = tw.call("GET", "/api/v1/assets", token=op2)
    t.check(al["assets"] == [], "%s: org 2 does not see org 1's assets" % label)
    # Sensor alerts, stored once.
    alerts = [{"timestamp": "2026-11-22T00:00:0%d.000000+0000" % i, "event_type": "alert",
               "src_ip": "203.0.113.%d" % (5 + i % 2), "src_port": 40000 + i,
               "dest_ip": "10.0.0.%d" % (i + 1), "dest_port": 22, "proto": "TCP",
               "alert": {"signature_id": 9100001, "signature": "YAGURA SCAN", "severity": 2}}
              for i in range(6)]
    st, res, _ = tw.call("POST", "/api/v1/alerts", {"alerts": alerts}, sensor)
    t.check(st == 200 and res == {"accepted": 6, "duplicates": 0}, "%s: alerts %s %s" % (label, st, res))
    st, res, _ = tw.call("POST", "/api/v1/alerts", {"alerts": alerts[:4]}, sensor)
    t.check(st == 200 and res == {"accepted": 0, "duplicates": 4}, "%s: retried alerts %s" % (label, res))
    st, e, _ = tw.call("POST", "/api/v1/alerts", {"alerts": [{"no": "alert"}]}, sensor)
    ok(st, 422, "malformed alert")
    st, e, _ = tw.call("POST", "/api/v1/alerts", {"alerts": [dict(alerts[0], src_port="22")]}, sensor)
    t.check(st == 422 and [f["field"] for f in e["error"]["fields"]] == ["alerts[0].src_port"],
            "%s: a bad field is named: %s" % (label, e))
    st, e, _ = tw.call("POST", "/api/v1/alerts", b'{"alerts": [{"timestamp": "', sensor)
    t.check(st == 400 and e["error"]["code"] == "bad_json", "%s: truncated batch: %s %s" % (label, st, e))
    st, src = sources(analyst)
    t.check([s["ip"] for s in src["sources"]] == ["203.0.113.5", "203.0.113.6", "198.51.100.7"] and
            src["sources"][0]["victims"] == 3, "%s: sources %s" % (label, src))
    # A sensor of the water operator sees an intel match from .6; the
    # electricity operator's report named .5 and 198.51.100.7.
    wsensor, _ = user("water-sensor", "sensor", org_id=o2["id"])
    st, res, _ = tw.call("POST", "/api/v1/alerts", {"alerts": [dict(
        alerts[1], alert_id="w-1", dest_ip="10.9.0.1",
        alert={"signature_id": 9700001, "signature": "YAGURA INTEL traffic with a known-bad address",
               "severity": 1})]}, wsensor)
    t.check(st == 200 and res["accepted"] == 1, "%s: second sensor %s" % (label, res))
    st, src = sources(analyst)
    by = {s["ip"]: s for s in src.get("sources", [])}
    six, five, rep = by.get("203.0.113.6", {}), by.get("203.0.113.5", {}), by.get("198.51.100.7", {})
    t.check([s["ip"] for s in src["sources"]][0] == "203.0.113.6" and six.get("severity") == 1 and
            six.get("indicator_matches") == 1 and six.get("sensors") == 2 and
            six.get("sectors") == ["water"] and six.get("victims") == 4 and six.get("alerts") == 4,
            "%s: intel match from a sector's sensor ranks first: %s" % (label, six))
    t.check(five.get("reports") == 1 and five.get("sectors") == ["electricity"] and
            five["evidence"]["reports"] == [r1["id"]] and
            five["evidence"]["signatures"] == [{"signature_id": 9100001, "signature": "YAGURA SCAN",
                                                "alerts": 3}],
            "%s: evidence behind .5: %s" % (label, five))
    t.check(rep.get("alerts") == 0 and rep.get("reports") == 1 and rep.get("severity") is None and
            rep.get("first_seen") == "2026-11-20T00:00:00.000000Z",
            "%s: a source only a report names: %s" % (label, rep))
    st, src = sources(analyst, "?limit=1")
    t.check(len(src["sources"]) == 1, "%s: ?limit" % label)
    st, e, _ = tw.call("GET", "/api/v1/sources?limit=0", token=analyst)
    ok(st, 400, "bad limit")
    # A batch that mixes stored alerts, new ones and one sent twice stores
    # each new alert once (PostgreSQL's COPY refuses it; the fallback runs).
    rsensor, _ = user("retry-sensor", "sensor")
    xs = [dict(alerts[0], alert_id="x-%d" % i, src_ip="192.0.2.9") for i in range(6)]
    st, res, _ = tw.call("POST", "/api/v1/alerts", {"alerts": xs[1:4]}, rsensor)
    t.check(st == 200 and res == {"accepted": 3, "duplicates": 0}, "%s: x batch %s" % (label, res))
    mixed = [xs[2], xs[4], xs[4], xs[5]]
    st, res, _ = tw.call("POST", "/api/v1/alerts", {"alerts": mixed}, rsensor)
    t.check(st == 200 and res == {"accepted": 2, "duplicates": 2}, "%s: mixed batch %s" % (label, res))
    st, res, _ = tw.call("POST", "/api/v1/alerts", {"alerts": mixed}, rsensor)
    t.check(st == 200 and res == {"accepted": 0, "duplicates": 4}, "%s: mixed again %s" % (label, res))
    st, src = sources(analyst)
    t.check({s["ip"]: s["alerts"] for s in src["sources"]}.get("192.0.2.9") == 5,
            "%s: five x alerts stored: %s" % (label, src))
    ranking(t, tw, label, user, sources, analyst)
    # Every route against every role: allowed ones never 403, the rest always 403.
    _, throwaway = user("throwaway", "auditor")
    tokens = {"admin": A, "operator": op1, "regulator": reg_e, "analyst": analyst,
              "overseer": overseer, "auditor": auditor, "sensor": sensor}
    matrix = [  # method, path, body, roles allowed
        ("POST", "/api/v1/orgs", {"name": "N%s", "sector": "gas"}, {"admin"}),
        ("GET", "/api/v1/orgs", None, {"admin"}),
        ("POST", "/api/v1/users", {"name": "u%s", "role": "auditor"}, {"admin"}),
        ("POST", "/api/v1/tokens", {"user_id": 1}, {"admin"}),
        ("PUT", "/api/v1/users/1/certificate", {"fingerprint": None}, {"admin"}),
        ("POST", "/api/v1/reports", report_body(), {"operator"}),
        ("GET", "/api/v1/reports", None, {"operator", "regulator", "analyst", "overseer"}),
        ("GET", "/api/v1/reports/%d" % r1["id"], None, {"operator", "regulator", "analyst", "overseer"}),
        ("POST", "/api/v1/reports/%d/versions" % r2["id"], {"stage": "closed"}, {"operator"}),
        ("POST", "/api/v1/assets", {"product": "PLC"}, {"operator"}),
        ("GET", "/api/v1/assets", None, {"operator", "regulator", "analyst"}),
        ("POST", "/api/v1/alerts", {"alerts": alerts[:1]}, {"sensor"}),
        ("GET", "/api/v1/alerts", None, {"operator", "regulator", "analyst", "overseer"}),
        ("GET", "/api/v1/sources", None, {"analyst", "overseer"}),
        ("DELETE", "/api/v1/tokens/%d" % throwaway, None, {"admin"}),
        ("GET", "/log/checkpoint", None, {"auditor", "overseer"}),
        ("GET", "/log/tile/0/000.p/1", None, {"auditor", "overseer"}),
        ("GET", "/log/tile/entries/000.p/1", None, {"auditor", "overseer"}),
        ("POST", "/api/v1/log/checkpoint", None, {"auditor", "overseer"}),
        ("GET", "/api/v1/log/inclusion?index=0", None, {"auditor", "overseer"}),
        ("GET", "/api/v1/log/consistency?from=1", None, {"auditor", "overseer"}),
        ("POST", "/api/v1/log/cosignature", None, {"auditor"}),
        ("POST", "/api/v1/cases", {"action": "rtbh"}, {"analyst"}),
        ("GET", "/api/v1/cases", None, {"analyst", "overseer", "auditor"}),
        ("GET", "/api/v1/cases/1", None, {"analyst", "overseer", "auditor"}),
        ("POST", "/api/v1/cases/1/approve", {"reason": "x"}, {"overseer"}),
        ("POST", "/api/v1/cases/1/reject", {"reason": "x"}, {"overseer"}),
        ("POST", "/api/v1/cases/1/withdraw", {"reason": "x"}, {"analyst"}),
        ("POST", "/api/v1/cases/1/revoke", {"reason": "x"}, {"analyst", "overseer"}),
        ("POST", "/api/v1/sources/192.0.2.1/case", {"action": "rtbh"}, {"analyst"}),
        ("GET", "/api/v1/countermeasures/rpz.zone", None,
         {"analyst", "overseer", "auditor", "sensor"}),
        ("GET", "/api/v1/oversight/summary?year=2026", None, {"analyst", "overseer", "auditor"}),
        ("GET", "/api/v1/countermeasures/notices/1.txt", None,
         {"analyst", "overseer", "auditor", "sensor"}),
        ("GET", "/api/v1/taxii/collections", None, {"analyst", "admin"}),
        ("POST", "/api/v1/taxii/collections", {"alias": "m-%s", "title": "T"}, {"analyst", "admin"}),
        ("GET", "/api/v1/taxii/collections/6b6e0ee2-5b1a-5d5e-9c5e-3f2b7c1a0001", None,
         {"analyst", "admin"}),
        ("PATCH", "/api/v1/taxii/collections/6b6e0ee2-5b1a-5d5e-9c5e-3f2b7c1a0001",
         {"title": "Warnings"}, {"analyst", "admin"}),
        ("PUT", "/api/v1/taxii/collections/00000000-0000-0000-0000-000000000000/access",
         {"rules": []}, {"analyst", "admin"}),
    ]
    for method, path, body, allowed in matrix:
        for role, tok in tokens.items():
            b = json.loads(json.dumps(body).replace("%s", role)) if body else None
            st, _, _ = tw.call(method, path, b, tok)
            if role in allowed:
                t.check(st != 403 and st < 500, "%s: %s %s as %s: %s" % (label, method, path, role, st))
            else:
                t.check(st == 403, "%s: %s %s as %s must be 403, got %s" % (label, method, path, role, st))
        st, _, _ = tw.call(method, path, body)
        t.check(st == 401, "%s: %s %s without a token: %s" % (label, method, path, st))
    # Revoked tokens stop working; bad tokens are 401.
    sensor2, _ = user("sensor2", "sensor")
    st, _, _ = tw.call("DELETE", "/api/v1/tokens/%d" % sensor_tid, token=A)
    ok(st, 204, "revoke")
    st, _, h = tw.call("POST", "/api/v1/alerts", {"alerts": alerts[:1]}, sensor)
    t.check(st == 401 and "Bearer" in (h.get("WWW-Authenticate") or ""), "%s: revoked token" % label)
    st, _, _ = tw.call("GET", "/api/v1/reports", token="ygt_" + "A" * 43)
    ok(st, 401, "unknown token")
    # Bad input: not JSON, wrong content type, unknown route.
    st, e, _ = tw.call("POST", "/api/v1/reports", b"{not json", op1)
    ok(st, 400, "bad JSON")
    st, e, _ = tw.call("GET", "/api/v1/nothing", token=op1)
    ok(st, 404, "unknown route")
    # Over the 4 MiB cap: answered 413 from the headers, before any body.
    import socket
    with socket.create_connection(("127.0.0.1", tw.port), timeout=10) as sk:
        sk.sendall(("POST /api/v1/alerts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                    "Content-Type: application/json\r\nContent-Length: 50000000\r\n\r\n" %
                    sensor2).encode())
        head = sk.recv(4096).decode(errors="replace")
    t.check(head.split("\r\n")[0].startswith("HTTP/1.1 413"),
            "%s: oversized body: %r" % (label, head[:80]))
    st, e, _ = tw.call("POST", "/api/v1/reports", b'{"category": "ddos", "summ', op1)
    ok(st, 400, "truncated JSON")
    # The OpenAPI document describes every route the matrix exercised.
    st, doc, _ = tw.call("GET", "/api/v1/openapi.json")
    t.check(st == 200 and doc.get("openapi", "").startswith("3."), "%s: openapi.json" % label)
    for method, path, _, _ in matrix:
        templ = path.split("?")[0]
        for seg in templ.split("/"):
            if seg.isdigit():
                templ = templ.replace("/" + seg, "/{id}", 1)
        if path.startswith("/log/tile/"):
            templ = "/log/tile/{path}"
        if path.startswith("/api/v1/sources/"):
            templ = "/api/v1/sources/{ip}/case"
        if path.startswith("/api/v1/countermeasures/"):
            templ = "/api/v1/countermeasures/{name}"
        if path.startswith("/api/v1/countermeasures/notices/"):
            templ = "/api/v1/countermeasures/notices/{file}"
        if path.startswith("/api/v1/taxii/collections/"):
            templ = "/api/v1/taxii/collections/{id}" + path[len("/api/v1/taxii/collections/") + 36:]
        t.check(method.lower() in doc.get("paths", {}).get(templ, {}),
                "%s: %s %s missing from openapi.json" % (label, method, templ))
    sources(analyst)  # the summary has every alert: its lag in /metrics is 0
    st, m, _ = tw.call("GET", "/metrics")
    t.check("yagura_sources_pending_alerts 0\n" in m and
            "yagura_sources_rollup_failures_total 0\n" in m, "%s: summary lag metrics" % label)
    t.check(st == 200 and 'route="/api/v1/reports"' in m and "yagura_http_request_duration_seconds" in m,
            "%s: metrics" % label)
    t.check('yagura_store_seconds_count{op="report_create"}' in m and
            'yagura_store_seconds_bucket{op="auth",le="0.01"}' in m, "%s: store timings" % label)
    # Queue depth: nothing is waiting for the store once every answer is in.
    t.check('yagura_store_pending{op="alerts_insert"} 0\n' in m and
            'yagura_store_pending{op="report_create"} 0\n' in m, "%s: store queue depth" % label)
    stored = [l for l in m.splitlines() if l.startswith("yagura_alerts_stored_total")]
    t.check(stored and float(stored[0].split()[-1]) >= 6, "%s: alerts stored counter %s" % (label, stored))
    # A database from before schema v7 migrates: its summary starts over and
    # the alerts stored then are ranked from their bodies as they would be now.
    st, before = sources(analyst, "?limit=1000")
    t.check(tw.stop() == 0, "%s: stop before the downgrade" % label)
    downgrade_to_v6(tw.store)
    tw.start()
    st, after = sources(analyst, "?limit=1000")
    t.check(st == 200 and after.get("pending_alerts") == 0 and
            after.get("sources") == before.get("sources") and len(before.get("sources", [])) > 10,
            "%s: v6 to v7: %s" % (label, [(a.get("ip"), b.get("ip"), a.get("score"), b.get("score"))
                                     for a, b in zip(before.get("sources", []),
                                                     after.get("sources", [])) if a != b][:5]))


def main():
    a = common.parse_args()
    t = common.Checker("tower")
    stores = []
    with tempfile.TemporaryDirectory() as d:
        stores.append(("sqlite", os.path.join(d, "tower.db")))
        pg = pg_url(a.yagura)
        if pg:
            stores.append(("postgres", fresh_pg_db(pg, "tower_api")))
        else:
            t.check(False, "no PostgreSQL: the pg fixture (scripts/pg-test.sh) must run first")
        for label, store in stores:
            tw = Tower(a.yagura, store, d)
            try:
                run(t, tw, label)
            finally:
                rc = tw.stop()
            t.check(rc == 0, "%s: tower exit %d on SIGTERM" % (label, rc))
            out = subprocess.run([a.yagura, "admin", "init", "--store", store], capture_output=True,
                                 text=True)
            t.check(out.returncode == 2 and "admin exists" in out.stderr,
                    "%s: second admin init refused" % label)
    t.finish()


main()
