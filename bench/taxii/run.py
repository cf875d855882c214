#!/usr/bin/env python3
"""bench/taxii - the tower's TAXII 2.1 server under a large collection
(issue 14; bench/README.md).

Fills the indicators collection with N indicators (default 1,000,000), in
envelopes of 1000 as a client would post them, then pages the whole
collection out at limit=1000 the way a TAXII client does (next cursor, one
keep-alive connection) and prints objects per second both ways and the
time to first byte of each page: the first pages against the last, which
should not differ (a server that pages by offset slows down as it goes).

There is no TAXII server in Debian to run beside it; the OASIS reference
server (medallion, not packaged) keeps a collection in memory and is known
to time out at a few thousand objects.

Usage: run.py YAGURA STORE [N]   (STORE: a SQLite path or a postgres:// URL)"""
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid

TAXII = "application/taxii+json;version=2.1"
INDICATORS = "6b6e0ee2-5b1a-5d5e-9c5e-3f2b7c1a0002"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"


def main():
    yagura, store = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1000000
    admin = subprocess.run([yagura, "admin", "init", "--store", store], capture_output=True,
                           text=True, check=True).stdout.strip()
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    log = open(os.path.join(os.environ.get("BENCH_OUT", "/tmp"), "taxii-tower.log"), "w")
    tower = subprocess.Popen([yagura, "tower", "--listen", "127.0.0.1:%d" % port, "--store", store,
                              "--max-body", str(4 << 20)], stdout=log, stderr=log)
    conn = None
    try:
        for _ in range(200):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                break
            except OSError:
                time.sleep(0.05)

        def call(method, path, body=None, token=admin, ctype="application/json"):
            h = {"Authorization": "Bearer " + token}
            if body is not None:
                h["Content-Type"] = ctype
                body = json.dumps(body).encode()
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            return r.status, r.read()

        def token(name, role):
            st, u = call("POST", "/api/v1/users", {"name": name, "role": role})
            st, tk = call("POST", "/api/v1/tokens", {"user_id": json.loads(u)["id"]})
            return json.loads(tk)["token"]

        analyst, sensor = token("bench-analyst", "analyst"), token("bench-sensor", "sensor")
        t0 = time.monotonic()
        path = "/taxii2/api/collections/%s/objects/" % INDICATORS
        for start in range(0, n, 1000):
            objs = []
            for i in range(start, min(n, start + 1000)):
                ip = "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255)
                objs.append({"type": "indicator", "spec_version": "2.1",
                             "id": "indicator--%s" % uuid.UUID(int=i + 1, version=4),
                             "created": "2026-12-01T00:00:00.000Z",
                             "modified": "2026-12-01T00:00:00.000Z",
                             "name": "bench %d" % i, "pattern": "[ipv4-addr:value = '%s']" % ip,
                             "pattern_type": "stix", "valid_from": "2026-12-01T00:00:00Z",
                             "object_marking_refs": [GREEN]})
            st, body = call("POST", path, {"objects": objs}, analyst, TAXII)
            if st != 202:
                sys.exit("posting: HTTP %d %s" % (st, body[:200]))
        posted = time.monotonic() - t0
        print("taxii: %d indicators posted in %.1f s: %.0f objects/s (envelopes of 1000)"
              % (n, posted, n / posted))

        ttfb, got, nxt = [], 0, None
        t0 = time.monotonic()
        while True:
            q = path + "?limit=1000" + ("&next=%s" % nxt if nxt else "")
            a = time.monotonic()
            conn.request("GET", q, headers={"Authorization": "Bearer " + sensor,
                                            "Accept": TAXII})
            r = conn.getresponse()  # the status line and headers are in
            ttfb.append(time.monotonic() - a)
            env = json.loads(r.read())
            if r.status != 200:
                sys.exit("paging: HTTP %d %s" % (r.status, env))
            got += len(env.get("objects", []))
            if not env.get("more"):
                break
            nxt = env["next"]
        paged = time.monotonic() - t0
        k = min(10, len(ttfb) // 2) or 1
        first, last = statistics.median(ttfb[:k]), statistics.median(ttfb[-k:])
        print("taxii: %d objects paged out in %d pages in %.1f s: %.0f objects/s" %
              (got, len(ttfb), paged, got / paged))
        print("taxii: time to first byte, median of the first %d pages %.1f ms, of the last %d "
              "%.1f ms: ratio %.2f; worst page %.1f ms" % (k, first * 1000, k, last * 1000,
                                                          last / first, max(ttfb) * 1000))
        if got != n:
            sys.exit("taxii: paged out %d of %d" % (got, n))
    finally:
        if conn is not None:
            conn.close()
        tower.terminate()
        tower.wait(60)


main()
