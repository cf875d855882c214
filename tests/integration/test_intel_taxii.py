"""Sensors in the loop (issue 14): `yagura analyze --intel-taxii` against a
real tower's TAXII collection of indicators.

1. An analyst posts an indicator for the C2 server of a real capture
   (AgentTesla's SMTP exfiltration to 43.255.154.57); a sensor run on the
   capture with --intel-taxii and --tower alerts on it, the alert naming
   the indicator's STIX id, and the tower receives that alert.
2. Within one poll interval: a sensor fed the capture through a pipe
   starts with an empty collection; the indicator is posted only then; once
   the sensor says it took it, the packets go in and the alert comes out.
   Then a revoked version is posted; once the sensor says so, the same
   traffic again raises no alert.
3. A server that cannot be reached, or refuses the token: one line and
   exit 8, before any packet. A poll answered with garbage is one warning,
   and the set in force stays.

SQLite only. Skipped (77) where ../shared is absent."""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from monitorlib import Sensor  # noqa: E402
from towerlib import Tower, authorize  # noqa: E402

CAPTURE = "cl-agenttesla__a30789ce-1e1c-4f96-a097-78c34b9fb612.pcap"
C2 = "43.255.154.57"
INDICATORS = "6b6e0ee2-5b1a-5d5e-9c5e-3f2b7c1a0002"
TAXII = "application/taxii+json;version=2.1"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"


def post(tw, token, objs):
    req = urllib.request.Request(
        "http://127.0.0.1:%d/taxii2/api/collections/%s/objects/" % (tw.port, INDICATORS),
        data=json.dumps({"objects": objs}).encode(), method="POST")
    req.add_header("Authorization", "Bearer " + token)
    req.add_header("Accept", TAXII)
    req.add_header("Content-Type", TAXII)
    with urllib.request.urlopen(req, timeout=30) as r:
        s = json.loads(r.read())
    if s.get("success_count") != len(objs):
        sys.exit("posting %s: %s" % (objs, s))


def now_stix(offset=0.0):
    t = time.time() + offset
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)


def indicator(value, oid=None, modified=None, **extra):
    t = now_stix()
    o = {"type": "indicator", "spec_version": "2.1", "id": oid or "indicator--%s" % uuid.uuid4(),
         "created": t, "modified": modified or t, "name": "AgentTesla C2 %s" % value,
         "pattern": "[ipv4-addr:value = '%s']" % value, "pattern_type": "stix",
         "valid_from": t, "object_marking_refs": [GREEN]}
    o.update(extra)
    return o


def read_pcap(path):
    """[(timestamp, frame)] of a little-endian, microsecond classic pcap."""
    import struct
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\xd4\xc3\xb2\xa1":
        sys.exit("%s: not a little-endian microsecond pcap" % path)
    out, off = [], 24
    while off + 16 <= len(data):
        sec, usec, cap, _ = struct.unpack("<IIII", data[off:off + 16])
        out.append((sec + usec / 1e6, data[off + 16:off + 16 + cap]))
        off += 16 + cap
    return out


def intel_alerts(recs, oid=None):
    return [r for r in recs if r.get("event_type") == "alert" and
            "indicator_id" in r.get("evidence", {}) and
            (oid is None or r["evidence"]["indicator_id"] == oid)]


def stub_server(answer):
    """A TAXII server whose objects route answers answer() (status, body)."""
    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            st, body = answer(self.path)
            self.send_response(st)
            self.send_header("Content-Type", TAXII)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main():
    a = common.parse_args()
    t = common.Checker("intel_taxii")
    pcap = os.path.join(common.shared_pcaps(a.shared), CAPTURE)

    with tempfile.TemporaryDirectory() as d:
        tw = Tower(a.yagura, os.path.join(d, "t.db"), d)
        url = "http://127.0.0.1:%d" % tw.port
        analyst = tw.token_for("analyst1", "analyst")
        tokfile = os.path.join(d, "token")
        sensor_tok = tw.token_for("sensor-1", "sensor", tokfile)
        authorize(tw, "sensor-1", sensor_token=sensor_tok)

        # 1. Posted first, then a sensor on the file.
        ind = indicator(C2)
        post(tw, analyst, [ind])
        out = os.path.join(d, "eve1.jsonl")
        p = subprocess.run([a.yagura, "analyze", "--intel-taxii", url, "--collection", INDICATORS,
                            "--tower", url, "--token-file", tokfile,
                            "--spool", os.path.join(d, "spool1"), "-o", out, pcap],
                           capture_output=True, text=True, timeout=300)
        recs = [json.loads(l) for l in open(out) if l.strip()]
        hits = intel_alerts(recs, ind["id"])
        t.check(p.returncode == 0, "exit %d: %s" % (p.returncode, p.stderr[-600:]))
        t.check("analyze: intel: taxii: collection %s at %s/taxii2/api/: 1 indicators in force"
                % (INDICATORS, url) in p.stderr, "the start line: %s" % p.stderr[:600])
        t.check(any(h["dest_ip"] == C2 and h["dest_port"] == 587 for h in hits) and
                len(hits) == len(intel_alerts(recs)),
                "the SMTP flow's alert names the indicator: %s" % intel_alerts(recs))
        st, res, _ = tw.call("GET", "/api/v1/alerts?limit=100", token=analyst)
        got = [x for x in (res.get("alerts", []) if st == 200 else [])
               if ind["id"] in json.dumps(x)]
        t.check(len(got) >= 1, "the tower has the alert: %s %s" % (st, str(res)[:300]))

        # Revoked before the next sensor starts: it starts with none in force.
        post(tw, analyst, [dict(ind, modified=now_stix(0.001), revoked=True)])

        # 2. Posted while the sensor runs: in force within a poll. The
        # capture goes in three times, each copy a day after the last, so
        # that each makes new flows and a new alert window.
        frames = read_pcap(pcap)
        day = 86400
        copy = lambda k: [(ts + k * day, f) for ts, f in frames]
        s = Sensor(a.yagura, url, tokfile, d, extra=[
            "--intel-taxii", url + "/taxii2/api/", "--collection", INDICATORS,
            "--intel-poll", "1", "--spool", os.path.join(d, "spool2")])
        i = s.wait_line(r"^analyze: intel: taxii: collection .*: 0 indicators in force$")
        t.check(i is not None, "the sensor starts with the revoked one out: %s" % s.lines)
        t.check(s.feed_analysed(copy(1)), "the first copy analysed")
        ind2 = indicator(C2, confidence=90)
        post(tw, analyst, [ind2])
        j = s.wait_line(r"^analyze: intel: taxii: 1 added \(1 indicators in force\)$",
                        after=(i or 0) + 1, timeout=30)
        t.check(j is not None, "the sensor takes the new one within a poll: %s" % s.lines[-5:])
        t.check(s.feed_analysed(copy(2)), "the second copy analysed")
        # 3. A revoked version; later traffic raises nothing.
        post(tw, analyst, [dict(ind2, modified=now_stix(0.001), revoked=True)])
        k = s.wait_line(r"^analyze: intel: taxii: 1 revoked \(0 indicators in force\)$",
                        after=(j or 0) + 1, timeout=30)
        t.check(k is not None, "the sensor drops it within a poll: %s" % s.lines[-5:])
        s.feed(copy(3))
        rc, err, recs = s.finish()
        t.check(rc == 0, "exit %d: %s" % (rc, err[-600:]))
        hits = intel_alerts(recs)
        when = lambda k: (time.strftime("%Y-%m-%d", time.gmtime(frames[0][0] + k * day)))
        by_copy = [[h for h in hits if h["timestamp"].startswith(when(k))] for k in (1, 2, 3)]
        t.check(not by_copy[0], "nothing before the indicator: %s" % by_copy[0][:2])
        t.check(len(by_copy[1]) >= 1 and all(h["evidence"]["indicator_id"] == ind2["id"]
                                             for h in by_copy[1]),
                "the alert names the indicator posted while it ran: %s" % hits)
        t.check(not by_copy[2], "nothing after the revocation: %s" % by_copy[2][:2])
        tw.stop()

    # 3. Refusals at start, and a bad answer later.
    with tempfile.TemporaryDirectory() as d:
        tokfile = os.path.join(d, "token")
        with open(tokfile, "w") as f:
            f.write("not-a-token\n")
        good = {"objects": [indicator(C2)]}
        state = {"body": json.dumps(good).encode(), "status": 200}
        srv = stub_server(lambda path: (state["status"], state["body"]))
        surl = "http://127.0.0.1:%d/taxii2/api/" % srv.server_address[1]
        base = [a.yagura, "analyze", "--collection", INDICATORS, "--token-file", tokfile,
                "-o", os.path.join(d, "o.jsonl")]
        p = subprocess.run(base + ["--intel-taxii", "http://127.0.0.1:9", pcap],
                           capture_output=True, text=True, timeout=60)
        t.check(p.returncode == 8 and p.stderr.count("\n") == 1 and
                "cannot fetch collection" in p.stderr and "could not be reached" in p.stderr,
                "unreachable: %d %r" % (p.returncode, p.stderr))
        state.update(status=401, body=b'{"title": "bad token", "http_status": "401"}')
        p = subprocess.run(base + ["--intel-taxii", surl, pcap], capture_output=True, text=True,
                           timeout=60)
        t.check(p.returncode == 8 and p.stderr.count("\n") == 1 and "refused the token" in
                p.stderr and "bad token" in p.stderr, "refused: %d %r" % (p.returncode, p.stderr))
        p = subprocess.run(base + ["--intel-taxii", surl, "--no-detect", pcap],
                           capture_output=True, text=True, timeout=60)
        t.check(p.returncode == 1, "--no-detect: %d %r" % (p.returncode, p.stderr))
        p = subprocess.run(base[:2] + ["--intel-taxii", surl, pcap], capture_output=True,
                           text=True, timeout=60)
        t.check(p.returncode == 1 and "go together" in p.stderr,
                "no --collection: %d %r" % (p.returncode, p.stderr))

        state.update(status=200, body=json.dumps(good).encode())
        s = subprocess.Popen(base + ["--intel-taxii", surl, "--intel-poll", "1", "-"],
                             stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        lines = []

        def read():
            for raw in s.stderr:
                lines.append(raw.decode(errors="replace").rstrip("\n"))
        th = threading.Thread(target=read, daemon=True)
        th.start()
        end = time.monotonic() + 30
        while time.monotonic() < end and not any("1 indicators in force" in l for l in lines):
            time.sleep(0.05)
        s.stdin.write(bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000"))
        s.stdin.flush()
        n = len(lines)
        state["body"] = b"not json"
        end = time.monotonic() + 30
        while time.monotonic() < end and len(lines) == n and s.poll() is None:
            time.sleep(0.05)
        t.check(any("cannot poll collection" in l and "keeping the 1 indicators" in l and
                    "not JSON" in l for l in lines[n:]),
                "a bad answer is one warning: %s" % lines[n:])
        # The rest of the streak says nothing more; each is a poll or two.
        for bad in (b'{"objects": 5}', b'{"more": true, "objects": []}', b"[" * 100000,
                    b'{"objects": [' + b'1,' * 20000 + b'1]}'):
            state["body"] = bad
            time.sleep(1.5)
        t.check(s.poll() is None, "the sensor still runs after bad answers")
        t.check(sum("cannot poll" in l for l in lines) == 1,
                "one warning for a streak of bad polls: %s" % lines)
        state["body"] = json.dumps(good).encode()
        end = time.monotonic() + 30
        while time.monotonic() < end and not any("answers again" in l for l in lines):
            time.sleep(0.05)
        t.check(any("answers again" in l for l in lines), "and it recovers: %s" % lines)
        s.stdin.close()
        t.check(s.wait(timeout=60) == 0, "exit 0 after bad answers: %s" % lines[-3:])
        srv.shutdown()
    t.finish()


main()
