"""Indicators through `yagura analyze --intel`: STIX 2.1, MISP and plain
lists matched against flow addresses, DNS names and answers, TLS SNI and
HTTP Host; expiry; malformed feeds reported with file and line or JSON path
while the rest loads; and a SIGHUP reload that takes effect while packets
keep flowing (analyze reading a FIFO)."""
import json
import os
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

import common
from pcapgen import *

T0 = 1800000000.0  # 2027-01-15: after 2026, before 2030


def bundle(path):
    def ind(n, pattern, **kw):
        o = {"type": "indicator", "spec_version": "2.1",
             "id": "indicator--00000000-0000-4000-8000-%012d" % n,
             "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
             "pattern": pattern, "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
             "confidence": 90,
             "object_marking_refs": ["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"]}
        o.update(kw)
        return o
    objs = [
        ind(1, "[ipv4-addr:value = '198.51.100.66']"),
        ind(2, "[domain-name:value = 'c2.bad.example' OR url:value = 'http://dl.bad.example/x']"),
        ind(3, "[ipv4-addr:value = '203.0.113.0/24']"),
        ind(4, "[ipv4-addr:value = '192.0.2.99']", valid_until="2026-06-01T00:00:00Z"),  # expired
        ind(5, "[ipv4-addr:value = '192.0.2.1' AND ipv4-addr:value = '192.0.2.2']"),     # rejected
    ]
    with open(path, "w") as f:
        json.dump({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000",
                   "objects": objs}, f)


def traffic(fr, t):
    # A flow to a bad address, and one to an expired indicator's address.
    c = Conv(fr, "10.0.0.5", 40001, "198.51.100.66", 443, t=t)
    c.handshake()
    c = Conv(fr, "10.0.0.5", 40002, "192.0.2.99", 443, t=t + 0.1)
    c.handshake()
    # DNS: a query for a subdomain of a bad domain; an answer with a bad address.
    q = dns_query(1, "www.c2.bad.example", 1)
    fr.append((t + 0.2, eth(ipv4("10.0.0.5", "10.0.0.53", 17, udp(5000, 53, q)))))
    r = dns_response(2, "cdn.fine.example", 1, [(1, socket.inet_aton("203.0.113.7"))])
    fr.append((t + 0.3, eth(ipv4("10.0.0.53", "10.0.0.5", 17, udp(53, 5001, r)))))
    # TLS with a bad SNI, HTTP with a bad Host (from a URL indicator).
    c = Conv(fr, "10.0.0.5", 40003, "192.0.2.200", 443, t=t + 0.4)
    c.handshake()
    c.send(True, PSH | ACK, tls_client_hello("api.c2.bad.example"))
    c = Conv(fr, "10.0.0.5", 40004, "192.0.2.201", 80, t=t + 0.5)
    c.handshake()
    c.send(True, PSH | ACK, http_request("dl.bad.example", "/x"))


def main():
    a = common.parse_args()
    t = common.Checker("intel")
    y = a.yagura
    with tempfile.TemporaryDirectory() as d:
        stix = os.path.join(d, "bundle.json")
        bundle(stix)
        lst = os.path.join(d, "drop.txt")
        with open(lst, "w") as f:
            f.write("; Spamhaus-style list\n100.66.0.0/16 ; SBL1\nnot-an-address/99\n")
        cap = os.path.join(d, "in.pcap")
        fr = []
        traffic(fr, T0)
        fr.append((T0 + 1, eth(ipv4("100.66.1.2", "10.0.0.5", 6, tcp(5555, 22, SYN)))))
        write_pcap(cap, sorted(fr, key=lambda x: x[0]))
        srcf = os.path.join(d, "sources.json")
        rc, out, err = common.run(y, ["analyze", "--intel", stix, "--intel", lst, "--sources",
                                      srcf, cap], check=False)
        t.check(rc == 0, "exit %d: %s" % (rc, err))
        alerts = [r for r in common.records(out) if r["event_type"] == "alert"]
        by_sid = {}
        for r in alerts:
            by_sid.setdefault(r["alert"]["signature_id"], []).append(r)
        t.check(set(by_sid) == {9700001, 9700002, 9700003, 9700004, 9700005},
                "signatures: %s" % sorted(by_sid))
        addr = [r["dest_ip"] for r in by_sid.get(9700001, []) if r["src_ip"] == "10.0.0.5"]
        t.check(addr == ["198.51.100.66"], "address match: %s (192.0.2.99 expired)" % addr)
        inbound = [r for r in by_sid.get(9700001, []) if r["src_ip"] == "100.66.1.2"]
        t.check(len(inbound) == 1 and inbound[0]["evidence"]["indicator"] == "100.66.0.0/16"
                and inbound[0]["evidence"]["source"] == "drop.txt", "list CIDR match: %s" % inbound)
        ev = by_sid[9700002][0]["evidence"] if 9700002 in by_sid else {}
        t.check(ev.get("indicator") == "c2.bad.example" and ev.get("tlp") == "TLP:AMBER" and
                ev.get("confidence") == 90 and ev.get("indicator_id", "").endswith("000000000002"),
                "DNS query evidence: %s" % ev)
        ev = by_sid[9700003][0]["evidence"] if 9700003 in by_sid else {}
        t.check(ev.get("indicator") == "203.0.113.0/24" and
                ev.get("matched_addresses") == ["203.0.113.7"], "DNS answer evidence: %s" % ev)
        ev = by_sid[9700005][0]["evidence"] if 9700005 in by_sid else {}
        t.check(ev.get("kind") == "url" and ev.get("indicator") == "http://dl.bad.example/x",
                "URL indicator on HTTP Host: %s" % ev)
        # Rejections are reported with where they are; the rest loaded.
        t.check("bundle.json: objects[4].pattern" in err and "AND" in err,
                "STIX rejection message: %r" % err)
        t.check("drop.txt:3" in err, "list rejection with its line: %r" % err)
        t.check("entries loaded, 2 rejected" in err, "load summary: %r" % err)
        with open(srcf) as f:
            srcs = {s["ip"]: s for s in json.load(f)}
        t.check("198.51.100.66" in srcs and srcs["198.51.100.66"]["indicators"] ==
                ["indicator--00000000-0000-4000-8000-000000000001"], "sources: %s" % srcs.keys())
        # A missing feed: exit 2, the rest still loads and matches.
        rc, out, err = common.run(y, ["analyze", "-q", "--intel", os.path.join(d, "nope.json"),
                                      "--intel", stix, cap], check=False)
        t.check(rc == 2 and "nope.json" in err and b"9700001" in out, "missing feed: exit %d" % rc)

        # SIGHUP: packets to 192.0.2.50 before and after the feed gains it.
        live = os.path.join(d, "live.txt")
        with open(live, "w") as f:
            f.write("198.18.0.1\n")
        fifo = os.path.join(d, "cap.fifo")
        os.mkfifo(fifo)
        p = subprocess.Popen([y, "analyze", "--no-progress", "--intel", live, fifo],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        w = open(fifo, "wb")
        w.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))

        def frames(port, ts):
            data = b""
            for i in range(40):  # more than one batch
                fr = eth(ipv4("10.0.0.9", "192.0.2.50", 6, tcp(port + i, 443, SYN)))
                data += struct.pack("<IIII", int(ts), i, len(fr), len(fr)) + fr
            return data

        w.write(frames(20000, T0))
        w.flush()
        time.sleep(0.5)
        with open(live, "w") as f:
            f.write("198.18.0.1\n192.0.2.50\n")
        p.send_signal(signal.SIGHUP)
        # Wait for the reload to be announced on stderr.
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(iter(p.stderr.readline, b"")))
        reader.start()
        for _ in range(100):
            if any(b"intel reload" in l for l in lines):
                break
            time.sleep(0.05)
        t.check(any(b"intel reload" in l for l in lines), "reload announced: %s" % lines)
        w.write(frames(30000, T0 + 1))
        w.close()
        out = p.stdout.read()
        p.wait(timeout=30)
        reader.join(timeout=10)
        hits = [r for r in common.records(out) if r["event_type"] == "alert"]
        ports = sorted(r["src_port"] for r in hits)
        t.check(p.returncode == 0, "live run exit %d" % p.returncode)
        t.check(len(hits) == 1 and ports[0] >= 30000,
                "after the reload the new indicator matches (one alert per client and "
                "indicator), before it nothing: %s" % ports)
    t.finish()


main()
