"""A hostile client against the tower's HTTP layer, over raw sockets:

- framing that a proxy in front could read otherwise (two Content-Length,
  Content-Length with Transfer-Encoding, codings other than chunked, a
  space before the colon) is refused with 400 in the JSON error shape and
  never reaches a handler;
- a request target or header over the layer's limits is answered 414 / 431
  in the JSON error shape; what libmicrohttpd refuses itself keeps its
  status (and its HTML: it has no hook for the body) and is counted;
- two thousand connections from one address, each holding half a request,
  keep nobody else out: the address gets its share (per_ip_connections),
  the rest are closed at accept, the ones it holds are cut when the header
  deadline passes even if they trickle bytes, and /metrics counts both;
- clients that pipeline requests for a large answer and never read (or
  vanished without a FIN) stall the tower's writes: others are served
  meanwhile, and the stalled connections are cut at the idle timeout."""
import json
import os
import resource
import socket
import tempfile
import time

import common
from towerlib import Tower


def raw(port, data, src="127.0.0.1", timeout=10.0):
    """Sends data on a new connection and reads until the server closes it
    or timeout passes. Returns (bytes, closed)."""
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(timeout)
    out, closed = b"", False
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(data)
        end = time.time() + timeout
        while time.time() < end:
            b = s.recv(65536)
            if not b:
                closed = True
                break
            out += b
    except socket.timeout:
        pass
    except OSError:
        closed = True
    finally:
        s.close()
    return out, closed


def responses(data):
    """Splits what a connection received into (status, headers, body)
    triples (Content-Length framing only)."""
    res = []
    while data.startswith(b"HTTP/"):
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.decode("latin-1").split("\r\n")
        hdr = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdr[k.strip().lower()] = v.strip()
        n = int(hdr.get("content-length", "0"))
        res.append((int(lines[0].split()[1]), hdr, rest[:n]))
        data = rest[n:]
    return res


def json_error(resp, status):
    """Is resp one answer of status in the tower's error shape
    {"error": {"status", "code", "message"}}?"""
    st, hdr, body = resp
    if st != status or not hdr.get("content-type", "").startswith("application/json"):
        return False
    try:
        e = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return e.get("status") == status and isinstance(e.get("code"), str) and \
        isinstance(e.get("message"), str) and e["message"] != ""


def get(port, path, src="127.0.0.2", timeout=10.0):
    """GET path from address src; returns (status, body text) or (None, why)."""
    data, _ = raw(port, b"GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" % path.encode(),
                  src, timeout)
    r = responses(data)
    return (r[0][0], r[0][2].decode()) if r else (None, repr(data[:80]))


def metric(text, series):
    """The value of one series in a /metrics text, or 0 when absent."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0


def org_count(tw):
    st, orgs, _ = tw.call("GET", "/api/v1/orgs", token=tw.admin)
    return len(orgs["orgs"]) if st == 200 and isinstance(orgs, dict) and "orgs" in orgs else -1


def smuggling(t, tw):
    tok = tw.admin.encode()
    org = json.dumps({"name": "Smuggled Co", "sector": "electricity"}).encode()
    head = (b"POST /api/v1/orgs HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + tok +
            b"\r\nContent-Type: application/json\r\n")
    smuggled = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
    before = org_count(tw)
    t.check(before >= 0, "list orgs: %d" % before)
    cases = [
        ("two different Content-Length",
         b"Content-Length: %d\r\nContent-Length: %d\r\n\r\n" % (len(org), len(org + smuggled)) +
         org + smuggled, 400),
        ("the same Content-Length twice",
         b"Content-Length: %d\r\nContent-Length: %d\r\n\r\n" % (len(org), len(org)) + org, 400),
        ("Content-Length with Transfer-Encoding: chunked",
         b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n" % (len(org), len(org)) +
         org + b"\r\n0\r\n\r\n", 400),
        ("Transfer-Encoding: gzip (read until close)",
         b"Transfer-Encoding: gzip\r\n\r\n" + org, 400),
        ("Transfer-Encoding: gzip, chunked",
         b"Transfer-Encoding: gzip, chunked\r\n\r\n%x\r\n" % len(org) + org + b"\r\n0\r\n\r\n", 501),
        ("a space before the colon (\"Content-Length : N\")",
         b"Content-Length : %d\r\n\r\n" % len(org) + org, 400),
    ]
    for what, rest, status in cases:
        data, closed = raw(tw.port, head + rest, timeout=5)
        r = responses(data)
        t.check(len(r) == 1 and json_error(r[0], status) and closed,
                "%s: want one %d in the JSON error shape and the connection closed; got %r "
                "(closed: %s)" % (what, status, data[:300], closed))
    # HTTP/1.0 has no chunked coding.
    data, _ = raw(tw.port, b"POST /api/v1/orgs HTTP/1.0\r\nAuthorization: Bearer " + tok +
                  b"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"%x\r\n" % len(org) + org + b"\r\n0\r\n\r\n", timeout=5)
    r = responses(data)
    t.check(len(r) == 1 and json_error(r[0], 400), "Transfer-Encoding on HTTP/1.0: %r" % data[:300])
    t.check(org_count(tw) == before, "no refused request reached the handler: %d orgs, %d before" %
            (org_count(tw), before))
    # What is well framed still works: chunked alone, and one Content-Length.
    ok = json.dumps({"name": "Chunked Co", "sector": "electricity"}).encode()
    data, _ = raw(tw.port, head + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                  b"%x\r\n" % len(ok) + ok + b"\r\n0\r\n\r\n", timeout=5)
    r = responses(data)
    t.check(len(r) == 1 and r[0][0] == 201, "chunked alone is read: %r" % data[:300])
    ok = json.dumps({"name": "Length Co", "sector": "electricity"}).encode()
    data, _ = raw(tw.port, head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(ok) + ok,
                  timeout=5)
    r = responses(data)
    t.check(len(r) == 1 and r[0][0] == 201, "one Content-Length is read: %r" % data[:300])


def limits(t, tw):
    # Over the layer's limits, under libmicrohttpd's buffer: answered here.
    data, _ = raw(tw.port, b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", timeout=5)
    r = responses(data)
    t.check(len(r) == 1 and json_error(r[0], 414), "10 kB target: %r" % data[:300])
    data, _ = raw(tw.port, b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 20000 +
                  b"\r\n\r\n", timeout=5)
    r = responses(data)
    t.check(len(r) == 1 and json_error(r[0], 431), "20 kB header: %r" % data[:300])
    data, _ = raw(tw.port, b"GET /a b HTTP/1.1\r\nHost: t\r\n\r\n", timeout=5)
    r = responses(data)
    t.check(len(r) == 1 and json_error(r[0], 400), "a space in the target: %r" % data[:300])
    # libmicrohttpd answers these itself, before any callback that could
    # shape the body: the status must still be right, and the ones with a
    # request line are counted.
    st, text = get(tw.port, "/metrics", "127.0.0.1")
    before = metric(text, "yagura_http_protocol_errors_total")
    for what, req, status in (
            ("a header line without a colon", b"GET /healthz HTTP/1.1\r\nHost: t\r\nnocolon\r\n\r\n",
             400),
            ("a 100 kB header", b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 100000 +
             b"\r\n\r\n", 431),
            ("a 100 kB target", b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
            ("HTTP/2.0 on HTTP/1 framing", b"GET /healthz HTTP/2.0\r\nHost: t\r\n\r\n", 505)):
        data, _ = raw(tw.port, req, timeout=5)
        r = responses(data)
        t.check(len(r) >= 1 and r[0][0] == status, "%s: want %d, got %r" % (what, status, data[:200]))
    st, text = get(tw.port, "/metrics", "127.0.0.1")
    t.check(metric(text, "yagura_http_protocol_errors_total") >= before + 2,
            "libmicrohttpd's own refusals counted: %s then %s" %
            (before, metric(text, "yagura_http_protocol_errors_total")))


def slow_clients(t, yagura, d):
    # The usual soft limit of open files: before the per-address cap, two
    # thousand connections took every descriptor and nobody got in.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, soft), hard))
    try:
        tw = Tower(yagura, os.path.join(d, "slow.db"), d)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY
                                                    else 8192, hard))
    n = 2000
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < n + 200:
        n = resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 200
        print("note: open file limit %d: %d connections" % (n + 200, n))
    try:
        # One client trickling its header a byte a second: a timeout that
        # restarts with every byte would never cut it.
        trickle = socket.socket()
        trickle.bind(("127.0.0.3", 0))
        trickle.connect(("127.0.0.1", tw.port))
        trickle.setblocking(False)
        pending = b"GET /healthz HTTP/1.1\r\nHost: t\r\n" + b"X-Slow: " + b"a" * 100
        held = []
        for _ in range(n):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", tw.port))
            except BlockingIOError:
                pass
            held.append(s)
        time.sleep(1)
        for s in held:
            try:
                s.send(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ")
            except OSError:
                pass
        time.sleep(1)
        start = time.time()
        st, body = get(tw.port, "/healthz", "127.0.0.2", timeout=10)
        took = time.time() - start
        t.check(st == 200 and took < 5, "/healthz from another address while %d connections "
                "hold half a request: %s %s in %.1f s" % (n, st, body[:80], took))
        st, text = get(tw.port, "/metrics", "127.0.0.2")
        refused = metric(text, 'yagura_http_connections_refused_total{reason="per_ip"}')
        t.check(st == 200 and refused >= n / 2,
                "connections over the per-address cap refused and counted: %s" % refused)
        # The held ones are cut at the header deadline (10 s by default),
        # the trickling one too; the address is then served again.
        cut = trickle_cut = None
        deadline = time.time() + 40
        while time.time() < deadline and (cut is None or trickle_cut is None):
            if trickle_cut is None:
                try:
                    if pending:
                        trickle.send(pending[:1])
                        pending = pending[1:]
                    if trickle.recv(100) == b"":
                        trickle_cut = time.time() - start
                except BlockingIOError:
                    pass
                except OSError:
                    trickle_cut = time.time() - start
            if cut is None:
                st, text = get(tw.port, "/metrics", "127.0.0.2")
                if metric(text, 'yagura_http_connections_timed_out_total{phase="header"}') >= 32:
                    cut = time.time() - start
            time.sleep(1)
        t.check(cut is not None, "held connections cut at the header deadline and counted")
        t.check(trickle_cut is not None and trickle_cut < 30,
                "a header trickled a byte a second is cut: after %s s" % trickle_cut)
        st, _ = get(tw.port, "/healthz", "127.0.0.1", timeout=10)
        t.check(st == 200, "the address is served again once its connections are cut: %s" % st)
        for s in held:
            s.close()
        trickle.close()
    finally:
        rc = tw.stop()
    t.check(rc == 0, "tower exit %d on SIGTERM" % rc)


def slow_readers(t, yagura, d):
    """Clients that ask for a large answer, many times on one connection,
    and never read it (or have vanished without a FIN: to the tower the
    same): the tower's writes stall on them. Others are still served, and
    the stalled connections are cut once idle_timeout passes without
    progress."""
    cfg = os.path.join(d, "readers.ini")
    with open(cfg, "w") as f:
        f.write("[tower]\nidle_timeout = 3s\n")
    tw = Tower(yagura, os.path.join(d, "readers.db"), d, extra=["--config", cfg])
    held = []
    try:
        req = b"GET /api/v1/openapi.json HTTP/1.1\r\nHost: t\r\n\r\n" * 50
        for i in range(24):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.bind(("127.0.0.4", 0))
            s.connect(("127.0.0.1", tw.port))
            s.setblocking(False)
            try:
                s.send(req)
            except BlockingIOError:
                pass
            held.append(s)
        time.sleep(1)
        start = time.time()
        st, body = get(tw.port, "/api/v1/openapi.json", "127.0.0.2", timeout=10)
        took = time.time() - start
        t.check(st == 200 and len(body) > 50000 and took < 5,
                "a reader served while 24 connections stall the tower's writes: %s, %d bytes "
                "in %.1f s" % (st, len(body), took))
        # Cut once idle_timeout (3 s) passes without progress: reading
        # what was sent comes to the end of the stream.
        time.sleep(6)
        cut = 0
        for s in held:
            s.setblocking(True)
            s.settimeout(5)
            got = 0
            try:
                while True:
                    b = s.recv(1 << 20)
                    if not b:
                        cut += 1
                        break
                    got += len(b)
                    if got > 50 * 97725:  # all 50 answers came: it was not cut
                        break
            except ConnectionResetError:
                cut += 1
            except socket.timeout:
                pass
        t.check(cut == len(held), "stalled connections cut at the idle timeout: %d of %d"
                % (cut, len(held)))
        st, _ = get(tw.port, "/healthz", "127.0.0.4", timeout=10)
        t.check(st == 200, "their address is served again: %s" % st)
    finally:
        for s in held:
            s.close()
        rc = tw.stop()
    t.check(rc == 0, "tower exit %d on SIGTERM" % rc)


def main():
    a = common.parse_args()
    t = common.Checker("http_hardening")
    with tempfile.TemporaryDirectory() as d:
        tw = Tower(a.yagura, os.path.join(d, "tower.db"), d)
        try:
            smuggling(t, tw)
            limits(t, tw)
        finally:
            rc = tw.stop()
        t.check(rc == 0, "tower exit %d on SIGTERM" % rc)
        slow_clients(t, a.yagura, d)
        slow_readers(t, a.yagura, d)
    t.finish()


main()
