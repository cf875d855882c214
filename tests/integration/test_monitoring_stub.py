"""yagura analyze --tower against a stub of the tower's side of the
monitoring-authorization contract (issue 13), so that the sensor's side is
tested whether or not the tower implements it: only traffic inside an
active authorization is analysed, the rest is counted unauthorized; a
revocation, an expiry while the tower is unreachable and a refusal at start
each do what the contract says. test_monitoring.py runs the same against
the real tower."""
import os
import subprocess
import sys
import tempfile
import time

import common
from monitorlib import *


def main():
    a = common.parse_args()
    t = common.Checker("monitoring_stub")
    y = a.yagura
    with tempfile.TemporaryDirectory() as d:
        tokfile = os.path.join(d, "token")
        with open(tokfile, "w") as f:
            f.write("yg_stub_token\n")
        stub = StubTower("yg_stub_token")
        stub.set(auths=[auth(3, ["192.0.2.0/24"])])

        # 1. Only 192.0.2.0/24 is authorized; then it is revoked.
        s = Sensor(y, stub.url, tokfile, d)
        i = s.wait_line(r"^analyze: monitoring: 1 authorization active \(id 3\)$")
        t.check(i is not None, "the first monitoring line: %s" % s.lines)
        inside = scan("192.0.2.66", 1000)
        outside = scan("203.0.113.9", 1001)
        arp = [(1002 + k * 0.001, ARP) for k in range(3)]
        v6 = [(1003 + k * 0.001, eth(ipv6("3fff::1", "3fff::2", 17, udp(5000 + k, 53, b"x")),
                                     0x86DD)) for k in range(5)]
        t.check(s.feed_analysed(inside + outside + arp + v6), "part 1 analysed")
        stub.set(auths=[])
        i = s.wait_line(r"^analyze: monitoring: no authorization active: every packet is "
                        r"dropped after its IP header$", after=i + 1)
        t.check(i is not None, "revocation is announced: %s" % s.lines[-5:])
        later = scan("192.0.2.77", 1010)
        s.feed(later)
        rc, err, recs = s.finish()
        want = len(outside) + len(v6) + len(later)
        t.check(rc == 0, "exit %d: %s" % (rc, err[-400:]))
        t.check(unauthorized(err) == want, "unauthorized %s, want %d: %s" %
                (unauthorized(err), want, [l for l in err.splitlines() if "monitoring" in l]))
        seen = {r.get("src_ip") for r in recs} | {r.get("dest_ip") for r in recs}
        t.check("192.0.2.66" in seen, "the authorized traffic has records")
        t.check(not seen & {"192.0.2.77", "203.0.113.9", "3fff::1"},
                "no record of unauthorized traffic: %s" %
                (seen & {"192.0.2.77", "203.0.113.9", "3fff::1"}))
        t.check(not stub.alert_ips() & {"192.0.2.77", "203.0.113.9"},
                "no alert from unauthorized traffic")
        t.check("192.0.2.66" in stub.alert_ips(), "the authorized scanner is alerted")
        t.check("not_ip 4" in err, "ARP is not IP, not unauthorized: %s" %
                [l for l in err.splitlines() if "notes" in l])

        # 2. The tower becomes unreachable: the last list is kept, one
        # warning for the streak, and an authorization still expires at its
        # end by the sensor's clock; the tower back, the list is its again.
        until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 4))
        stub.set(auths=[auth(5, [], [100], until=until), auth(6, ["10.0.0.0/8"])])
        d2 = os.path.join(d, "2")
        os.mkdir(d2)
        s = Sensor(y, stub.url, tokfile, d2, extra=["-q"])
        i = s.wait_line(r"^analyze: monitoring: 2 authorizations active \(ids 5,6\)$")
        t.check(i is not None, "two active, with -q too: %s" % s.lines)
        stub.set(fail=503)
        j = s.wait_line(r"cannot fetch the authorizations from %s: HTTP 503: stub says no; "
                        r"keeping the last list" % stub.url, after=i + 1)
        t.check(j is not None, "the failure is warned: %s" % s.lines[-3:])
        k = s.wait_line(r"^analyze: monitoring: 1 authorization active \(id 6\)$",
                        after=(j or 0) + 1)
        t.check(k is not None, "5 expires by the local clock: %s" % s.lines[-3:])
        stub.set(auths=[auth(6, ["10.0.0.0/8"]), auth(7, ["192.0.2.0/24"])], fail=None)
        m = s.wait_line(r"^analyze: monitoring: 2 authorizations active \(ids 6,7\)$",
                        after=(k or 0) + 1)
        t.check(m is not None, "the tower's list again: %s" % s.lines[-3:])
        rc, err, _ = s.finish()
        t.check(rc == 0, "exit %d" % rc)
        t.check(sum(1 for l in err.splitlines() if "cannot fetch" in l) == 1,
                "one warning for the streak: %s" % err)
        t.check("answers again" in err, "recovery is said")
        t.check("summary:" not in err, "-q keeps the summary quiet")

        # 3. No authorizations at start, nothing is read: exit 7, one line
        # that names the URL and the reason.
        cap = os.path.join(d, "scan.pcap")
        write_pcap(cap, inside)

        def start(url, tok=tokfile, flag="--tower"):
            out = os.path.join(d, "out.jsonl")
            p = subprocess.run([y, "analyze", flag, url, "--token-file", tok, "--spool",
                                os.path.join(d, "spool3"), "-o", out, cap],
                               capture_output=True, text=True, timeout=60)
            return p, os.path.getsize(out) if os.path.exists(out) else 0

        stub.set(fail=401)
        p, size = start(stub.url)
        t.check(p.returncode == 7 and stub.url in p.stderr and "HTTP 401" in p.stderr and
                size == 0 and len(p.stderr.strip().splitlines()) == 1,
                "refused at start: %d %s" % (p.returncode, p.stderr))
        stub.set(fail=None, raw=b'{"authorizations":[{"id":1,"prefixes":["192.0.2.0/99"],'
                                b'"vlans":[],"until":"2099-01-01T00:00:00Z"}]}')
        p, size = start(stub.url)
        t.check(p.returncode == 7 and "prefixes[0]" in p.stderr and size == 0,
                "a hostile answer at start: %d %s" % (p.returncode, p.stderr))
        stub.set(raw=b"[" * 100000)
        p, size = start(stub.url)
        t.check(p.returncode == 7 and "not JSON" in p.stderr, "garbage: %s" % p.stderr)
        stub.set(raw=None)
        p, size = start(stub.url + "/elsewhere")
        t.check(p.returncode == 7 and "404" in p.stderr, "no such endpoint: %s" % p.stderr)
        p, size = start("http://127.0.0.1:9")
        t.check(p.returncode == 7 and "http://127.0.0.1:9" in p.stderr and
                "could not be reached" in p.stderr, "unreachable: %s" % p.stderr)

        # 4. --post is --tower: it enforces the authorizations too.
        stub.set(auths=[auth(8, ["198.51.100.0/24"])])
        p, size = start(stub.url, flag="--post")
        t.check(p.returncode == 0 and "monitoring: 1 authorization active (id 8)" in p.stderr and
                unauthorized(p.stderr) == 0, "--post: %s" % p.stderr[-400:])
        stub.set(auths=[auth(9, ["203.0.113.0/24"])])
        p, size = start(stub.url, flag="--post")
        t.check(p.returncode == 0 and unauthorized(p.stderr) == len(inside),
                "--post drops what is outside: %s" % p.stderr[-400:])
        p = subprocess.run([y, "analyze", "--tower", stub.url, "--post", "http://x", cap],
                           capture_output=True, text=True)
        t.check(p.returncode == 1 and "one tower" in p.stderr, "two towers: %s" % p.stderr)
        p = subprocess.run([y, "analyze", "--authorization-poll", "0", cap],
                           capture_output=True, text=True)
        t.check(p.returncode == 1, "poll 0 refused")

        # 5. Without a tower nothing changes: no authorization needed.
        p = subprocess.run([y, "analyze", "-o", os.devnull, cap], capture_output=True, text=True)
        t.check(p.returncode == 0 and "monitoring" not in p.stderr and
                "40 packets" in p.stderr, "own capture, no tower: %s" % p.stderr[:200])
        stub.stop()
    t.finish()


main()
