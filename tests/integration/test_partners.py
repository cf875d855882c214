"""A tower pulls a partner's TAXII 2.1 collection (issue 14): a second
tower plays the partner (an ISAC). Its objects arrive in the local
collection partner-isac as the partner sent them, identity and markings
and all, except its TLP:RED one, which the partner keeps to its own; only
what was added since the last pull is asked for; a partner
that refuses is logged and retried, and nothing else stops; the pulls are
in the transparency log, which audit verify finds whole."""
import json
import os
import subprocess
import tempfile
import time
import uuid

import common
from towerlib import Tower

INDICATORS = "6b6e0ee2-5b1a-5d5e-9c5e-3f2b7c1a0002"
TAXII = "application/taxii+json;version=2.1"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
ISAC = "identity--%s" % uuid.uuid4()


def call(tw, method, path, tok, body=None):
    """tw.call in TAXII's media type, the answer parsed."""
    st, b, h = tw.call(method, path, json.dumps(body).encode() if body is not None else None,
                       tok, headers={"Content-Type": TAXII, "Accept": TAXII})
    return st, json.loads(b) if isinstance(b, str) and b else b, h


def post(tw, tok, objs):
    return call(tw, "POST", "/taxii2/api/collections/%s/objects/" % INDICATORS, tok,
                {"objects": objs})


def indicator(ip, mark):
    return {"type": "indicator", "spec_version": "2.1", "id": "indicator--%s" % uuid.uuid4(),
            "created": "2026-12-05T00:00:00.000Z", "modified": "2026-12-05T00:00:00.000Z",
            "created_by_ref": ISAC, "pattern": "[ipv4-addr:value = '%s']" % ip,
            "pattern_type": "stix", "valid_from": "2026-12-05T00:00:00Z",
            "object_marking_refs": [mark]}


def local(tw, tok, coll):
    st, env, _ = call(tw, "GET", "/taxii2/api/collections/%s/objects/?limit=1000" % coll, tok)
    return {o["id"]: o for o in env.get("objects", [])} if st == 200 else None


def main():
    a = common.parse_args()
    t = common.Checker("partners")
    with tempfile.TemporaryDirectory() as d:
        pd = os.path.join(d, "partner")
        os.makedirs(pd)
        partner = Tower(a.yagura, os.path.join(pd, "p.db"), pd)
        ours = None
        try:
            p_analyst = partner.token_for("isac-analyst", "analyst")
            pull_tok = partner.token_for("office-puller", "sensor", os.path.join(d, "isac.token"))
            with open(os.path.join(d, "bad.token"), "w") as f:
                f.write("ygt_" + "A" * 43 + "\n")
            ident = {"type": "identity", "spec_version": "2.1", "id": ISAC,
                     "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                     "name": "Water ISAC", "identity_class": "organization"}
            first = [ident, indicator("198.51.100.30", GREEN), indicator("198.51.100.31", RED)]
            st, s, _ = post(partner, p_analyst, first)
            t.check(st == 202 and s["success_count"] == 3, "partner: posted: %s %s" % (st, s))

            conf = os.path.join(d, "ours.conf")
            url = "http://127.0.0.1:%d/taxii2/api/collections/%s/" % (partner.port, INDICATORS)
            with open(conf, "w") as f:
                f.write("[partners]\nisac = %s %s 1s\nbad = %s %s 1s\n" % (
                    url, os.path.join(d, "isac.token"), url, os.path.join(d, "bad.token")))
            od = os.path.join(d, "ours")
            os.makedirs(od)
            ours = Tower(a.yagura, os.path.join(od, "o.db"), od, extra=["--config", conf])
            analyst = ours.token_for("analyst1", "analyst")
            st, cl, _ = call(ours, "GET", "/taxii2/api/collections/", analyst)
            coll = {c["alias"]: c["id"] for c in cl.get("collections", [])}
            t.check("partner-isac" in coll and "partner-bad" in coll,
                    "the partners' collections: %s" % coll)
            cid = coll.get("partner-isac", "")
            got = None
            for _ in range(100):
                got = local(ours, analyst, cid)
                if got is not None and len(got) >= 2:
                    break
                time.sleep(0.1)
            t.check(got is not None and all(got.get(o["id"]) == o for o in first[:2]),
                    "the partner's objects arrive as it sent them: %s" % got)
            # Its TLP:RED one is for its own: the partner never hands it over.
            t.check(got is not None and first[2]["id"] not in got,
                    "the partner's TLP:RED object stays with the partner: %s" % got)
            # Only what was added since: a fourth arrives, nothing twice.
            later = indicator("198.51.100.32", GREEN)
            post(partner, p_analyst, [later])
            for _ in range(100):
                got = local(ours, analyst, cid)
                if got is not None and later["id"] in got:
                    break
                time.sleep(0.1)
            st, m, _ = call(ours, "GET", "/taxii2/api/collections/%s/manifest/?match[version]=all"
                            % cid, analyst)
            t.check(later["id"] in (got or {}) and len(m.get("objects", [])) == 3,
                    "the next pull brings the new one and nothing twice: %s" % m)
            # Who else may read it: nobody but the office's analysts.
            sensor = ours.token_for("sensor1", "sensor")
            st, _, _ = call(ours, "GET", "/taxii2/api/collections/%s/" % cid, sensor)
            t.check(st == 404, "a sensor does not see the partner's collection: %s" % st)
            with open(ours.logpath) as f:
                log = f.read()
            t.check("partner bad:" in log and "HTTP 401" in log and log.count("partner bad:") == 1,
                    "a refusing partner is logged once: %s" % log[-600:])
            st, _, _ = ours.call("GET", "/healthz")
            t.check(st == 200, "the tower serves on")
            st, vkey, _ = ours.call("GET", "/log/key")
            p = subprocess.run([a.yagura, "audit", "verify", "--key", vkey.strip(), "--store",
                                ours.store], capture_output=True, text=True, timeout=300)
            t.check(p.returncode == 0 and "rows are as the entries recorded them" in p.stdout,
                    "audit verify --store: %d\n%s%s" % (p.returncode, p.stdout, p.stderr))
        finally:
            if ours is not None:
                t.check(ours.stop() == 0, "our tower stops cleanly")
            partner.stop()
    t.finish()


main()
