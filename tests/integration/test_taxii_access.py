"""TAXII collections and who reads and writes them, managed by the office
(issue 14, src/tower/collections.c, docs/sharing.md), on SQLite and
PostgreSQL.

An analyst makes a collection (an operator, a sensor or an auditor may
not) and gives one organisation's operators read: that organisation's
operator finds it in TAXII's /collections/ and reads its objects, another
organisation's gets 404. A write rule lets the organisation post, and the
status comes back. Whatever the rules say, TLP:AMBER+STRICT and TLP:RED
objects reach only analysts and the organisation that added them. Bad
input (an unknown role or organisation, a bad or taken alias, wrong types,
too many rules, unknown fields) is refused with a JSON reason and changes
nothing, not even the log. `yagura intel collections`, `collection-add`
and `access` do the same from a terminal. Every change is one entry in the
transparency log; the schema's collections are taken in once, at the
first start; `yagura audit verify --store` finds the store as the entries
say."""
import json
import os
import socket
import subprocess
import tempfile
import urllib.error
import urllib.request
import uuid

import common
from logdb import PgDB, SqliteDB
from towerlib import Tower, both_stores

TAXII = "application/taxii+json;version=2.1"
API = "/api/v1/taxii/collections"
WARNINGS = "6b6e0ee2-5b1a-5d5e-9c5e-3f2b7c1a0001"
TLP = {"green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
       "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
       "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
       "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"}


def taxii(tw, method, path, token, body=None):
    """(status, parsed body, headers) of one TAXII request."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (tw.port, path), data=data,
                                 method=method)
    req.add_header("Authorization", "Bearer " + token)
    req.add_header("Accept", TAXII)
    if data is not None:
        req.add_header("Content-Type", TAXII)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None, r.headers
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw), e.headers
        except ValueError:
            return e.code, raw.decode(errors="replace"), e.headers


def indicator(value, tlp):
    t = "2026-12-01T00:00:00.000Z"
    return {"type": "indicator", "spec_version": "2.1", "id": "indicator--%s" % uuid.uuid4(),
            "created": t, "modified": t, "name": "C2 %s" % value,
            "pattern": "[ipv4-addr:value = '%s']" % value, "pattern_type": "stix",
            "valid_from": t, "object_marking_refs": [TLP[tlp]]}


def run(t, tw, label, yagura, d, db):
    A = tw.admin
    analyst = tw.token_for("analyst1", "analyst")
    sensor = tw.token_for("sensor1", "sensor")
    auditor = tw.token_for("auditor1", "auditor")
    overseer = tw.token_for("overseer1", "overseer")
    orgs, ops = {}, {}
    for key, name, sector in (("a", "Kinki Water", "water"), ("b", "Chubu Gas", "gas")):
        st, o, _ = tw.call("POST", "/api/v1/orgs", {"name": name, "sector": sector}, A)
        st, u, _ = tw.call("POST", "/api/v1/users", {"name": "op" + key, "role": "operator",
                                                     "org_id": o["id"]}, A)
        st, tk, _ = tw.call("POST", "/api/v1/tokens", {"user_id": u["id"]}, A)
        orgs[key], ops[key] = o["id"], tk["token"]
    opA, opB = ops["a"], ops["b"]

    def entries():
        """The log's entries, as text, in the order they were taken."""
        return [bytes.fromhex(h).decode() for (h,) in
                db.rows("SELECT %s FROM log_entries ORDER BY seq" % db.hexof("entry"))]

    def listing(token=analyst):
        st, body, _ = tw.call("GET", API + "?limit=1000", token=token)
        return st, body

    def state():
        """What a refusal must leave as it was: every collection, its rules,
        and the log."""
        return listing()[1], len(entries())

    def colls(tok):
        st, c, _ = taxii(tw, "GET", "/taxii2/api/collections/", tok)
        return {x["alias"]: (x["can_read"], x["can_write"]) for x in c.get("collections", [])}

    def seen(tok, cid):
        """The values of the indicators tok reads in collection cid, or the status."""
        st, env, _ = taxii(tw, "GET", "/taxii2/api/collections/%s/objects/" % cid, tok)
        if st != 200:
            return st
        return sorted(o["pattern"].split("'")[1] for o in (env or {}).get("objects", []))

    # The schema's three collections were taken into the log at the start,
    # with their rules, and have numbers.
    st, lst = listing(A)
    t.check(st == 200 and [(c["alias"], c["number"]) for c in lst["collections"]] ==
            [("warnings", 1), ("indicators", 2), ("sightings", 3)] and not lst["more"],
            "%s: the admin lists the collections: %s %s" % (label, st, lst))
    warnings = lst["collections"][0] if st == 200 else {}
    t.check(warnings.get("rules") == [
        {"role": r, "org": None, "read": True, "write": r == "analyst"}
        for r in ("analyst", "operator", "overseer", "regulator")],
        "%s: the warnings' rules: %s" % (label, warnings))
    adopted = [e for e in entries() if "\nkind taxii.collection.adopt\n" in e]
    t.check(len(adopted) == 3 and all("\nby server\n" in e and "\nrow taxii_collections " in e
                                      and "\nrows taxii_access " in e for e in adopted),
            "%s: the schema's collections entered in the log: %s" % (label, adopted))

    # Only the office manages collections.
    body = {"alias": "water-ics", "title": "Water ICS"}
    for role, tok in (("operator", opA), ("sensor", sensor), ("auditor", auditor),
                      ("overseer", overseer)):
        for method, path, b in (("GET", API, None), ("POST", API, body),
                                ("PUT", API + "/%s/access" % WARNINGS, {"rules": []}),
                                ("PATCH", API + "/" + WARNINGS, {"title": "x"})):
            st, e, _ = tw.call(method, path, b, tok)
            t.check(st == 403 and e["error"]["code"] == "forbidden",
                    "%s: %s %s as %s: %s %s" % (label, method, path, role, st, e))
    st, e, _ = tw.call("POST", API, body)
    t.check(st == 401, "%s: without a token: %s" % (label, st))

    # An analyst makes a collection: the office's analysts read and write it.
    before = len(entries())
    st, c, h = tw.call("POST", API, dict(body, description="For the water sector's control\n"
                                         "systems"), analyst)
    coll = c.get("collection", {}) if st == 201 else {}
    cid = coll.get("id", "")
    t.check(st == 201 and coll["alias"] == "water-ics" and coll["number"] == 4 and
            uuid.UUID(cid).version == 5 and h.get("Location") == API + "/" + cid and
            coll["rules"] == [{"role": "analyst", "org": None, "read": True, "write": True}],
            "%s: a collection made: %s %s" % (label, st, c))
    log = entries()
    t.check(len(log) == before + 1 and "\nkind taxii.collection.create\nid 4\n" in log[-1] and
            " role analyst\n" in log[-1] and "\nrow taxii_collections 4 " in log[-1] and
            "\nrows taxii_access 4 1 " in log[-1], "%s: its entry: %r" % (label, log[-1:]))
    st, one, _ = tw.call("GET", API + "/" + cid, token=analyst)
    t.check(st == 200 and one["collection"] == coll, "%s: GET one: %s %s" % (label, st, one))
    t.check(colls(analyst).get("water-ics") == (True, True) and "water-ics" not in colls(opA),
            "%s: the analyst's, nobody else's: %s %s" % (label, colls(analyst), colls(opA)))
    st, e, _ = taxii(tw, "GET", "/taxii2/api/collections/%s/" % cid, opA)
    t.check(st == 404, "%s: not there for an operator yet: %s" % (label, st))
    # The admin too, and its retitling.
    st, c2, _ = tw.call("POST", API, {"alias": "admin-made", "title": "By the admin"}, A)
    t.check(st == 201 and c2["collection"]["number"] == 5, "%s: the admin makes one: %s %s" %
            (label, st, c2))
    st, c3, _ = tw.call("PATCH", API + "/" + c2["collection"]["id"],
                        {"title": "Retitled", "description": "now described"}, A)
    t.check(st == 200 and c3["collection"]["title"] == "Retitled" and
            c3["collection"]["description"] == "now described" and
            "\nkind taxii.collection.update\nid 5\n" in entries()[-1],
            "%s: retitled: %s %s" % (label, st, c3))

    # Organisation A's operators read it (named by name), B's do not.
    analysts = {"role": "analyst", "read": True, "write": True}
    st, c, _ = tw.call("PUT", API + "/%s/access" % cid, {"rules": [
        analysts, {"role": "operator", "org": "Kinki Water", "read": True}]}, analyst)
    t.check(st == 200 and c["collection"]["rules"] == [
        dict(analysts, org=None), {"role": "operator", "org": orgs["a"], "read": True,
                                   "write": False}],
        "%s: A's operators read it: %s %s" % (label, st, c))
    t.check("\nkind taxii.collection.access\nid 4\n" in entries()[-1] and
            "\nrows taxii_access 4 2 " in entries()[-1], "%s: the access entry: %r" %
            (label, entries()[-1]))
    t.check(colls(opA).get("water-ics") == (True, False) and "water-ics" not in colls(opB),
            "%s: A sees it, B does not: %s %s" % (label, colls(opA), colls(opB)))
    st, env, _ = taxii(tw, "GET", "/taxii2/api/collections/%s/objects/" % cid, opA)
    t.check(st == 200, "%s: A reads its objects: %s %s" % (label, st, env))
    for path in ("", "objects/", "manifest/"):
        st, e, _ = taxii(tw, "GET", "/taxii2/api/collections/%s/%s" % (cid, path), opB)
        t.check(st == 404, "%s: B: %s: %s" % (label, path or "the collection", st))
    st, e, _ = taxii(tw, "POST", "/taxii2/api/collections/%s/objects/" % cid, opA,
                     {"objects": [indicator("198.51.100.1", "green")]})
    t.check(st == 403, "%s: A may not write yet: %s" % (label, st))

    # The analyst posts one object of each TLP: the rules give A read, the
    # TLP rule still keeps the strict ones from it.
    objs = [indicator("198.51.100.%d" % (i + 1), k) for i, k in enumerate(TLP)]
    st, s, _ = taxii(tw, "POST", "/taxii2/api/collections/%s/objects/" % cid, analyst,
                     {"objects": objs})
    t.check(st == 202 and s["success_count"] == 4, "%s: the analyst posts: %s %s" % (label, st, s))
    t.check(seen(opA, cid) == ["198.51.100.1", "198.51.100.2"],
            "%s: A reads green and amber, not the analyst's amber+strict and red: %s" %
            (label, seen(opA, cid)))

    # A write rule for A (by id), read for B: A posts, its status comes back.
    st, c, _ = tw.call("PUT", API + "/%s/access" % cid, {"rules": [
        analysts, {"role": "operator", "org": orgs["a"], "read": True, "write": True},
        {"role": "operator", "org": "Chubu Gas", "read": True}]}, analyst)
    t.check(st == 200 and len(c["collection"]["rules"]) == 3, "%s: A writes, B reads: %s %s" %
            (label, st, c))
    t.check(colls(opA).get("water-ics") == (True, True) and
            colls(opB).get("water-ics") == (True, False),
            "%s: as TAXII says: %s %s" % (label, colls(opA), colls(opB)))
    st, s, _ = taxii(tw, "POST", "/taxii2/api/collections/%s/objects/" % cid, opA,
                     {"objects": [indicator("203.0.113.1", "green"),
                                  indicator("203.0.113.2", "amber+strict")]})
    t.check(st == 202 and s["status"] == "complete" and s["success_count"] == 2,
            "%s: A posts: %s %s" % (label, st, s))
    st, s2, _ = taxii(tw, "GET", "/taxii2/api/status/%s/" % s.get("id"), opA)
    t.check(st == 200 and s2["id"] == s["id"] and s2["total_count"] == 2,
            "%s: A's status: %s %s" % (label, st, s2))
    st, e, _ = taxii(tw, "POST", "/taxii2/api/collections/%s/objects/" % cid, opB,
                     {"objects": [indicator("203.0.113.3", "green")]})
    t.check(st == 403, "%s: B may not write: %s" % (label, st))
    t.check(seen(opA, cid) == ["198.51.100.1", "198.51.100.2", "203.0.113.1", "203.0.113.2"],
            "%s: A reads its own amber+strict: %s" % (label, seen(opA, cid)))
    t.check(seen(opB, cid) == ["198.51.100.1", "198.51.100.2", "203.0.113.1"],
            "%s: B reads neither A's amber+strict nor the red: %s" % (label, seen(opB, cid)))
    t.check(len(seen(analyst, cid)) == 6, "%s: the analyst reads all: %s" %
            (label, seen(analyst, cid)))

    # Bad input: a 4xx with a JSON reason naming the field, and nothing
    # changed, not even the log.
    before = state()
    access = API + "/%s/access" % cid
    many = [{"role": "operator", "org": i + 1, "read": True} for i in range(65)]
    refusals = [
        ("POST", API, {"alias": "water-ics", "title": "Again"}, 409, "alias"),
        ("POST", API, {"alias": "Water_ICS", "title": "x"}, 422, "alias"),
        ("POST", API, {"alias": "-x", "title": "x"}, 422, "alias"),
        ("POST", API, {"alias": "a" * 65, "title": "x"}, 422, "alias"),
        ("POST", API, {"alias": "partner-isac", "title": "x"}, 422, "alias"),
        ("POST", API, {"alias": 7, "title": "x"}, 422, "alias"),
        ("POST", API, {"alias": "fine"}, 422, "title"),
        ("POST", API, {"alias": "fine", "title": 5}, 422, "title"),
        ("POST", API, {"alias": "fine", "title": "a\x1b[2Jb"}, 422, "title"),
        ("POST", API, {"alias": "fine", "title": "x", "description": ["x"]}, 422, "description"),
        ("POST", API, {"alias": "fine", "title": "x", "description": "d" * 4097}, 422,
         "description"),
        ("POST", API, {"alias": "fine", "title": "x", "owner": "me"}, 422, "owner"),
        ("POST", API, ["fine"], 422, None),
        ("POST", API, b'{"alias": "fine", "ti', 400, None),
        ("PUT", access, {"rules": [{"role": "auditor", "read": True}]}, 422, "rules[0].role"),
        ("PUT", access, {"rules": [{"role": "admin", "read": True}]}, 422, "rules[0].role"),
        ("PUT", access, {"rules": [{"role": "root", "read": True}]}, 422, "rules[0].role"),
        ("PUT", access, {"rules": [{"role": None, "read": True}]}, 422, "rules[0].role"),
        ("PUT", access, {"rules": [analysts, {"role": "operator", "org": "Nowhere Inc",
                                              "read": True}]}, 422, "rules[1].org"),
        ("PUT", access, {"rules": [{"role": "operator", "org": 99999, "read": True}]}, 422,
         "rules[0].org"),
        ("PUT", access, {"rules": [{"role": "operator", "org": -1, "read": True}]}, 422,
         "rules[0].org"),
        ("PUT", access, {"rules": [{"role": "operator", "org": True, "read": True}]}, 422,
         "rules[0].org"),
        ("PUT", access, {"rules": [{"role": "operator", "read": "yes"}]}, 422, "rules[0].read"),
        ("PUT", access, {"rules": [{"role": "operator", "write": 1}]}, 422, "rules[0].write"),
        ("PUT", access, {"rules": [{"role": "operator"}]}, 422, "rules[0]"),
        ("PUT", access, {"rules": [{"role": "operator", "read": True, "admin": True}]}, 422,
         "rules[0].admin"),
        ("PUT", access, {"rules": [{"role": "operator", "read": True},
                                   {"role": "operator", "org": None, "write": True}]}, 422,
         "rules[1]"),
        ("PUT", access, {"rules": [{"role": "operator", "org": "Kinki Water", "read": True},
                                   {"role": "operator", "org": orgs["a"], "write": True}]}, 422,
         "rules[1]"),
        ("PUT", access, {"rules": many}, 422, "rules"),
        ("PUT", access, {"rules": {"role": "analyst", "read": True}}, 422, "rules"),
        ("PUT", access, {"rules": ["analyst"]}, 422, "rules[0]"),
        ("PUT", access, {"rules": [], "note": "x"}, 422, "note"),
        ("PUT", access, {}, 422, "rules"),
        ("PUT", access, [analysts], 422, "rules"),
        ("PUT", API + "/00000000-0000-0000-0000-000000000000/access", {"rules": []}, 404, None),
        ("PUT", API + "/%s/access" % ("x" * 300), {"rules": []}, 404, None),
        ("PATCH", API + "/" + cid, {}, 422, "title"),
        ("PATCH", API + "/" + cid, {"title": ""}, 422, "title"),
        ("PATCH", API + "/" + cid, {"alias": "renamed"}, 422, "alias"),
        ("PATCH", API + "/00000000-0000-0000-0000-000000000000", {"title": "x"}, 404, None),
        ("GET", API + "/00000000-0000-0000-0000-000000000000", None, 404, None),
        ("GET", API + "?limit=0", None, 400, None),
        ("GET", API + "?colour=red", None, 400, None),
    ]
    for method, path, b, want, field in refusals:
        st, e, _ = tw.call(method, path, b, analyst)
        err = e.get("error", {}) if isinstance(e, dict) else {}
        fields = [f["field"] for f in err.get("fields", [])]
        t.check(st == want and err.get("message") and (field is None or field in fields),
                "%s: %s %s %.120s: %s, wanted %s naming %s: %s" % (
                    label, method, path[:60], json.dumps(b) if not isinstance(b, bytes) else b,
                    st, want, field, e))
    # Larger than the tower takes at all: refused from the headers.
    with socket.create_connection(("127.0.0.1", tw.port), timeout=10) as sk:
        sk.sendall(("PUT %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                    "Content-Type: application/json\r\nContent-Length: 50000000\r\n\r\n" %
                    (access, analyst)).encode())
        head = sk.recv(4096).decode(errors="replace")
    t.check(head.startswith("HTTP/1.1 413"), "%s: a 50 MB body: %r" % (label, head[:80]))
    t.check(state() == before, "%s: the refusals changed nothing" % label)

    # From a terminal, as an analyst.
    tokfile = os.path.join(d, label + ".analyst")
    optok = os.path.join(d, label + ".operator")
    for f, tok in ((tokfile, analyst), (optok, opA)):
        with open(f, "w") as fh:
            fh.write(tok + "\n")
    base = ["--tower", "http://127.0.0.1:%d" % tw.port, "--token-file", tokfile]

    def intel(*args, base=base):
        p = subprocess.run([yagura, "intel"] + list(args) + base, capture_output=True, text=True,
                           timeout=60)
        return p.returncode, p.stdout, p.stderr

    rc, out, err = intel("collection-add", "--alias", "cli-feed", "--title", "CLI feed",
                         "--description", "made from a terminal")
    made = json.loads(out) if rc == 0 else {}
    t.check(rc == 0 and made.get("alias") == "cli-feed" and made.get("number") == 6,
            "%s: intel collection-add: %d %s %s" % (label, rc, out, err))
    rc, out, err = intel("access", "cli-feed", "--rule", "analyst=rw", "--rule",
                         "operator:Chubu Gas=r", "--rule", "sensor=w")
    got = json.loads(out).get("rules") if rc == 0 else None
    t.check(rc == 0 and got == [
        {"role": "analyst", "org": None, "read": True, "write": True},
        {"role": "operator", "org": orgs["b"], "read": True, "write": False},
        {"role": "sensor", "org": None, "read": False, "write": True}],
        "%s: intel access: %d %s %s" % (label, rc, out, err))
    t.check(colls(opB).get("cli-feed") == (True, False) and colls(sensor).get("cli-feed") ==
            (False, True) and "cli-feed" not in colls(opA),
            "%s: the CLI's rules hold: %s %s" % (label, colls(opB), colls(sensor)))
    rc, out, err = intel("collections")
    line = [x for x in out.splitlines() if " cli-feed " in x]
    t.check(rc == 0 and out.startswith("num ") and len(out.splitlines()) == 7 and
            line and line[0].endswith("analyst=rw operator:%d=r sensor=w" % orgs["b"]),
            "%s: intel collections: %d\n%s%s" % (label, rc, out, err))
    before = state()
    rc, out, err = intel("access", "cli-feed", "--rule", "analyst=rw", "--rule",
                         "operator:Nowhere Inc=r")
    t.check(rc == 2 and "intel access: --rule operator:Nowhere Inc=r: org: no such "
            "organisation" in err, "%s: intel access, an unknown organisation: %d %s" %
            (label, rc, err))
    rc, out, err = intel("access", "cli-feed", "--rule", "auditor=r")
    t.check(rc == 2 and "--rule auditor=r: role: must be a role that uses the TAXII server" in
            err, "%s: intel access, the auditor: %d %s" % (label, rc, err))
    rc, out, err = intel("access", "cli-feed", "--rule", "analyst=x")
    t.check(rc == 1 and "is not ROLE[:ORG]=r, =w or =rw" in err,
            "%s: intel access, a bad rule: %d %s" % (label, rc, err))
    rc, out, err = intel("access", "no-such-feed", "--rule", "analyst=r")
    t.check(rc == 2 and "no collection 'no-such-feed'" in err,
            "%s: intel access, no such collection: %d %s" % (label, rc, err))
    rc, out, err = intel("collection-add", "--alias", "cli-feed", "--title", "Again")
    t.check(rc == 2 and "--alias: is another collection's" in err,
            "%s: intel collection-add, taken: %d %s" % (label, rc, err))
    rc, out, err = intel("collection-add", "--alias", "Bad Alias", "--title", "x")
    t.check(rc == 2 and "--alias: is required" in err,
            "%s: intel collection-add, a bad alias: %d %s" % (label, rc, err))
    rc, out, err = intel("collections", base=base[:2] + ["--token-file", optok])
    t.check(rc == 2 and "403" in err, "%s: intel collections as an operator: %d %s" %
            (label, rc, err))
    t.check(state() == before, "%s: the CLI's refusals changed nothing" % label)
    rc, out, err = intel("access", "cli-feed")
    t.check(rc == 0 and json.loads(out)["rules"] == got,
            "%s: intel access shows the rules: %d %s" % (label, rc, err))
    rc, out, err = intel("access", "cli-feed", "--none")
    t.check(rc == 0 and json.loads(out)["rules"] == [] and "cli-feed" not in colls(opB) and
            "cli-feed" not in colls(analyst), "%s: --none: %d %s %s" % (label, rc, out, err))

    # Every change one entry, with the collection's number; a restart takes
    # nothing in again.
    tw.stop()
    tw.start()
    kinds = [e.split("\n")[1] for e in entries()]
    want = {"kind taxii.collection.adopt": 3, "kind taxii.collection.create": 3,
            "kind taxii.collection.update": 1, "kind taxii.collection.access": 4}
    t.check({k: kinds.count(k) for k in want} == want,
            "%s: the log's collection entries: %s" % (label, {k: kinds.count(k) for k in want}))
    st, vkey, _ = tw.call("GET", "/log/key")
    p = subprocess.run([yagura, "audit", "verify", "--key", vkey.strip(), "--store", tw.store],
                       capture_output=True, text=True, timeout=300)
    t.check(p.returncode == 0 and "rows are as the entries recorded them" in p.stdout,
            "%s: audit verify --store: %d\n%s%s" % (label, p.returncode, p.stdout, p.stderr))
    # A rule changed behind the tower's back is named.
    db.run("UPDATE taxii_access SET can_write = 1 WHERE collection_num = 4 AND org_id = %d" %
           orgs["b"])
    p = subprocess.run([yagura, "audit", "verify", "--key", vkey.strip(), "--store", tw.store],
                       capture_output=True, text=True, timeout=300)
    t.check(p.returncode == 2 and "rows taxii_access with collection_num=4 differ" in p.stderr,
            "%s: a rule changed behind the tower's back: %d\n%s" % (label, p.returncode,
                                                                     p.stderr))


def main():
    a = common.parse_args()
    t = common.Checker("taxii_access")
    with tempfile.TemporaryDirectory() as d:
        for label, store in both_stores(t, a.yagura, d, "tower_taxii_access"):
            tw = Tower(a.yagura, store, d)
            db = SqliteDB(store) if label == "sqlite" else PgDB(store)
            try:
                run(t, tw, label, a.yagura, d, db)
            finally:
                rc = tw.stop()
            t.check(rc == 0, "%s: tower exit %d on SIGTERM" % (label, rc))
    t.finish()


main()
