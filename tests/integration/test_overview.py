"""The overview's counts of reports and cases (issue 18), on SQLite and
PostgreSQL: kept as running counts since schema v24, they must equal a
count of the tables themselves after reports move through their stages
and close, cases are proposed, approved, rejected, withdrawn and revoked,
over every scope a caller may have; after the counts are rebuilt by the
migration from a store that had none; and after retention erases the
reports. Late reports are those waiting for a stage past its deadline."""
import os
import sqlite3
import subprocess
import tempfile
import time

import common
from towerlib import Tower, both_stores, metric, store_rows as rows

OLD = "2026-10-01T00:00:00Z"  # filed long after: late for every stage


def truth(store, now_us, sector=None, org=None):
    """The overview's reports and cases, counted from the tables."""
    where = ""
    if org is not None:
        where = " AND r.org_id = %d" % org
    elif sector is not None:
        where = " AND o.sector = '%s'" % sector
    by = rows(store, "SELECT o.sector, r.stage, COUNT(*) FROM reports r JOIN orgs o ON "
              "o.id = r.org_id WHERE 1 = 1%s GROUP BY o.sector, r.stage "
              "ORDER BY o.sector, r.stage" % where)
    late = rows(store, "SELECT COUNT(*) FROM reports r JOIN orgs o ON o.id = r.org_id WHERE "
                "((r.stage = 'prompt' AND r.due_detailed < %d) OR (r.stage = 'detailed' AND "
                "r.due_final < %d))%s" % (now_us, now_us, where))
    cases = dict((s, int(n)) for s, n in rows(store, "SELECT state, COUNT(*) FROM cases "
                                                     "GROUP BY state"))
    by = [{"sector": s, "stage": g, "count": int(n)} for s, g, n in by]
    return {"total": sum(x["count"] for x in by), "overdue": int(late[0][0]),
            "by_sector_stage": by}, cases


def check_all(t, tw, store, label, tokens, what):
    """The overview of each caller against the tables, as of its "now"."""
    for name, (tok, sector, org) in tokens.items():
        # The tower's scheduler activates approved cases meanwhile: the
        # tables are read before and after the overview, until both agree.
        # No deadline falls near now: each report was filed now or long ago.
        for _ in range(50):
            before = truth(store, int(time.time() * 1000000), sector, org)
            st, ov, _ = tw.call("GET", "/api/v1/overview", token=tok)
            after = truth(store, int(time.time() * 1000000), sector, org)
            if before == after:
                break
            time.sleep(0.2)
        if st != 200:
            t.check(False, "%s: %s: %s's overview: %s %s" % (label, what, name, st, ov))
            continue
        reps, cases = after
        t.check(ov["reports"] == reps, "%s: %s: %s's reports: %s, the tables say %s" %
                (label, what, name, ov["reports"], reps))
        if "cases" in ov:
            t.check(ov["cases"] == cases, "%s: %s: %s's cases: %s, the tables say %s" %
                    (label, what, name, ov["cases"], cases))


def full(body):
    """body with what the detailed and final stages ask for."""
    return dict(body, affected_computers=[{"description": "portal front-end"}],
                technical_details={"attack_vector": "exposed VPN"},
                response_taken="blocked at the edge", impact={"users_affected": 10})


def run(t, tw, store, label):
    A = tw.admin
    orgs, ops = {}, {}
    for name, sector in (("Grid", "electricity"), ("Waterworks", "water")):
        st, o, _ = tw.call("POST", "/api/v1/orgs", {"name": name, "sector": sector}, A)
        st, u, _ = tw.call("POST", "/api/v1/users", {"name": "op-" + sector, "role": "operator",
                                                      "org_id": o["id"]}, A)
        st, tk, _ = tw.call("POST", "/api/v1/tokens", {"user_id": u["id"]}, A)
        orgs[sector], ops[sector] = o["id"], tk["token"]
    st, u, _ = tw.call("POST", "/api/v1/users", {"name": "meti", "role": "regulator",
                                                  "sectors": ["water"]}, A)
    st, tk, _ = tw.call("POST", "/api/v1/tokens", {"user_id": u["id"]}, A)
    analyst = tw.token_for("analyst", "analyst")
    o1, o2 = tw.token_for("overseer1", "overseer"), tw.token_for("overseer2", "overseer")
    tokens = {"analyst": (analyst, None, None), "regulator": (tk["token"], "water", None),
              "grid operator": (ops["electricity"], None, orgs["electricity"])}

    check_all(t, tw, store, label, tokens, "empty")
    # Reports, some filed late, through their stages to closed.
    ids = {}
    for sector, n in (("electricity", 5), ("water", 4)):
        for i in range(n):
            body = {"category": "ddos", "summary": "%s %d" % (sector, i), "severity": "high",
                    "detected_at": OLD if i % 2 else time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                  time.gmtime())}
            st, r, _ = tw.call("POST", "/api/v1/reports", body, ops[sector])
            t.check(st == 201, "%s: report: %s %s" % (label, st, r))
            ids.setdefault(sector, []).append((r["id"], body))
    for sector, stages in (("electricity", ["detailed", "final", "closed"]),
                           ("water", ["detailed"])):
        rid, body = ids[sector][1]
        for stage in stages:
            req = {"stage": stage} if stage == "closed" else {"stage": stage,
                                                              "report": full(body)}
            st, ans, _ = tw.call("POST", "/api/v1/reports/%d/versions" % rid, req, ops[sector])
            t.check(st in (200, 201), "%s: %s to %s: %s %s" % (label, rid, stage, st, ans))
        rid, body = ids[sector][3]
        st, ans, _ = tw.call("POST", "/api/v1/reports/%d/versions" % rid,
                             {"stage": "detailed", "report": full(body)}, ops[sector])
        t.check(st == 201, "%s: %s to detailed: %s %s" % (label, rid, st, ans))
    # A refused step changes no count.
    rid, body = ids["water"][1]
    st, _, _ = tw.call("POST", "/api/v1/reports/%d/versions" % rid,
                       {"stage": "prompt", "report": body}, ops["water"])
    t.check(st == 409, "%s: a stage does not go back: %s" % (label, st))
    # Cases, each way a case may end.
    cids = []
    for i in range(6):
        st, c, _ = tw.call("POST", "/api/v1/cases", {
            "action": "rtbh", "target": "198.51.100.%d" % (10 + i), "justification": "overview",
            "duration": "1h"}, analyst)
        t.check(st == 201, "%s: case: %s %s" % (label, st, c))
        cids.append(c["case"]["id"])
    for cid, who, verb in ((cids[0], o1, "approve"), (cids[1], o1, "reject"),
                           (cids[2], analyst, "withdraw"), (cids[3], o1, "approve"),
                           (cids[3], analyst, "revoke"), (cids[4], o2, "approve")):
        st, ans, _ = tw.call("POST", "/api/v1/cases/%d/%s" % (cid, verb), {"reason": "test"}, who)
        t.check(st == 200, "%s: case %d %s: %s %s" % (label, cid, verb, st, ans))
    st, _, _ = tw.call("POST", "/api/v1/cases/%d/approve" % cids[1], {"reason": "again"}, o2)
    t.check(st == 409, "%s: a rejected case is not approved: %s" % (label, st))
    check_all(t, tw, store, label, tokens, "after the changes")
    # The tower's memory, on /metrics for the soak and for operators:
    # SQLite's within its bound (8 connections of 16 MiB, and statements).
    rss, used = metric(tw, "process_resident_memory_bytes"), metric(tw, "yagura_heap_bytes",
                                                                    'state="in_use"')
    sq = metric(tw, "yagura_store_memory_bytes")
    # (no heap figures where malloc is not glibc's: a sanitizer's)
    t.check(rss and rss > 1e6 and (used is None or used > 1e5) and
            (sq is None if label == "postgres" else 0 < sq < (used or rss) and
             sq < 8 * 17 * 2**20),
            "%s: memory on /metrics: rss %s, heap %s, sqlite %s" % (label, rss, used, sq))
    st, ov, _ = tw.call("GET", "/api/v1/overview", token=analyst)
    t.check(ov["reports"]["total"] == 9 and ov["reports"]["overdue"] > 0 and
            sum(ov["cases"].values()) == 6 and len(ov["cases"]) >= 4,
            "%s: the changes are in the overview: %s" % (label, ov))
    return tokens


def take_counts_away(store):
    """What a tower from before v24 left: no running counts (nor v25's
    latest alerts per source)."""
    for q in ("ALTER TABLE source_stats DROP COLUMN recent_alerts",
              "DELETE FROM schema_migrations WHERE version = 25", "DROP TABLE report_counts", "DROP TABLE case_counts",
              "DROP INDEX reports_due_detailed", "DROP INDEX reports_due_final",
              "DELETE FROM schema_migrations WHERE version = 24"):
        if store.startswith("postgres"):
            subprocess.run(["psql", store, "-q", "-v", "ON_ERROR_STOP=1", "-c", q], check=True)
        else:
            with sqlite3.connect(store) as db:
                db.execute(q)


def main():
    a = common.parse_args()
    t = common.Checker("overview")
    with tempfile.TemporaryDirectory() as d:
        ini = os.path.join(d, "tower.ini")
        with open(ini, "w") as f:
            f.write("[cases]\nlab_allow = 198.51.100.0/24\n")
        for label, store in both_stores(t, a.yagura, d, "tower_overview"):
            tw = Tower(a.yagura, store, d, extra=["--config", ini])
            try:
                tokens = run(t, tw, store, label)
            finally:
                t.check(tw.stop() == 0, "%s: tower exit on SIGTERM" % label)
            # The migration counts what a store without counts holds.
            take_counts_away(store)
            tw.start()
            try:
                check_all(t, tw, store, label, tokens, "counts rebuilt by v24")
            finally:
                tw.stop()
            # Retention erases every report: the counts go with them.
            with open(ini, "a") as f:
                f.write("\n[retention]\nkeep = 1s\ninterval = 1s\n")
            tw.start()
            try:
                deadline = time.time() + 30
                while time.time() < deadline and rows(store, "SELECT COUNT(*) FROM reports") != [("0",)]:
                    time.sleep(0.3)
                t.check(rows(store, "SELECT COUNT(*) FROM reports") == [("0",)],
                        "%s: retention erased the reports" % label)
                check_all(t, tw, store, label, tokens, "after retention")
                st, ov, _ = tw.call("GET", "/api/v1/overview", token=tokens["analyst"][0])
                t.check(ov["reports"] == {"total": 0, "overdue": 0, "by_sector_stage": []},
                        "%s: no report left to count: %s" % (label, ov.get("reports")))
            finally:
                tw.stop()
            with open(ini, "w") as f:
                f.write("[cases]\nlab_allow = 198.51.100.0/24\n")
    t.finish()


main()
