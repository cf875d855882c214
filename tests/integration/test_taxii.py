"""The tower's TAXII 2.1 server (issue 14), on SQLite and PostgreSQL.

Raw HTTP: discovery, the API root, the collections each role may use,
envelopes posted and read back with every filter, paging by `next` with
the X-TAXII-Date-Added headers, manifest and versions, the TAXII media
type (406 and 415 otherwise) and error form. TLP: an object marked
TLP:RED or TLP:AMBER+STRICT reaches nobody outside its audience on any
route that returns objects. The OASIS taxii2-client (unmodified, from
../shared/tools; with Debian's python3-requests, -six and -tz) reads and
writes collections, paging included, where ../shared is present. Every
posted envelope is a change in the transparency log, which audit verify
then finds whole.

Runs with Debian's /usr/bin/python3, whose packages the client needs."""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from towerlib import Tower, both_stores  # noqa: E402

TAXII = "application/taxii+json;version=2.1"
WARNINGS, INDICATORS, SIGHTINGS = ("6b6e0ee2-5b1a-5d5e-9c5e-3f2b7c1a000%d" % i for i in (1, 2, 3))
MISP_FEED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "misp", "feed")
MISP_EV1, MISP_EV2 = ("d31f9d63-70dc-4215-a6c0-54bc5643a978",
                      "34a3fd1b-46b5-4b9f-9b59-4edad0d9c8b4")
TLP = {"clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
       "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
       "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
       "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
       "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"}


def taxii(tw, method, path, token, body=None, accept=TAXII, ctype=TAXII):
    """(status, parsed body or text, headers) of one TAXII request."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (tw.port, path), data=data,
                                 method=method)
    req.add_header("Authorization", "Bearer " + token)
    if accept:
        req.add_header("Accept", accept)
    if data is not None:
        req.add_header("Content-Type", ctype)
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


def stix_time(i=0):
    return "2026-12-%02dT00:00:%02d.000Z" % (1 + i // 60, i % 60)


def indicator(value, tlp="green", i=0, oid=None, modified=None):
    return {"type": "indicator", "spec_version": "2.1",
            "id": oid or "indicator--%s" % uuid.uuid4(), "created": stix_time(i),
            "modified": modified or stix_time(i), "name": "C2 server %s" % value,
            "pattern": "[ipv4-addr:value = '%s']" % value, "pattern_type": "stix",
            "valid_from": stix_time(i), "object_marking_refs": [TLP[tlp]]}


def run(t, tw, label, yagura, shared):
    analyst = tw.token_for("analyst1", "analyst")
    sensor = tw.token_for("sensor1", "sensor")
    auditor = tw.token_for("auditor1", "auditor")
    A = tw.admin
    st, org, _ = tw.call("POST", "/api/v1/orgs", {"name": "Kinki Water", "sector": "water"}, A)
    st, u, _ = tw.call("POST", "/api/v1/users", {"name": "opw", "role": "operator",
                                                 "org_id": org["id"]}, A)
    st, tk, _ = tw.call("POST", "/api/v1/tokens", {"user_id": u["id"]}, A)
    operator = tk["token"]

    # Discovery and the API root, in TAXII's media type.
    st, d, h = taxii(tw, "GET", "/taxii2/", operator)
    t.check(st == 200 and h.get("Content-Type") == TAXII and d["api_roots"] and
            d["default"].endswith("/taxii2/api/"), "%s: discovery: %s %s" % (label, st, d))
    st, root, _ = taxii(tw, "GET", "/taxii2/api/", operator)
    t.check(st == 200 and root.get("versions") == [TAXII], "%s: api root: %s" % (label, root))
    st, e, h = taxii(tw, "GET", "/taxii2/api/", operator, accept="application/json")
    t.check(st == 406 and e.get("http_status") == "406" and "title" in e,
            "%s: Accept: application/json gets 406 in TAXII's error form: %s %s" % (label, st, e))
    st, _, _ = taxii(tw, "GET", "/taxii2/api/", operator,
                     accept="application/taxii+json;version=2.0")
    t.check(st == 406, "%s: TAXII 2.0 is not served: %s" % (label, st))
    st, _, _ = taxii(tw, "GET", "/taxii2/api/", operator, accept="application/taxii+json")
    t.check(st == 200, "%s: Accept without a version: %s" % (label, st))
    st, e, _ = taxii(tw, "GET", "/taxii2/api/", auditor)
    t.check(st == 403 and e.get("http_status") == "403", "%s: an auditor: %s %s" % (label, st, e))

    # Who sees which collections.
    def colls(tok):
        st, c, _ = taxii(tw, "GET", "/taxii2/api/collections/", tok)
        return {x["alias"]: (x["can_read"], x["can_write"]) for x in c.get("collections", [])}
    t.check(colls(operator) == {"warnings": (True, False), "indicators": (True, False)},
            "%s: an operator's collections: %s" % (label, colls(operator)))
    t.check(colls(sensor) == {"indicators": (True, False), "sightings": (False, True)},
            "%s: a sensor's collections: %s" % (label, colls(sensor)))
    t.check(colls(analyst)["warnings"] == (True, True), "%s: an analyst writes warnings" % label)
    st, _, _ = taxii(tw, "GET", "/taxii2/api/collections/%s/" % SIGHTINGS, operator)
    t.check(st == 404, "%s: a collection an operator may not use is not there: %s" % (label, st))

    # Posting: the analyst's envelope, with one object of each TLP.
    objs = {k: indicator("198.51.100.%d" % (i + 1), k, i) for i, k in enumerate(TLP)}
    base = "/taxii2/api/collections/%s/objects/" % WARNINGS
    st, s, _ = taxii(tw, "POST", base, analyst, {"objects": list(objs.values()) + [
        {"type": "indicator", "id": "not-an-id"}]})
    t.check(st == 202 and s["status"] == "complete" and s["total_count"] == 6 and
            s["success_count"] == 5 and s["failure_count"] == 1 and
            s["failures"][0]["id"] == "not-an-id", "%s: posted: %s %s" % (label, st, s))
    st, s2, _ = taxii(tw, "GET", "/taxii2/api/status/%s/" % s.get("id"), analyst)
    t.check(st == 200 and s2["id"] == s["id"], "%s: the status again: %s" % (label, s2))
    st, _, _ = taxii(tw, "GET", "/taxii2/api/status/%s/" % s.get("id"), operator)
    t.check(st == 404, "%s: someone else's status: %s" % (label, st))
    st, e, _ = taxii(tw, "POST", base, operator, {"objects": [indicator("203.0.113.1")]})
    t.check(st == 403 and e.get("http_status") == "403", "%s: an operator writing: %s" % (label, st))
    st, e, _ = taxii(tw, "POST", base, analyst, {"objects": [indicator("203.0.113.1")]},
                     ctype="application/json")
    t.check(st == 415, "%s: a body as application/json: %s" % (label, st))
    # Truncated, oversized, not an envelope: refused, nothing stored.
    too_many = [indicator("10.99.%d.%d" % (i // 250, i % 250)) for i in range(1001)]
    st, e, _ = taxii(tw, "POST", base, analyst, {"objects": too_many})
    t.check(st == 422 and e.get("http_status") == "422", "%s: 1001 objects: %s" % (label, st))
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (tw.port, base), method="POST",
                                 data=b'{"objects": [{"type": "indicator", "id": "indic')
    for k, v in (("Authorization", "Bearer " + analyst), ("Content-Type", TAXII)):
        req.add_header(k, v)
    try:
        urllib.request.urlopen(req, timeout=30)
        st = 200
    except urllib.error.HTTPError as x:
        st = x.code
    t.check(st == 400, "%s: a truncated envelope: %s" % (label, st))
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (tw.port, base), method="POST",
                                 data=b'{"objects": "' + b"x" * (5 << 20) + b'"}')
    for k, v in (("Authorization", "Bearer " + analyst), ("Content-Type", TAXII)):
        req.add_header(k, v)
    try:
        urllib.request.urlopen(req, timeout=60)
        st = 200
    except urllib.error.HTTPError as x:
        st = x.code
    except (ConnectionError, urllib.error.URLError):
        st = 413  # the tower may close the connection at once on a body too large
    t.check(st == 413, "%s: a body past max_body: %s" % (label, st))
    for bad in ({"objects": "x"}, {"envelope": []}, [1, 2]):
        st, e, _ = taxii(tw, "POST", base, analyst, bad)
        t.check(st == 422, "%s: %r as an envelope: %s" % (label, bad, st))
    st, e, _ = taxii(tw, "POST", base, analyst, {"objects": []})
    t.check(st == 422, "%s: an empty envelope: %s" % (label, st))

    # TLP: the operator sees CLEAR, GREEN and AMBER; never AMBER+STRICT or
    # RED, on any route that returns objects.
    hidden = {objs["amber+strict"]["id"], objs["red"]["id"]}
    st, env, _ = taxii(tw, "GET", base, operator)
    seen = {o["id"] for o in env.get("objects", [])}
    t.check(st == 200 and seen == {objs[k]["id"] for k in ("clear", "green", "amber")},
            "%s: the operator's objects: %s" % (label, seen))
    st, env, _ = taxii(tw, "GET", base, analyst)
    t.check(len(env.get("objects", [])) == 5, "%s: the analyst sees all five" % label)
    for oid in hidden:
        for path in ("%s%s/" % (base, oid), "%s%s/versions/" % (base, oid)):
            st, _, _ = taxii(tw, "GET", path, operator)
            t.check(st == 404, "%s: %s to an operator: %s" % (label, path, st))
    st, m, _ = taxii(tw, "GET", "/taxii2/api/collections/%s/manifest/" % WARNINGS, operator)
    t.check(not hidden & {x["id"] for x in m.get("objects", [])},
            "%s: the manifest hides them too: %s" % (label, m))
    st, env, _ = taxii(tw, "GET", base + "?match[id]=%s" % ",".join(hidden), operator)
    t.check(st == 200 and not env.get("objects"), "%s: match[id] of them: %s" % (label, env))

    # Versions: a newer version of the GREEN indicator.
    g = objs["green"]
    newer = dict(g, modified=stix_time(30), name="C2 server, confirmed")
    st, s, _ = taxii(tw, "POST", base, analyst, {"objects": [newer, g]})
    t.check(st == 202 and s["success_count"] == 2, "%s: a new version (and the old again): %s"
            % (label, s))
    st, env, _ = taxii(tw, "GET", "%s%s/" % (base, g["id"]), operator)
    t.check([o["modified"] for o in env.get("objects", [])] == [stix_time(30)],
            "%s: the last version by default: %s" % (label, env))
    st, env, _ = taxii(tw, "GET", "%s%s/?match[version]=all" % (base, g["id"]), operator)
    t.check(sorted(o["modified"] for o in env.get("objects", [])) == [stix_time(1), stix_time(30)],
            "%s: every version: %s" % (label, env))
    st, env, _ = taxii(tw, "GET", "%s%s/?match[version]=first" % (base, g["id"]), operator)
    t.check([o["modified"] for o in env.get("objects", [])] == [stix_time(1)],
            "%s: the first version: %s" % (label, env))
    st, v, _ = taxii(tw, "GET", "%s%s/versions/" % (base, g["id"]), operator)
    t.check(sorted(v.get("versions", [])) == [stix_time(1), stix_time(30)],
            "%s: versions: %s" % (label, v))
    # Deleting: one version, then the rest; only a writer may.
    opath = "%s%s/" % (base, g["id"])
    st, e, _ = taxii(tw, "DELETE", opath, operator)
    t.check(st == 403, "%s: an operator deleting: %s" % (label, st))
    st, _, _ = taxii(tw, "DELETE", opath + "?match[version]=%s" % stix_time(1), analyst)
    t.check(st == 200, "%s: one version deleted: %s" % (label, st))
    st, v, _ = taxii(tw, "GET", opath + "versions/", operator)
    t.check(v.get("versions") == [stix_time(30)], "%s: the other is left: %s" % (label, v))
    st, env, _ = taxii(tw, "GET", opath + "?match[version]=first", operator)
    t.check([o["modified"] for o in env.get("objects", [])] == [stix_time(30)],
            "%s: first is now the one left: %s" % (label, env))
    st, _, _ = taxii(tw, "DELETE", opath, analyst)
    t.check(st == 200, "%s: the rest deleted: %s" % (label, st))
    for path in (opath, opath + "versions/"):
        st, _, _ = taxii(tw, "GET", path, analyst)
        t.check(st == 404, "%s: %s after deletion: %s" % (label, path, st))
    st, _, _ = taxii(tw, "DELETE", opath, analyst)
    t.check(st == 404, "%s: deleting it again: %s" % (label, st))
    st, _, _ = taxii(tw, "DELETE", "%s%s/" % (base, objs["red"]["id"]), operator)
    t.check(st == 403, "%s: a TLP:RED object by an operator: %s" % (label, st))

    st, env, _ = taxii(tw, "GET", base + "?match[type]=report", operator)
    t.check(st == 200 and not env.get("objects"), "%s: match[type]=report: %s" % (label, env))
    for bad in ("match[type]=IN%20DICATOR", "match[version]=yesterday", "added_after=x",
                "limit=0", "next=abc", "colour=red"):
        st, e, _ = taxii(tw, "GET", base + "?" + bad, operator)
        t.check(st == 400 and e.get("http_status") == "400", "%s: ?%s: %s %s" % (label, bad, st, e))

    # Paging: 250 indicators, 100 a page, in the order they were added.
    for k in range(5):
        batch = [indicator("10.%d.%d.%d" % (k, j // 200, j % 200), "green", j)
                 for j in range(50)]
        st, s, _ = taxii(tw, "POST", "/taxii2/api/collections/%s/objects/" % INDICATORS,
                         analyst, {"objects": batch})
        t.check(st == 202 and s["success_count"] == 50, "%s: batch %d: %s" % (label, k, s))
    got, nxt, pages, firsts = [], None, 0, []
    ipath = "/taxii2/api/collections/%s/objects/?limit=100" % INDICATORS
    while True:
        st, env, h = taxii(tw, "GET", ipath + ("&next=%s" % nxt if nxt else ""), sensor)
        if st != 200:
            break
        pages += 1
        got += [o["id"] for o in env.get("objects", [])]
        firsts.append((h.get("X-TAXII-Date-Added-First"), h.get("X-TAXII-Date-Added-Last")))
        if not env.get("more"):
            break
        nxt = env["next"]
    t.check(pages == 3 and len(got) == 250 and len(set(got)) == 250 and
            all(a and b and a <= b for a, b in firsts) and
            all(firsts[i][1] <= firsts[i + 1][0] for i in range(len(firsts) - 1)),
            "%s: paged: %d pages, %d objects, headers %s" % (label, pages, len(got), firsts))
    st, env, _ = taxii(tw, "GET", ipath.replace("?limit=100", "?limit=100000"), sensor)
    t.check(st == 200 and len(env.get("objects", [])) == 250 and not env.get("more"),
            "%s: a limit past the server's is the server's (1000)" % label)
    after = firsts[1][1]
    st, env, _ = taxii(tw, "GET", ipath + "&added_after=%s" % after, sensor)
    t.check(st == 200 and len(env.get("objects", [])) == 50,
            "%s: added_after the second page: %d" % (label, len(env.get("objects", []))))

    # Analysts curate from the terminal: yagura intel, over TAXII.
    d = os.path.dirname(tw.logpath)
    tokfile = os.path.join(d, label + "-analyst.token")
    with open(tokfile, "w") as f:
        f.write(analyst + "\n")

    def intel(*args):
        p = subprocess.run([yagura, "intel", "--tower", "http://127.0.0.1:%d" % tw.port,
                            "--token-file", tokfile] + list(args), capture_output=True,
                           text=True, timeout=60)
        return p.returncode, p.stdout, p.stderr

    rc, out, err = intel("add", "--value", "203.0.113.66", "--name", "C2 of the campaign",
                         "--valid-until", "2099-01-01T00:00:00Z", "--confidence", "80")
    iid = out.split("\n")[0]
    t.check(rc == 0 and iid.startswith("indicator--") and '"success_count": 1' in out,
            "%s: intel add: %d %r %r" % (label, rc, out, err))
    st, env, _ = taxii(tw, "GET", "/taxii2/api/collections/%s/objects/%s/" % (INDICATORS, iid),
                       sensor)
    o = (env.get("objects") or [{}])[0]
    t.check(st == 200 and o.get("pattern") == "[ipv4-addr:value = '203.0.113.66']" and
            o.get("confidence") == 80 and o.get("object_marking_refs") == [TLP["green"]],
            "%s: the sensor reads it: %s" % (label, o))
    # Sightings: the sensor's alerts that name the indicator become a STIX
    # sighting of it in the sightings collection, counted, for analysts.
    def alerts(n, start):
        batch = [{"alert_id": "%s-s-%d" % (label, start + i),
                  "timestamp": "2026-12-06T10:00:%02d.000000+0000" % (start + i),
                  "src_ip": "10.9.0.5", "dest_ip": "203.0.113.66", "proto": "TCP",
                  "alert": {"signature_id": 9300001, "signature": "intel match", "severity": 1},
                  "evidence": {"indicator": "203.0.113.66", "indicator_id": iid}}
                 for i in range(n)]
        st, res, _ = tw.call("POST", "/api/v1/alerts", {"alerts": batch}, sensor)
        return st

    def sighting(want_count):
        path = "/taxii2/api/collections/%s/objects/?match[type]=sighting" % SIGHTINGS
        got = None
        for _ in range(100):
            st, env, _ = taxii(tw, "GET", path, analyst)
            got = [o for o in env.get("objects", []) if o.get("sighting_of_ref") == iid]
            if got and got[0].get("count") == want_count:
                break
            time.sleep(0.1)
        return got

    t.check(alerts(2, 0) == 200, "%s: alerts naming the indicator" % label)
    got = sighting(2)
    t.check(got and got[0]["count"] == 2 and got[0]["first_seen"] == "2026-12-06T10:00:00.000Z"
            and got[0]["last_seen"] == "2026-12-06T10:00:01.000Z" and
            got[0]["where_sighted_refs"][0].startswith("identity--"),
            "%s: a sighting of the indicator: %s" % (label, got))
    alerts(1, 2)
    got = sighting(3)
    t.check(got and got[0]["count"] == 3 and got[0]["last_seen"] == "2026-12-06T10:00:02.000Z",
            "%s: the sighting's next version counts on: %s" % (label, got))
    st, env, _ = taxii(tw, "GET", "/taxii2/api/collections/%s/objects/?match[type]=identity"
                       % SIGHTINGS, analyst)
    t.check(st == 200 and [o["name"] for o in env.get("objects", [])] == ["sensor sensor1"],
            "%s: the sensor's identity: %s" % (label, env))
    st, _, _ = taxii(tw, "GET", "/taxii2/api/collections/%s/objects/" % SIGHTINGS, operator)
    t.check(st == 404, "%s: an operator does not read sightings: %s" % (label, st))

    # A report's indicators, shared by an analyst: the operator is not
    # named unless its report agrees; a TLP:RED report stays unshared.
    def report(**kw):
        b = {"category": "ddos", "summary": "C2 traffic from the SCADA segment",
             "detected_at": "2026-12-05T09:00:00+09:00", "severity": "high", "tlp": "TLP:GREEN",
             "technical_details": {"indicators": {"addresses": ["198.51.100.77"],
                                                  "domains": ["c2.kinki-water.example"]}}}
        b.update(kw)
        st, r, _ = tw.call("POST", "/api/v1/reports", b, operator)
        return r.get("id", 0)

    rid = report()
    st, e, _ = tw.call("POST", "/api/v1/reports/%d/share" % rid, {}, operator)
    t.check(st == 403, "%s: an operator sharing: %s" % (label, st))
    st, sh, _ = tw.call("POST", "/api/v1/reports/%d/share" % rid, {"tlp": "TLP:AMBER"}, analyst)
    t.check(st == 201 and sh["shared"] == 2 and sh["tlp"] == "TLP:AMBER" and not sh["attributed"],
            "%s: a report's indicators shared: %s %s" % (label, st, sh))
    got = {}
    for oid in sh.get("indicators", []):
        st, env, _ = taxii(tw, "GET", "/taxii2/api/collections/%s/objects/%s/" % (INDICATORS, oid),
                           sensor)
        got[oid] = (env.get("objects") or [{}])[0]
    pats = sorted(o.get("pattern") for o in got.values())
    by = {o.get("created_by_ref") for o in got.values()}
    t.check(pats == ["[domain-name:value = 'c2.kinki-water.example']",
                     "[ipv4-addr:value = '198.51.100.77']"] and len(by) == 1 and
            all(o.get("object_marking_refs") == [TLP["amber"]] for o in got.values()),
            "%s: the sensor reads them: %s" % (label, got))
    # With them, the servers they point at: one infrastructure object of
    # the report, and an "indicates" relationship from each indicator.
    st, env, _ = taxii(tw, "GET", "/taxii2/api/collections/%s/objects/?match[type]="
                       "relationship,infrastructure" % INDICATORS, sensor)
    infra = [o for o in env.get("objects", []) if o["type"] == "infrastructure"]
    rels = [o for o in env.get("objects", []) if o["type"] == "relationship"]
    t.check(len(infra) == 1 and infra[0].get("infrastructure_types") == ["botnet"] and
            sorted(r["source_ref"] for r in rels) == sorted(got) and
            all(r["relationship_type"] == "indicates" and r["target_ref"] == infra[0]["id"] and
                r.get("object_marking_refs") == [TLP["amber"]] for r in rels),
            "%s: the indicators indicate the report's infrastructure: %s %s" %
            (label, infra, rels))
    st, env, _ = taxii(tw, "GET", "/taxii2/api/collections/%s/objects/?match[id]=%s"
                       % (INDICATORS, by.pop() if by else ""), sensor)
    names = [o.get("name") for o in env.get("objects", [])]
    t.check(names == ["National cyber security office"],
            "%s: created by the office, the operator withheld: %s" % (label, names))
    rid2 = report(attribution=True, technical_details={"indicators": {"urls": [
        "http://198.51.100.78/gate.php"]}})
    st, sh, _ = tw.call("POST", "/api/v1/reports/%d/share" % rid2, {}, analyst)
    oid = (sh.get("indicators") or [""])[0]
    st, env, _ = taxii(tw, "GET", "/taxii2/api/collections/%s/objects/%s/" % (INDICATORS, oid),
                       sensor)
    who = (env.get("objects") or [{}])[0].get("created_by_ref", "")
    st, env, _ = taxii(tw, "GET", "/taxii2/api/collections/%s/objects/%s/" % (INDICATORS, who),
                       sensor)
    idn = (env.get("objects") or [{}])[0]
    t.check(sh.get("attributed") and idn.get("name") == "Kinki Water" and
            "water" in idn.get("sectors", []),
            "%s: the operator agreed to be named: %s %s" % (label, sh, idn))
    rid3 = report(tlp="TLP:RED")
    st, e, _ = tw.call("POST", "/api/v1/reports/%d/share" % rid3, {}, analyst)
    t.check(st == 422 and e["error"]["code"] == "tlp_red", "%s: a TLP:RED report: %s %s" %
            (label, st, e))
    st, e, _ = tw.call("POST", "/api/v1/reports/%d/share" % rid, {"tlp": "purple"}, analyst)
    t.check(st == 422, "%s: a made-up TLP: %s" % (label, st))

    rc, out, err = intel("add", "--value", "not a value")
    t.check(rc == 1 and "not a value" in err, "%s: intel add of nonsense: %d %r" % (label, rc, err))
    lst = os.path.join(d, label + "-list.txt")
    with open(lst, "w") as f:
        f.write("# a partner's list\nc2.bad.example\n198.51.100.200 # the loader\n"
                "http://198.51.100.201/gate.php\n")
    rc, out, err = intel("import", lst, "--tlp", "amber")
    t.check(rc == 0 and '"success_count": 3' in out, "%s: intel import: %d %r %r" %
            (label, rc, out, err))
    with open(lst, "a") as f:
        f.write("203.0.113.9 and more\n")
    rc, out, err = intel("import", lst)
    t.check(rc == 2 and ":5:" in err, "%s: intel import names the bad line: %d %r" %
            (label, rc, err))
    rc, out, err = intel("expire", iid)
    t.check(rc == 1 and "--reason" in err, "%s: intel expire without a reason: %d" % (label, rc))
    rc, out, err = intel("expire", iid, "--reason", "the server was taken down")
    t.check(rc == 0, "%s: intel expire: %d %r %r" % (label, rc, out, err))
    rc, out, err = intel("warn", "--name", "C2 of the AgentTesla campaign",
                         "--text", "Block 203.0.113.66; it is the campaign's mail relay.",
                         "--ref", iid, "--tlp", "green")
    wid = out.split("\n")[0]
    st, env, _ = taxii(tw, "GET", "/taxii2/api/collections/%s/objects/%s/" % (WARNINGS, wid),
                       operator)
    w = (env.get("objects") or [{}])[0]
    t.check(rc == 0 and w.get("type") == "report" and w.get("object_refs") == [iid] and
            w.get("object_marking_refs") == [TLP["green"]],
            "%s: intel warn: the operator reads the warning: %d %r %s" % (label, rc, err, w))
    rc, out, err = intel("warn", "--name", "x", "--text", "y")
    t.check(rc == 1 and "--ref" in err, "%s: a warning about nothing: %d %r" % (label, rc, err))

    rc, out, err = intel("list", "--all")
    row = [l for l in out.splitlines() if l.startswith(iid)]
    t.check(rc == 0 and len(row) == 1 and " revoked " in row[0] and
            len(out.splitlines()) == 1 + 250 + 1 + 3 + 3,
            "%s: intel list --all: %d rows, %r" % (label, len(out.splitlines()), row))

    # What the tower made itself (shared reports' indicators and the
    # office's and operators' identities, sightings and sensors' identities,
    # yagura intel's indicators) validates against the OASIS schemas.
    schemas = os.path.join(shared, "data", "stix2-schemas", "schemas")
    if os.path.isdir(schemas):
        import pathlib
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from test_stix import validators
        v = validators(pathlib.Path(schemas))
        made = []
        for coll in (INDICATORS, SIGHTINGS, WARNINGS):
            st, env, _ = taxii(tw, "GET", "/taxii2/api/collections/%s/objects/?limit=1000&"
                               "match[type]=indicator,sighting,identity,report,relationship,infrastructure" % coll,
                               analyst)
            made += [o for o in env.get("objects", [])
                     if not o["id"].startswith(("indicator--", "report--")) or
                     o.get("name", "").startswith("C2 of the AgentTesla") or
                     o.get("name", "").startswith(("C2 of", "198.51.100.77", "c2.kinki",
                                                   "http://198.51.100.78"))
                     or "description" in o]
        bad = [(o["id"], e.message[:120]) for o in made for e in v[o["type"]].iter_errors(o)]
        t.check(len(made) >= 6 and not bad, "%s: %d objects the tower made, invalid: %s" %
                (label, len(made), bad[:3]))
    else:
        print("stix2-schemas: ../shared absent, the schema check skipped")

    # The client nobody here wrote.
    client_dir = os.path.join(shared, "tools", "taxii2-client")
    if os.path.isdir(client_dir):
        sys.path.insert(0, client_dir)
        import requests
        from taxii2client.v21 import Collection, Server, as_pages

        class Bearer(requests.auth.AuthBase):
            def __init__(self, tok):
                self.tok = tok

            def __call__(self, r):
                r.headers["Authorization"] = "Bearer " + self.tok
                return r

        url = "http://127.0.0.1:%d/taxii2/" % tw.port
        srv = Server(url, auth=Bearer(operator))
        roots = srv.api_roots
        names = sorted(c.title for c in roots[0].collections) if roots else []
        t.check(names == ["Indicators", "Warnings"], "%s: taxii2-client: %s" % (label, names))
        ind = Collection(url + "api/collections/%s/" % INDICATORS, auth=Bearer(operator))
        total = sum(len(p.get("objects", [])) for p in as_pages(ind.get_objects, per_request=100))
        # The shares add an infrastructure and a relationship an indicator:
        # 1 + 2 for the first report, 1 + 1 for the second.
        t.check(total == 250 + 1 + 3 + 2 + 1 + 2 + 3 + 2,
                "%s: taxii2-client paged out %d" % (label, total))
        warn = Collection(url + "api/collections/%s/" % WARNINGS, auth=Bearer(operator))
        ids = {o["id"] for o in warn.get_objects().get("objects", [])}
        t.check(ids and not hidden & ids, "%s: taxii2-client reads no RED object" % label)
        mine = Collection(url + "api/collections/%s/" % WARNINGS, auth=Bearer(analyst))
        status = mine.add_objects({"objects": [indicator("192.0.2.99", "clear")]})
        t.check(status.success_count == 1, "%s: taxii2-client wrote: %s" % (label, status))
    else:
        print("taxii2-client: ../shared/tools absent, its part skipped")

    misp_import(t, tw, label, intel, analyst, operator, shared)

    # Every envelope is in the log; the store is what the log says.
    st, vkey, _ = tw.call("GET", "/log/key")
    p = subprocess.run([yagura, "audit", "verify", "--key", vkey.strip(), "--store", tw.store],
                       capture_output=True, text=True, timeout=300)
    t.check(p.returncode == 0 and "rows are as the entries recorded them" in p.stdout,
            "%s: audit verify --store: %d\n%s%s" % (label, p.returncode, p.stdout, p.stderr))


def misp_import(t, tw, label, intel, analyst, operator, shared):
    """yagura intel import of MISP: one event file, then the feed
    directory, then the feed again; read back over TAXII."""
    coll = "/taxii2/api/collections/%s/objects/" % INDICATORS
    ev1 = os.path.join(MISP_FEED, MISP_EV1 + ".json")

    def get(oid, tok=analyst, versions=False):
        st, env, _ = taxii(tw, "GET", "%s%s/%s" % (coll, oid, "versions/" if versions else ""),
                           tok)
        if versions:
            return st, (env or {}).get("versions", []) if isinstance(env, dict) else []
        return st, ((env or {}).get("objects") or [{}])[0] if isinstance(env, dict) else {}

    def count():
        st, m, _ = taxii(tw, "GET", "/taxii2/api/collections/%s/manifest/?limit=1000&"
                         "match[version]=all" % INDICATORS, analyst)
        return len(m.get("objects", [])), m.get("more")

    rc, out, err = intel("import", ev1, "--tlp", "green")
    t.check(rc == 0 and "misp: 1 event read, 13 attributes" in out and
            "misp: made 9 indicators, 1 report, 1 identity" in out and
            "misp: skipped: 1 not for IDS (to_ids false), 1 deleted, 2 of a type yagura does "
            "not map (text 1, email-src 1)" in out and '"success_count": 11' in out,
            "%s: intel import of a MISP event: %d %r %r" % (label, rc, out, err))
    ind = {u: "indicator--" + u for u in (
        "14d3a023-4a0a-43fb-8c8e-977a363fc96a", "c0e7beea-f39c-402c-ac71-e1d460286d66",
        "a389ab43-3765-458e-82ec-5121142657d2", "499b54e7-86ed-403f-8eed-9dc0e1519898",
        "06803584-3f8e-4753-927a-5a8c7be52938", "521aaeb8-eba6-4d6d-918c-8a3a22ef54ba",
        "a21d649d-12c6-4e67-a034-69ea5f8fc2a4", "4156c41f-9262-483b-93fb-d0d856bbe70c",
        "ce7581f5-9ad4-4fa1-a044-140a5c8f9d5f")}
    ids = list(ind.values())
    got = {oid: get(oid)[1] for oid in ids}
    st, rep = get("report--" + MISP_EV1)
    by = rep.get("created_by_ref", "")
    st, who = get(by)
    t.check(rep.get("type") == "report" and rep.get("object_refs") == ids and
            rep.get("name") == "Quasar RAT infrastructure targeting water utilities" and
            rep.get("published") == "2026-12-03T09:30:00.000Z" and
            rep.get("object_marking_refs") == [TLP["amber"]] and
            rep.get("external_references") == [{"source_name": "misp", "description": "MISP event",
                                                "external_id": MISP_EV1}],
            "%s: the event's report: %s" % (label, rep))
    t.check(who.get("type") == "identity" and who.get("name") == "Water-ISAC (example)" and
            all(o.get("created_by_ref") == by for o in got.values()),
            "%s: created by the event's Orgc: %s" % (label, who))
    pats = [got[i].get("pattern") for i in ids]
    t.check(pats[1] == "[domain-name:value = 'update.quasar-c2.example'] OR "
            "[ipv4-addr:value = '198.51.100.23']" and
            pats[5] == "[ipv4-addr:value = '198.51.100.24']" and
            pats[4] == "[file:hashes.MD5 = '5d41402abc4b2a76b9719d911017c592']" and
            pats[8] == "[ipv6-addr:value = '2001:db8:77::1']",
            "%s: the MISP patterns: %s" % (label, pats))
    marks = [got[i].get("object_marking_refs") for i in ids]
    t.check(marks == [[TLP["amber"]]] * 6 + [[TLP["red"]]] + [[TLP["amber"]]] * 2,
            "%s: tlp:amber from the event, tlp:red from an attribute: %s" % (label, marks))
    t.check(got[ids[0]].get("valid_from") == "2026-11-29T23:00:00.000Z" and
            got[ids[0]].get("valid_until") == "2026-12-05T00:00:00.000Z",
            "%s: first_seen and last_seen: %s" % (label, got[ids[0]]))
    st, _ = get(ids[6], operator)
    st2, o = get(ids[0], operator)
    t.check(st == 404 and st2 == 200 and o.get("id") == ids[0],
            "%s: the operator reads the TLP:AMBER ones, not the TLP:RED one: %s %s" %
            (label, st, st2))

    # The feed: its manifest's events, the one imported again among them.
    before = count()
    rc, out, err = intel("import", MISP_FEED)
    t.check(rc == 0 and "misp: 2 events read, 15 attributes" in out and
            "misp: made 11 indicators, 2 reports, 1 identity" in out and
            '"success_count": 14' in out,
            "%s: intel import of a MISP feed: %d %r %r" % (label, rc, out, err))
    after = count()
    rc, out, err = intel("import", MISP_FEED)
    again = count()
    vers = [get(oid, versions=True)[1] for oid in (ids[0], "report--" + MISP_EV1, by)]
    t.check(rc == 0 and after[0] == before[0] + 3 and again == after and
            all(len(v) == 1 for v in vers),
            "%s: imported again, no new version: %d %s %s %s %s" %
            (label, rc, before, after, again, vers))
    st, o = get("indicator--b8c47bc2-b190-4839-9f4f-b24b2013cf7c")
    st, r2 = get("report--" + MISP_EV2)
    t.check(o.get("object_marking_refs") == [TLP["clear"]] and
            o.get("pattern") == "[file:hashes.'SHA-1' = "
            "'aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d']" and
            r2.get("object_refs") == ["indicator--69db21fd-feb7-4932-ad4c-1a603d35e9f2",
                                      "indicator--b8c47bc2-b190-4839-9f4f-b24b2013cf7c"] and
            r2.get("created_by_ref") == by,
            "%s: the feed's second event: %s %s" % (label, o, r2))

    # A manifest naming an event file that is not there: the rest go in,
    # and the exit status says so.
    d = os.path.join(os.path.dirname(tw.logpath), label + "-misp-feed")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(MISP_FEED, "manifest.json")) as f:
        manifest = json.load(f)
    manifest["0a1b2c3d-0000-4000-8000-000000000000"] = {"info": "gone"}
    manifest["../../etc/passwd"] = {"info": "not a uuid"}
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(manifest, f)
    for u in (MISP_EV1, MISP_EV2):
        with open(os.path.join(MISP_FEED, u + ".json")) as f, \
                open(os.path.join(d, u + ".json"), "w") as g:
            g.write(f.read())
    rc, out, err = intel("import", d)
    t.check(rc == 2 and "2 event files not read" in out and '"success_count": 14' in out and
            "0a1b2c3d-0000-4000-8000-000000000000.json: cannot open it" in err and
            "'../../etc/passwd' is not an event uuid" in err,
            "%s: a feed with an event file missing: %d %r %r" % (label, rc, out, err))
    rc, out, err = intel("import", ev1, "--format", "stix")
    t.check(rc == 2 and "not a STIX 2.1 bundle" in err, "%s: --format stix of MISP: %d %r" %
            (label, rc, err))
    rc, out, err = intel("import", MISP_FEED, "--format", "list")
    t.check(rc == 1, "%s: --format list of a feed directory: %d %r" % (label, rc, err))
    rc, out, err = intel("import", ev1, "--format", "csv")
    t.check(rc == 1 and "--format" in err, "%s: --format csv: %d %r" % (label, rc, err))

    # Every object the import made validates against the OASIS schemas.
    schemas = os.path.join(shared, "data", "stix2-schemas", "schemas")
    if os.path.isdir(schemas):
        import pathlib
        from test_stix import validators
        v = validators(pathlib.Path(schemas))
        made = [get(oid)[1] for oid in ids + [
            "indicator--69db21fd-feb7-4932-ad4c-1a603d35e9f2",
            "indicator--b8c47bc2-b190-4839-9f4f-b24b2013cf7c",
            "report--" + MISP_EV1, "report--" + MISP_EV2, by]]
        bad = [(o.get("id"), e.message[:120]) for o in made
               for e in v[o.get("type", "indicator")].iter_errors(o)]
        t.check(len(made) == 14 and all(o.get("id") for o in made) and not bad,
                "%s: the MISP import's %d objects, invalid: %s" % (label, len(made), bad[:3]))
    else:
        print("stix2-schemas: ../shared absent, the MISP schema check skipped")


def main():
    a = common.parse_args()
    t = common.Checker("taxii")
    with tempfile.TemporaryDirectory() as d:
        for label, store in both_stores(t, a.yagura, d, "tower_taxii"):
            tw = Tower(a.yagura, store, d)
            try:
                run(t, tw, label, a.yagura, a.shared)
            finally:
                rc = tw.stop()
            t.check(rc == 0, "%s: tower exit %d on SIGTERM" % (label, rc))
    t.finish()


main()
