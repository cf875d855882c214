"""People in a browser (issue 15), on SQLite and PostgreSQL: an admin sets
a password; a user logs in and gets an HttpOnly, SameSite=Strict session
cookie and a CSRF token; reads work with the cookie alone, changes only
with the CSRF token too (and a refused change stores nothing); language
and time zone are kept per user; a password change ends the sessions
opened before it; logout ends the session; guessing a password is slowed
to a stop; every one of these changes is in the transparency log, and
audit verify finds the store as the log says. The dashboard's files are
served at / with their types and a Content-Security-Policy, and no path
leads out of the web root."""
import http.client
import json
import os
import re
import sqlite3
import subprocess
import tempfile

import common
from towerlib import Tower, both_stores

REPORT = {"category": "ddos", "summary": "SYN flood on the billing portal",
          "detected_at": "2026-12-06T09:00:00+09:00", "severity": "high"}


def call(tw, method, path, body=None, cookie=None, csrf=None, token=None):
    """(status, JSON or text, headers as a list of pairs)."""
    c = http.client.HTTPConnection("127.0.0.1", tw.port, timeout=30)
    h = {}
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    if cookie:
        h["Cookie"] = "yagura_session=" + cookie
    if csrf:
        h["X-CSRF-Token"] = csrf
    if token:
        h["Authorization"] = "Bearer " + token
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    raw = r.read()
    hdrs = r.getheaders()
    c.close()
    try:
        return r.status, json.loads(raw) if raw else None, hdrs
    except ValueError:
        return r.status, raw, hdrs


def set_cookie(hdrs):
    """The session cookie's value and attributes, from Set-Cookie."""
    for k, v in hdrs:
        if k.lower() == "set-cookie" and v.startswith("yagura_session="):
            parts = [p.strip() for p in v.split(";")]
            return parts[0].split("=", 1)[1], parts[1:]
    return None, []


def entries(tw, label):
    """The kinds and 'by' lines of the log's entries (SQLite only)."""
    if label != "sqlite":
        return None
    db = sqlite3.connect(tw.store)
    out = [bytes(e).decode() for (e,) in db.execute("SELECT entry FROM log_entries ORDER BY seq")]
    db.close()
    return out


def run(t, tw, label, yagura, webroot):
    A = tw.admin
    st, org, _ = call(tw, "POST", "/api/v1/orgs", {"name": "Kanto Power", "sector":
                                                  "electricity"}, token=A)
    st, u, _ = call(tw, "POST", "/api/v1/users", {"name": "tanaka", "role": "operator",
                                                 "org_id": org["id"]}, token=A)
    uid = u["id"]
    sensor = tw.token_for("sensor1", "sensor")
    st, users, _ = call(tw, "GET", "/api/v1/users?name=sensor1", token=A)
    sid = users["users"][0]["id"] if st == 200 and users["users"] else 0
    analyst = tw.token_for("analyst1", "analyst")
    pw = "correct horse battery staple"

    # The admin sets the password; nobody else may, and it must be one.
    st, e, _ = call(tw, "PUT", "/api/v1/users/%d/password" % uid, {"password": pw},
                    token=analyst)
    t.check(st == 403, "%s: an analyst setting a password: %s" % (label, st))
    st, e, _ = call(tw, "PUT", "/api/v1/users/%d/password" % uid, {"password": "short"}, token=A)
    t.check(st == 422 and e["error"]["fields"][0]["field"] == "password",
            "%s: a short password: %s %s" % (label, st, e))
    st, e, _ = call(tw, "PUT", "/api/v1/users/%d/password" % sid, {"password": pw}, token=A)
    t.check(st == 422 and "sensor" in e["error"]["fields"][0]["reason"],
            "%s: a sensor's password: %s %s" % (label, st, e))
    st, e, _ = call(tw, "PUT", "/api/v1/users/99999/password", {"password": pw}, token=A)
    t.check(st == 404, "%s: no such user: %s" % (label, st))
    pwfile = os.path.join(os.path.dirname(tw.logpath), label + ".pw")
    with open(pwfile, "w") as f:
        f.write(pw + "\n")
    p = subprocess.run([yagura, "admin", "user", "password", str(uid), "--password-file", pwfile,
                        "--tower", "http://127.0.0.1:%d" % tw.port],
                       env=dict(os.environ, YAGURA_TOKEN=A), capture_output=True, text=True)
    t.check(p.returncode == 0, "%s: admin user password: %d %s" % (label, p.returncode, p.stderr))
    st, lst, _ = call(tw, "GET", "/api/v1/users", token=A)
    mine = [x for x in lst.get("users", []) if x["id"] == uid]
    t.check(st == 200 and mine and mine[0]["has_password"] and
            all("password" not in k or k == "has_password" for k in mine[0]),
            "%s: the users' list says who has a password, not the password: %s" % (label, mine))

    # Logging in.
    st, e, _ = call(tw, "POST", "/api/v1/session", {"name": "tanaka", "password": "wrong one!!!"})
    t.check(st == 401 and e["error"]["code"] == "bad_credentials",
            "%s: a wrong password: %s %s" % (label, st, e))
    st, e2, _ = call(tw, "POST", "/api/v1/session", {"name": "nobody", "password": pw})
    t.check(st == 401 and e2 == e, "%s: an unknown name, the same answer: %s %s" % (label, st, e2))
    st, e, _ = call(tw, "POST", "/api/v1/session", {"name": "tanaka", "password": pw, "x": 1})
    t.check(st == 422, "%s: an unknown field in a login: %s" % (label, st))
    st, e, _ = call(tw, "POST", "/api/v1/session", b'{"name": "tanaka", "password": ')
    t.check(st == 400, "%s: a login that is not JSON: %s" % (label, st))
    for bad in ({"name": "tanaka", "password": "x" * 1025}, {"name": "n" * 201, "password": pw},
                {"name": 7, "password": pw}, {"name": "tanaka"}, [1, 2]):
        st, e, _ = call(tw, "POST", "/api/v1/session", bad)
        t.check(st == 422 and "user" not in (e if isinstance(e, dict) else {}),
                "%s: a login %s: %s %s" % (label, str(bad)[:40], st, e))
    st, e, _ = call(tw, "PUT", "/api/v1/users/%d/password" % uid, {"password": "p" * 1025},
                    token=A)
    t.check(st == 422, "%s: an oversized password: %s" % (label, st))
    st, s, h = call(tw, "POST", "/api/v1/session", {"name": "tanaka", "password": pw})
    cookie, attrs = set_cookie(h)
    t.check(st == 201 and cookie and cookie.startswith("ygs_") and "HttpOnly" in attrs and
            "SameSite=Strict" in attrs and "Path=/" in attrs and
            re.fullmatch("[0-9a-f]{64}", s.get("csrf", "")) and
            s["user"]["role"] == "operator" and s["user"]["org"]["name"] == "Kanto Power" and
            s["user"]["language"] == "ja" and s["user"]["time_zone"] == "Asia/Tokyo",
            "%s: login: %s %s %s" % (label, st, s, attrs))
    csrf = s.get("csrf")
    st, g, _ = call(tw, "GET", "/api/v1/session", cookie=cookie)
    t.check(st == 200 and g.get("csrf") == csrf and g["user"]["id"] == uid and "expires" in g,
            "%s: the session, read back: %s %s" % (label, st, g))
    st, g, _ = call(tw, "GET", "/api/v1/session")
    t.check(st == 401, "%s: no cookie, no session: %s" % (label, st))
    st, g, _ = call(tw, "GET", "/api/v1/session", cookie="ygs_" + "A" * 43)
    t.check(st == 401, "%s: a made-up session: %s" % (label, st))

    # Reads with the cookie; changes with the CSRF token as well.
    st, r, _ = call(tw, "GET", "/api/v1/reports", cookie=cookie)
    t.check(st == 200, "%s: reading reports with the cookie: %s" % (label, st))
    before = len(r.get("reports", [])) if st == 200 else -1
    st, e, _ = call(tw, "POST", "/api/v1/reports", REPORT, cookie=cookie)
    t.check(st == 403 and e["error"]["code"] == "csrf_failed",
            "%s: a change without the CSRF token: %s %s" % (label, st, e))
    st, e, _ = call(tw, "POST", "/api/v1/reports", REPORT, cookie=cookie, csrf="0" * 64)
    t.check(st == 403 and e["error"]["code"] == "csrf_failed",
            "%s: a change with another CSRF token: %s %s" % (label, st, e))
    st, r, _ = call(tw, "GET", "/api/v1/reports", cookie=cookie)
    t.check(len(r.get("reports", [])) == before, "%s: the refused changes stored nothing" % label)
    st, rep, _ = call(tw, "POST", "/api/v1/reports", REPORT, cookie=cookie, csrf=csrf)
    t.check(st == 201, "%s: a report filed in a session: %s %s" % (label, st, rep))
    st, e, _ = call(tw, "GET", "/api/v1/reports/%d" % rep.get("id", 0), token=analyst)
    t.check(st == 200, "%s: ... and the analyst reads it: %s" % (label, st))

    # The list's filters, each refused when it names nothing the tower knows.
    for q, want in (("stage=prompt", 1), ("stage=final", 0), ("sector=electricity", 1),
                    ("sector=water", 0), ("category=ddos&severity=high", 1),
                    ("category=ddos&severity=low", 0)):
        st, r, _ = call(tw, "GET", "/api/v1/reports?" + q, token=analyst)
        t.check(st == 200 and len(r["reports"]) == want,
                "%s: reports?%s: %s %s" % (label, q, st, r))
    for q in ("stage=bogus", "sector=atlantis", "category=ddos%27--", "severity="):
        st, r, _ = call(tw, "GET", "/api/v1/reports?" + q, token=analyst)
        t.check(st == 400 and r["error"]["code"] == "bad_query",
                "%s: reports?%s refused: %s %s" % (label, q, st, r))

    # Preferences.
    for bad in ({"language": "fr"}, {"time_zone": "../../etc/passwd"}, {"time_zone": "Mars/Olympus"},
                {"time_zone": 9}, {}, {"language": "en", "colour": "blue"}):
        st, e, _ = call(tw, "PUT", "/api/v1/session/preferences", bad, cookie=cookie, csrf=csrf)
        t.check(st == 422, "%s: preferences %s: %s %s" % (label, bad, st, e))
    st, e, _ = call(tw, "PUT", "/api/v1/session/preferences", {"language": "en"}, cookie=cookie)
    t.check(st == 403, "%s: preferences without the CSRF token: %s" % (label, st))
    st, pu, _ = call(tw, "PUT", "/api/v1/session/preferences",
                     {"language": "en", "time_zone": "Europe/Paris"}, cookie=cookie, csrf=csrf)
    st2, g, _ = call(tw, "GET", "/api/v1/session", cookie=cookie)
    t.check(st == 200 and pu["language"] == "en" and g["user"]["time_zone"] == "Europe/Paris" and
            g["user"]["language"] == "en", "%s: preferences kept: %s %s %s" % (label, st, pu, g))
    st, pu, _ = call(tw, "PUT", "/api/v1/session/preferences", {"time_zone": "Asia/Tokyo"},
                     token=analyst)
    t.check(st == 200 and pu["language"] == "ja" and pu["time_zone"] == "Asia/Tokyo",
            "%s: an API token's user sets its own: %s %s" % (label, st, pu))

    # A second session; a password change ends both, and goes on in a new one.
    st, s2, h = call(tw, "POST", "/api/v1/session", {"name": "tanaka", "password": pw})
    other, _ = set_cookie(h)
    st, e, _ = call(tw, "POST", "/api/v1/session/password", {"current": "not it at all",
                                                            "new": pw + "!"},
                    cookie=cookie, csrf=csrf)
    t.check(st == 422 and e["error"]["fields"][0]["field"] == "current",
            "%s: a wrong current password: %s %s" % (label, st, e))
    st, e, _ = call(tw, "POST", "/api/v1/session/password", {"current": pw, "new": "tiny"},
                    cookie=cookie, csrf=csrf)
    t.check(st == 422 and e["error"]["fields"][0]["field"] == "new",
            "%s: too short a new password: %s %s" % (label, st, e))
    pw2 = pw + " and more"
    st, s3, h = call(tw, "POST", "/api/v1/session/password", {"current": pw, "new": pw2},
                     cookie=cookie, csrf=csrf)
    new_cookie, _ = set_cookie(h)
    t.check(st == 200 and new_cookie and new_cookie != cookie and s3.get("csrf") not in (None, csrf),
            "%s: password changed, a new session: %s %s" % (label, st, s3))
    for name, c in (("the session that changed it", cookie), ("the other", other)):
        st, _, _ = call(tw, "GET", "/api/v1/session", cookie=c)
        t.check(st == 401, "%s: %s ended with the change: %s" % (label, name, st))
    st, g, _ = call(tw, "GET", "/api/v1/session", cookie=new_cookie)
    t.check(st == 200, "%s: the new session works: %s" % (label, st))
    st, e, _ = call(tw, "POST", "/api/v1/session", {"name": "tanaka", "password": pw})
    t.check(st == 401, "%s: the old password is gone: %s" % (label, st))

    # Logout.
    st, e, _ = call(tw, "DELETE", "/api/v1/session", cookie=new_cookie)
    t.check(st == 403, "%s: logout without the CSRF token: %s" % (label, st))
    st, e, h = call(tw, "DELETE", "/api/v1/session", cookie=new_cookie, csrf=s3.get("csrf"))
    val, attrs = set_cookie(h)
    t.check(st == 204 and val == "" and "Max-Age=0" in attrs,
            "%s: logout clears the cookie: %s %s" % (label, st, attrs))
    st, e, _ = call(tw, "GET", "/api/v1/reports", cookie=new_cookie)
    t.check(st == 401, "%s: after logout the cookie is nothing: %s" % (label, st))
    st, e, _ = call(tw, "DELETE", "/api/v1/session", token=analyst)
    t.check(st == 400 and e["error"]["code"] == "not_a_session",
            "%s: an API token does not log out: %s %s" % (label, st, e))

    # Guessing: five failures and the name waits, the right password too;
    # another name does not.
    for _ in range(5):
        call(tw, "POST", "/api/v1/session", {"name": "tanaka", "password": "guess number n"})
    st, e, h = call(tw, "POST", "/api/v1/session", {"name": "tanaka", "password": pw2})
    after = dict((k.lower(), v) for k, v in h).get("retry-after", "0")
    t.check(st == 429 and e["error"]["code"] == "too_many_attempts" and int(after) > 0,
            "%s: the sixth try waits: %s %s %s" % (label, st, e, after))
    st, u2, _ = call(tw, "POST", "/api/v1/users", {"name": "sato", "role": "regulator",
                                                  "sectors": ["electricity"]}, token=A)
    call(tw, "PUT", "/api/v1/users/%d/password" % u2["id"], {"password": pw}, token=A)
    st, s4, _ = call(tw, "POST", "/api/v1/session", {"name": "sato", "password": pw})
    t.check(st == 201 and s4["user"]["sectors"] == ["electricity"] and s4["user"]["org"] is None,
            "%s: another name logs in meanwhile: %s %s" % (label, st, s4))

    # The overview: each part over the caller's scope, or not at all.
    op_tok = None
    st, tk, _ = call(tw, "POST", "/api/v1/tokens", {"user_id": uid}, token=A)
    op_tok = tk.get("token")
    st, asset, _ = call(tw, "POST", "/api/v1/assets", {"product": "SCADA HMI", "addresses":
                                                      ["10.7.0.0/24"]}, token=op_tok)
    now = "2026-12-06T00:00:00.000000+0000"
    batch = [{"alert_id": "ov-%d" % i, "timestamp": now, "event_type": "alert",
              "src_ip": "203.0.113.9", "dest_ip": dst, "proto": "TCP",
              "alert": {"signature_id": 9100001, "signature": "YAGURA scan", "severity": 2,
                        "metadata": {"detector": ["scan"]}},
              "evidence": {"attackers": ["203.0.113.9"]}}
             for i, dst in enumerate(["10.7.0.2", "10.7.0.3", "192.0.2.50"])]
    st, res, _ = call(tw, "POST", "/api/v1/alerts", {"alerts": batch}, token=sensor)
    t.check(st in (200, 201), "%s: the sensor's batch: %s %s" % (label, st, res))
    st, ov, _ = call(tw, "GET", "/api/v1/overview?days=2", token=analyst)
    counts = ov.get("alerts", {}).get("counts", []) if st == 200 else []
    sens = [x for x in ov.get("sensors", []) if x["name"] == "sensor1"] if st == 200 else []
    t.check(st == 200 and ov["alerts"]["bucket"] == "hour" and 48 <= len(counts) <= 50 and
            sum(c["n"] for c in counts) == 3 and sens and sens[0]["alerts"] == 3 and
            sens[0]["batches"] == 1 and sens[0]["last_batch"] and ov["reports"]["total"] == 1 and
            ov["reports"]["by_sector_stage"] == [{"sector": "electricity", "stage": "prompt",
                                                  "count": 1}] and "cases" in ov,
            "%s: the analyst's overview: %s %s" % (label, st, ov))
    st, ov, _ = call(tw, "GET", "/api/v1/overview", token=op_tok)
    counts = ov.get("alerts", {}).get("counts", []) if st == 200 else []
    t.check(st == 200 and ov["alerts"]["bucket"] == "day" and
            sum(c["n"] for c in counts) == 2 and "sensors" not in ov and "cases" not in ov and
            ov["reports"]["total"] == 1,
            "%s: the operator's overview: its assets' alerts, its reports: %s %s" %
            (label, st, ov))
    st, ov, _ = call(tw, "GET", "/api/v1/overview?days=91", token=analyst)
    t.check(st == 400, "%s: ?days=91: %s" % (label, st))
    st, ov, _ = call(tw, "GET", "/api/v1/overview", token=sensor)
    t.check(st == 403, "%s: a sensor has no overview: %s" % (label, st))

    # The log has every change, said by whom; the store is as it says.
    log = entries(tw, label)
    if log is not None:
        kinds = [e.split("\n")[1] for e in log]
        t.check(kinds.count("kind user.password") == 3 and kinds.count("kind session.open") == 4 and
                kinds.count("kind session.close") == 1 and
                kinds.count("kind user.preferences") == 2,
                "%s: the log's entries: %s" % (label, kinds))
        rep_entry = [e for e in log if e.startswith("yagura-log/v1\nkind report.create")]
        t.check(rep_entry and re.search(r"\nby user %d session [0-9]+ role operator\n" % uid,
                                        rep_entry[-1]),
                "%s: the report's entry names the session: %r" % (label, rep_entry[-1:]))
        t.check(not any(pw in e or "argon2" in e for e in log),
                "%s: no password or hash in the log's entries" % label)
    st, vkey, _ = tw.call("GET", "/log/key")
    p = subprocess.run([yagura, "audit", "verify", "--key", vkey.strip(), "--store", tw.store],
                       capture_output=True, text=True, timeout=300)
    t.check(p.returncode == 0 and "rows are as the entries recorded them" in p.stdout,
            "%s: audit verify --store: %d\n%s%s" % (label, p.returncode, p.stdout, p.stderr))
    with open(tw.logpath) as f:
        t.check(pw not in f.read(), "%s: no password in the tower's log" % label)

    # The dashboard's files.
    st, body, h = call(tw, "GET", "/")
    hd = dict((k.lower(), v) for k, v in h)
    t.check(st == 200 and b"<title>yagura test</title>" in body and
            hd.get("content-type", "").startswith("text/html") and
            "default-src 'self'" in hd.get("content-security-policy", "") and
            hd.get("x-content-type-options") == "nosniff",
            "%s: / is the dashboard: %s %s" % (label, st, hd))
    st, body, h = call(tw, "GET", "/reports/42")
    t.check(st == 200 and b"yagura test" in body, "%s: a page is its index: %s" % (label, st))
    st, body, h = call(tw, "GET", "/assets/app-1234.js")
    hd = dict((k.lower(), v) for k, v in h)
    t.check(st == 200 and hd.get("content-type", "").startswith("text/javascript") and
            "immutable" in hd.get("cache-control", ""), "%s: an asset: %s %s" % (label, st, hd))
    for bad in ("/assets/../../secret.txt", "/%2e%2e/secret.txt", "/.hidden.txt", "/link.txt",
                "/assets/missing.js", "/secret.exe", "/api/v1/nothing-here"):
        st, body, h = call(tw, "GET", bad)
        t.check(st == 404 and b"TOP SECRET" not in (body if isinstance(body, bytes) else b""),
                "%s: %s is not served: %s" % (label, bad, st))


def make_webroot(d):
    root = os.path.join(d, "web")
    os.makedirs(os.path.join(root, "assets"))
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("<!doctype html><title>yagura test</title>")
    with open(os.path.join(root, "assets", "app-1234.js"), "w") as f:
        f.write("console.log('hi')")
    with open(os.path.join(root, ".hidden.txt"), "w") as f:
        f.write("TOP SECRET")
    with open(os.path.join(d, "secret.txt"), "w") as f:
        f.write("TOP SECRET")
    os.symlink(os.path.join(d, "secret.txt"), os.path.join(root, "link.txt"))
    return root


def main():
    a = common.parse_args()
    t = common.Checker("session")
    with tempfile.TemporaryDirectory() as d:
        webroot = make_webroot(d)
        for label, store in both_stores(t, a.yagura, d, "tower_session"):
            tw = Tower(a.yagura, store, d, extra=["--web", webroot])
            try:
                run(t, tw, label, a.yagura, webroot)
            finally:
                rc = tw.stop()
            t.check(rc == 0, "%s: tower exit %d on SIGTERM" % (label, rc))
    t.finish()


main()
