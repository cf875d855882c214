"""The authorization matrix, generated from the route table (issue 18):
`yagura tower --routes` lists every route the tower serves; each must have
a row below saying which roles may call it, and each row must name a
route that exists: a route added without a row, or a row left behind,
fails here. Every row is then called as every role (and with no token):
a role the row allows is never refused (no 401 or 403: it may still get
404 for an id that does not exist, or 400 for a body that is not one),
and a role it does not allow gets 403; without a token, 401 (open routes
excepted). Then own and other organisation: an operator reads, updates and
sees the alerts and assets of its own organisation and never another's.

The rows state the policy of docs/tower.md ("People and machines") as
this test's own table, not read from the tower: changing who may do what
takes changing both."""
import json
import os
import subprocess
import tempfile

import common
from towerlib import Tower

ROLES = ("admin", "operator", "regulator", "analyst", "overseer", "auditor", "sensor")
ANY = set(ROLES)
TAXII = {"operator", "regulator", "analyst", "overseer", "sensor"}
UUID = "00000000-0000-4000-8000-000000000000"
COLL = "/taxii2/api/collections/%s" % UUID

# (method, pattern) -> (path, body, roles allowed); None: open to all.
ROWS = {
    ("POST", "/api/v1/orgs"): ("/api/v1/orgs", {"name": "N-%(role)s", "sector": "gas"}, {"admin"}),
    ("GET", "/api/v1/orgs"): ("/api/v1/orgs", None, {"admin"}),
    ("POST", "/api/v1/users"): ("/api/v1/users", {"name": "u-%(role)s", "role": "auditor"}, {"admin"}),
    ("GET", "/api/v1/users"): ("/api/v1/users", None, {"admin"}),
    ("PUT", "/api/v1/users/{id}/certificate"): ("/api/v1/users/999999/certificate",
                                                {"fingerprint": None}, {"admin"}),
    ("PUT", "/api/v1/users/{id}/password"): ("/api/v1/users/999999/password",
                                             {"password": "correct horse battery"}, {"admin"}),
    ("POST", "/api/v1/tokens"): ("/api/v1/tokens", {"user_id": 999999}, {"admin"}),
    ("DELETE", "/api/v1/tokens/{id}"): ("/api/v1/tokens/999999", None, {"admin"}),
    ("POST", "/api/v1/reports"): ("/api/v1/reports", {}, {"operator"}),
    ("GET", "/api/v1/reports"): ("/api/v1/reports", None,
                                 {"operator", "regulator", "analyst", "overseer"}),
    ("GET", "/api/v1/reports/{id}"): ("/api/v1/reports/999999", None,
                                      {"operator", "regulator", "analyst", "overseer"}),
    ("POST", "/api/v1/reports/{id}/versions"): ("/api/v1/reports/999999/versions",
                                                {"stage": "closed"}, {"operator"}),
    ("POST", "/api/v1/reports/{id}/share"): ("/api/v1/reports/999999/share", {}, {"analyst"}),
    ("POST", "/api/v1/assets"): ("/api/v1/assets", {}, {"operator"}),
    ("GET", "/api/v1/assets"): ("/api/v1/assets", None, {"operator", "regulator", "analyst"}),
    ("POST", "/api/v1/alerts"): ("/api/v1/alerts", {"alerts": []}, {"sensor"}),
    ("GET", "/api/v1/alerts"): ("/api/v1/alerts", None,
                                {"operator", "regulator", "analyst", "overseer"}),
    ("GET", "/api/v1/sources"): ("/api/v1/sources", None, {"analyst", "overseer"}),
    ("POST", "/api/v1/sources/{ip}/case"): ("/api/v1/sources/192.0.2.1/case", {}, {"analyst"}),
    ("GET", "/api/v1/overview"): ("/api/v1/overview", None,
                                  {"operator", "regulator", "analyst", "overseer", "auditor"}),
    ("GET", "/api/v1/oversight/summary"): ("/api/v1/oversight/summary", None,
                                           {"analyst", "overseer", "auditor"}),
    ("GET", "/api/v1/cases"): ("/api/v1/cases", None, {"analyst", "overseer", "auditor"}),
    ("GET", "/api/v1/cases/{id}"): ("/api/v1/cases/999999", None,
                                    {"analyst", "overseer", "auditor"}),
    ("POST", "/api/v1/cases"): ("/api/v1/cases", {}, {"analyst"}),
    ("POST", "/api/v1/cases/{id}/approve"): ("/api/v1/cases/999999/approve", {"reason": "x"},
                                             {"overseer"}),
    ("POST", "/api/v1/cases/{id}/reject"): ("/api/v1/cases/999999/reject", {"reason": "x"},
                                            {"overseer"}),
    ("POST", "/api/v1/cases/{id}/withdraw"): ("/api/v1/cases/999999/withdraw", {"reason": "x"},
                                              {"analyst"}),
    ("POST", "/api/v1/cases/{id}/revoke"): ("/api/v1/cases/999999/revoke", {"reason": "x"},
                                            {"analyst", "overseer"}),
    ("GET", "/api/v1/countermeasures/{name}"): ("/api/v1/countermeasures/nothing", None,
                                                {"analyst", "overseer", "auditor", "sensor"}),
    ("GET", "/api/v1/countermeasures/notices/{file}"): ("/api/v1/countermeasures/notices/none",
                                                        None, {"analyst", "overseer", "auditor",
                                                               "sensor"}),
    ("POST", "/api/v1/monitoring/authorizations"): ("/api/v1/monitoring/authorizations", {},
                                                    {"analyst"}),
    ("GET", "/api/v1/monitoring/authorizations"): ("/api/v1/monitoring/authorizations", None,
                                                   {"analyst", "overseer", "auditor", "sensor"}),
    ("GET", "/api/v1/monitoring/authorizations/active"): (
        "/api/v1/monitoring/authorizations/active", None,
        {"analyst", "overseer", "auditor", "sensor"}),
    ("GET", "/api/v1/monitoring/authorizations/{id}"): (
        "/api/v1/monitoring/authorizations/999999", None,
        {"analyst", "overseer", "auditor", "sensor"}),
    ("POST", "/api/v1/monitoring/authorizations/{id}/approve"): (
        "/api/v1/monitoring/authorizations/999999/approve", {"reason": "x"}, {"overseer"}),
    ("POST", "/api/v1/monitoring/authorizations/{id}/reject"): (
        "/api/v1/monitoring/authorizations/999999/reject", {"reason": "x"}, {"overseer"}),
    ("POST", "/api/v1/monitoring/authorizations/{id}/withdraw"): (
        "/api/v1/monitoring/authorizations/999999/withdraw", {"reason": "x"}, {"analyst"}),
    ("POST", "/api/v1/monitoring/authorizations/{id}/revoke"): (
        "/api/v1/monitoring/authorizations/999999/revoke", {"reason": "x"},
        {"analyst", "overseer"}),
    ("GET", "/log/key"): ("/log/key", None, None),
    ("GET", "/log/checkpoint"): ("/log/checkpoint", None, {"auditor", "overseer"}),
    ("GET", "/log/tile/{path...}"): ("/log/tile/0/000.p/1", None, {"auditor", "overseer"}),
    ("POST", "/api/v1/log/checkpoint"): ("/api/v1/log/checkpoint", None, {"auditor", "overseer"}),
    ("GET", "/api/v1/log/inclusion"): ("/api/v1/log/inclusion?index=0", None,
                                       {"auditor", "overseer"}),
    ("GET", "/api/v1/log/consistency"): ("/api/v1/log/consistency?from=1", None,
                                         {"auditor", "overseer"}),
    ("POST", "/api/v1/log/cosignature"): ("/api/v1/log/cosignature", None, {"auditor"}),
    ("GET", "/api/v1/taxii/collections"): ("/api/v1/taxii/collections", None,
                                           {"analyst", "admin"}),
    ("POST", "/api/v1/taxii/collections"): ("/api/v1/taxii/collections", {}, {"analyst", "admin"}),
    ("GET", "/api/v1/taxii/collections/{id}"): ("/api/v1/taxii/collections/%s" % UUID, None,
                                                {"analyst", "admin"}),
    ("PATCH", "/api/v1/taxii/collections/{id}"): ("/api/v1/taxii/collections/%s" % UUID, {},
                                                  {"analyst", "admin"}),
    ("PUT", "/api/v1/taxii/collections/{id}/access"): (
        "/api/v1/taxii/collections/%s/access" % UUID, {}, {"analyst", "admin"}),
    ("GET", "/taxii2/"): ("/taxii2/", None, TAXII),
    ("GET", "/taxii2/api/"): ("/taxii2/api/", None, TAXII),
    ("GET", "/taxii2/api/collections/"): ("/taxii2/api/collections/", None, TAXII),
    ("GET", "/taxii2/api/collections/{id}/"): (COLL + "/", None, TAXII),
    ("GET", "/taxii2/api/collections/{id}/objects/"): (COLL + "/objects/", None, TAXII),
    ("POST", "/taxii2/api/collections/{id}/objects/"): (COLL + "/objects/", {"objects": []},
                                                        TAXII),
    ("GET", "/taxii2/api/collections/{id}/objects/{object_id}/"): (
        COLL + "/objects/indicator--%s/" % UUID, None, TAXII),
    ("DELETE", "/taxii2/api/collections/{id}/objects/{object_id}/"): (
        COLL + "/objects/indicator--%s/" % UUID, None, TAXII),
    ("GET", "/taxii2/api/collections/{id}/objects/{object_id}/versions/"): (
        COLL + "/objects/indicator--%s/versions/" % UUID, None, TAXII),
    ("GET", "/taxii2/api/collections/{id}/manifest/"): (COLL + "/manifest/", None, TAXII),
    ("GET", "/taxii2/api/status/{status_id}/"): ("/taxii2/api/status/%s/" % UUID, None, TAXII),
    ("GET", "/taxii2/api/status/{status_id}"): ("/taxii2/api/status/%s" % UUID, None, TAXII),
    # Any principal: its own session, preferences and password (a sensor
    # has no password).
    ("GET", "/api/v1/session"): ("/api/v1/session", None, ANY),
    ("DELETE", "/api/v1/session"): ("/api/v1/session", None, ANY),
    ("PUT", "/api/v1/session/preferences"): ("/api/v1/session/preferences", {}, ANY),
    ("POST", "/api/v1/session/password"): ("/api/v1/session/password", {},
                                           ANY - {"sensor"}),
    # Open: logging in, the API's description, the dashboard's files.
    ("POST", "/api/v1/session"): ("/api/v1/session", {"name": "login-%(role)s",
                                                      "password": "correct horse battery"}, None),
    ("GET", "/api/v1/openapi.json"): ("/api/v1/openapi.json", None, None),
    ("GET", "/"): ("/", None, None),
    ("GET", "/{path...}"): ("/nothing-here.js", None, None),
}

TAXII_MEDIA = "application/taxii+json;version=2.1"


def main():
    a = common.parse_args()
    t = common.Checker("authz")
    p = subprocess.run([a.yagura, "tower", "--routes"], capture_output=True, text=True)
    t.check(p.returncode == 0, "yagura tower --routes: exit %d %s" % (p.returncode, p.stderr))
    served = {}
    for line in p.stdout.splitlines():
        method, pattern, how = line.split()
        served[(method, pattern)] = how
    t.check(len(served) > 60, "%d routes served" % len(served))
    missing = sorted(set(served) - set(ROWS))
    stale = sorted(set(ROWS) - set(served))
    t.check(not missing, "routes without a row in the matrix: %s" % missing)
    t.check(not stale, "rows for routes the tower does not serve: %s" % stale)
    for key, how in served.items():
        if key in ROWS:
            t.check((ROWS[key][2] is None) == (how == "open"),
                    "%s %s is %s; the matrix says %s" % (key + (how, "open" if ROWS[key][2]
                                                             is None else "auth")))
    with tempfile.TemporaryDirectory() as d:
        tw = Tower(a.yagura, os.path.join(d, "t.db"), d)
        try:
            run(t, tw)
        finally:
            tw.stop()
    t.finish()


def headers_for(path):
    return {"Accept": TAXII_MEDIA} if path.startswith("/taxii2/") else {}


def call(tw, method, path, body, token):
    h = headers_for(path)
    if body is not None and path.startswith("/taxii2/"):
        h["Content-Type"] = TAXII_MEDIA
        body = json.dumps(body).encode()
    return tw.call(method, path, body, token, headers=h)


def run(t, tw):
    A = tw.admin
    st, orga, _ = tw.call("POST", "/api/v1/orgs", {"name": "Grid A", "sector": "electricity"}, A)
    st, orgb, _ = tw.call("POST", "/api/v1/orgs", {"name": "Grid B", "sector": "electricity"}, A)
    tokens = {"admin": A}

    def user(name, role, org=None):
        body = {"name": name, "role": role}
        if org is not None:
            body["org_id"] = org
        if role == "regulator":
            body["sectors"] = ["electricity"]
        st, u, _ = tw.call("POST", "/api/v1/users", body, A)
        st, tk, _ = tw.call("POST", "/api/v1/tokens", {"user_id": u["id"]}, A)
        return tk["token"]

    for role in ROLES[1:]:
        tokens[role] = user(role, role, orga["id"] if role == "operator" else None)
    other = user("operator-b", "operator", orgb["id"])
    # People who log in with a password, one per call of the open login
    # route below (a name tried too often is slowed down).
    for role in list(ROLES) + ["None"]:
        st, u, _ = tw.call("POST", "/api/v1/users", {"name": "login-%s" % role,
                                                      "role": "auditor"}, A)
        st, _, _ = tw.call("PUT", "/api/v1/users/%d/password" % u["id"],
                           {"password": "correct horse battery"}, A)

    refused = 0
    for (method, pattern), (path, body, allowed) in sorted(ROWS.items()):
        for role, tok in tokens.items():
            b = json.loads(json.dumps(body) % {"role": role}) if body is not None else None
            st, ans, _ = call(tw, method, path, b, tok)
            if allowed is None or role in allowed:
                t.check(st not in (401, 403) and st < 500,
                        "%s %s as %s: allowed, got %s %s" % (method, path, role, st,
                                                            str(ans)[:200]))
            else:
                refused += 1
                t.check(st == 403, "%s %s as %s: must be 403, got %s" % (method, path, role, st))
        b = json.loads(json.dumps(body) % {"role": "None"}) if body is not None else None
        st, _, _ = call(tw, method, path, b, None)
        t.check(st != 401 if allowed is None else st == 401,
                "%s %s without a token: %s" % (method, path, st))
    print("authz: %d routes x %d roles, %d refusals checked" % (len(ROWS), len(tokens), refused))

    # Own and other organisation.
    op = tokens["operator"]
    st, rep, _ = tw.call("POST", "/api/v1/reports", {
        "category": "malware", "summary": "own", "severity": "low",
        "detected_at": "2026-11-22T00:00:00Z"}, op)
    t.check(st == 201, "operator files a report: %s" % st)
    st, _, _ = tw.call("GET", "/api/v1/reports/%d" % rep["id"], token=op)
    t.check(st == 200, "its own organisation's report: %s" % st)
    st, _, _ = tw.call("GET", "/api/v1/reports/%d" % rep["id"], token=other)
    t.check(st in (403, 404), "another organisation's report is not read: %s" % st)
    st, lst, _ = tw.call("GET", "/api/v1/reports", token=other)
    t.check(st == 200 and all(r["id"] != rep["id"] for r in lst.get("reports", [])),
            "nor listed: %s" % st)
    st, _, _ = tw.call("POST", "/api/v1/reports/%d/versions" % rep["id"], {"stage": "closed"},
                       other)
    t.check(st in (403, 404), "nor updated: %s" % st)
    st, _, _ = tw.call("POST", "/api/v1/reports/%d/versions" % rep["id"], {"stage": "closed"}, op)
    t.check(st not in (401, 403, 404), "its own is (or is refused for its stage): %s" % st)
    st, asset, _ = tw.call("POST", "/api/v1/assets", {"product": "PLC",
                                                       "addresses": ["10.9.0.0/24"]}, op)
    t.check(st == 201, "operator registers an asset: %s %s" % (st, asset))
    st, lst, _ = tw.call("GET", "/api/v1/assets", token=other)
    t.check(st == 200 and not any(x.get("id") == asset.get("id")
                                  for x in lst.get("assets", [])),
            "another organisation's assets are not listed: %s" % st)
    alert = {"alert_id": "authz-1", "timestamp": "2026-11-22T00:00:00.000000+0000",
             "src_ip": "198.51.100.9", "dest_ip": "10.9.0.5",
             "alert": {"signature_id": 9100001, "severity": 2}}
    st, _, _ = tw.call("POST", "/api/v1/alerts", {"alerts": [alert]}, tokens["sensor"])
    t.check(st == 200, "the sensor posts an alert against the asset: %s" % st)
    st, mine, _ = tw.call("GET", "/api/v1/alerts", token=op)
    st2, theirs, _ = tw.call("GET", "/api/v1/alerts", token=other)
    ids = lambda x: [r.get("alert_id") for r in (x or {}).get("alerts", [])]  # noqa: E731
    t.check(st == 200 and "authz-1" in ids(mine), "the alert against its asset: %s" % ids(mine))
    t.check(st2 == 200 and "authz-1" not in ids(theirs),
            "not another organisation's: %s" % ids(theirs))


main()
