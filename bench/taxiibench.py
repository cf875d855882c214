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

Then the time from an indicator's publication to a sensor's first alert
on it: a sensor (`yagura analyze --intel-taxii ... --intel-poll 1 --tower
...`) holds the whole collection and reads, from a pipe, a TCP SYN every 20
ms to an address nobody has named yet; the address's indicator is posted;
the bench prints when the sensor took it (its "added" line) and when its
alert reached the tower (GET /api/v1/alerts).

Usage: taxiibench.py YAGURA STORE [N]   (STORE: a SQLite path or a postgres:// URL)"""
import http.client
import json
import os
import select
import socket
import struct
import statistics
import subprocess
import sys
import time
import uuid

TAXII = "application/taxii+json;version=2.1"
INDICATORS = "6b6e0ee2-5b1a-5d5e-9c5e-3f2b7c1a0002"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"


def syn(i, dst):
    """A pcap record: an Ethernet frame with a TCP SYN to dst, now."""
    t = time.time()
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, i & 0xffff, 0, 64, 6, 0,
                     socket.inet_aton("10.254.0.1"), socket.inet_aton(dst))
    tcp = struct.pack("!HHIIBBHHH", 10000 + i % 50000, 443, i, 0, 5 << 4, 0x02, 65535, 0, 0)
    frame = b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\x08\x00" + ip + tcp
    return struct.pack("<IIII", int(t), int((t % 1) * 1e6), len(frame), len(frame)) + frame


def latency(yagura, port, call, token, analyst, n):
    url = "http://127.0.0.1:%d" % port
    d = os.environ.get("BENCH_OUT", "/tmp")
    sensor = token("bench-edge", "sensor")
    tokfile = os.path.join(d, "taxii-sensor.token")
    with open(tokfile, "w") as f:
        f.write(sensor + "\n")
    ov = token("bench-overseer", "overseer")
    st, a = call("POST", "/api/v1/monitoring/authorizations", {
        "sensor": "bench-edge", "prefixes": ["10.254.0.0/16"], "purpose": "bench",
        "until": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))}, analyst)
    aid = json.loads(a)["authorization"]["id"]
    call("POST", "/api/v1/monitoring/authorizations/%d/approve" % aid, {"reason": "bench"}, ov)
    time.sleep(1.5)  # the tower activates it within its pass
    dst = "10.254.9.9"
    t0 = time.monotonic()
    p = subprocess.Popen([yagura, "analyze", "--intel-taxii", url, "--collection", INDICATORS,
                          "--intel-poll", "1", "--tower", url, "--token-file", tokfile,
                          "--spool", os.path.join(d, "taxii-spool"), "--post-wait", "5",
                          "--no-progress", "-q", "-o", "/dev/null", "-"],
                         stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        p.stdin.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        p.stdin.flush()
    except BrokenPipeError:
        pass
    err, started, took, alerted, i = b"", None, None, None, 0
    posted = None
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and alerted is None:
        r, _, _ = select.select([p.stderr], [], [], 0.02)
        if r:
            chunk = os.read(p.stderr.fileno(), 65536)
            if not chunk:
                break
            err += chunk
        if started is None and b"indicators in force" in err:
            started = time.monotonic() - t0
            ip = dst
            st, _ = call("POST", "/taxii2/api/collections/%s/objects/" % INDICATORS, {"objects": [{
                "type": "indicator", "spec_version": "2.1",
                "id": "indicator--%s" % uuid.uuid4(), "created": "2026-12-02T00:00:00.000Z",
                "modified": "2026-12-02T00:00:00.000Z", "name": "bench latency",
                "pattern": "[ipv4-addr:value = '%s']" % ip, "pattern_type": "stix",
                "valid_from": "2026-12-01T00:00:00Z", "object_marking_refs": [GREEN]}]},
                analyst, TAXII)
            posted = time.monotonic()
        if posted is not None and took is None and b" added" in err.split(b"indicators in force", 1)[-1]:
            took = time.monotonic() - posted
        if posted is not None:
            try:
                p.stdin.write(syn(i, dst))
                p.stdin.flush()
            except BrokenPipeError:
                break  # the sensor ended: its stderr says why, below
            i += 1
            st, body = call("GET", "/api/v1/alerts?dest_ip=%s&limit=1" % dst, None, analyst)
            if st == 200 and json.loads(body).get("alerts"):
                alerted = time.monotonic() - posted
                # The sensor's line may have come while the alert travelled.
                r, _, _ = select.select([p.stderr], [], [], 0)
                if r and took is None:
                    err += os.read(p.stderr.fileno(), 65536)
                    if b" added" in err.split(b"indicators in force", 1)[-1]:
                        took = alerted
    try:
        p.stdin.close()
    except BrokenPipeError:
        pass
    p.wait(120)
    err += p.stderr.read()
    if started is None or alerted is None:
        sys.exit("taxii: the sensor did not alert: %s" % err.decode(errors="replace")[-800:])
    print("taxii: a sensor polling every 1 s started with the %d indicators in %.1f s" %
          (n, started))
    print("taxii: publication to the sensor's taking it %.2f s, to its alert in the tower %.2f s"
          % (took if took is not None else float("nan"), alerted))


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
            nonlocal conn
            h = {"Authorization": "Bearer " + token}
            if body is not None:
                h["Content-Type"] = ctype
                body = json.dumps(body).encode()
            for attempt in (0, 1):
                try:
                    conn.request(method, path, body=body, headers=h)
                    r = conn.getresponse()
                    return r.status, r.read()
                except (ConnectionError, http.client.HTTPException):
                    # The tower closed a connection idle past its timeout.
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            sys.exit("taxii: the tower does not answer")

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
        latency(yagura, port, call, token, analyst, n)
    finally:
        if conn is not None:
            conn.close()
        tower.terminate()
        tower.wait(60)


main()
