"""Monitoring is authorized too (issue 13), end to end with the real tower:
an analyst proposes a monitoring authorization for one prefix of a real
capture, an overseer approves it, and `yagura analyze --tower` fed the
capture through a pipe analyses the packets inside it only; the others are
counted unauthorized (checked against an independent count by the small
pcap reader below). Once the overseer revokes it, the sensor says so
within a poll, and what it is fed afterwards is all unauthorized: no flow
or alert comes of it. Skipped while the tower has no monitoring
authorizations (it answers 404); test_monitoring_stub.py runs the sensor
against a stub of the same contract meanwhile."""
import ipaddress
import os
import struct
import sys
import tempfile
import time
from collections import Counter

import common
from monitorlib import Sensor, unauthorized
from towerlib import Tower, authorize, monitoring_or_skip, wait_active

CAPTURE = "cl-agenttesla__a30789ce-1e1c-4f96-a097-78c34b9fb612.pcap"


def read_pcap(path):
    """[(timestamp, frame bytes)] of a classic pcap (either byte order,
    micro- or nanoseconds), Ethernet."""
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    e = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    div = 1e9 if magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d") else 1e6
    if struct.unpack(e + "I", data[20:24])[0] != 1:
        sys.exit("%s: not Ethernet" % path)
    out, off = [], 24
    while off + 16 <= len(data):
        sec, frac, cap, _ = struct.unpack(e + "IIII", data[off:off + 16])
        out.append((sec + frac / div, data[off + 16:off + 16 + cap]))
        off += 16 + cap
    return out


def addresses(frame):
    """(src, dst) of an IPv4 or IPv6 packet in an Ethernet frame (VLAN tags
    skipped), or None when it is not IP or its IP header is cut."""
    if len(frame) < 14:
        return None
    et, p = struct.unpack(">H", frame[12:14])[0], frame[14:]
    while et in (0x8100, 0x88A8, 0x9100) and len(p) >= 4:
        et, p = struct.unpack(">H", p[2:4])[0], p[4:]
    if et == 0x0800 and len(p) >= 20 and p[0] >> 4 == 4 and 20 <= (p[0] & 15) * 4 <= len(p):
        return ipaddress.ip_address(p[12:16]), ipaddress.ip_address(p[16:20])
    if et == 0x86DD and len(p) >= 40 and p[0] >> 4 == 6:
        return ipaddress.ip_address(p[8:24]), ipaddress.ip_address(p[24:40])
    return None


def main():
    a = common.parse_args()
    t = common.Checker("monitoring")
    frames = read_pcap(os.path.join(common.shared_pcaps(a.shared), CAPTURE))
    ips = [addresses(f) for _, f in frames]
    # Authorize the busiest address's /24, so that some traffic is inside
    # and some outside.
    busiest = Counter(x for pair in ips if pair for x in pair
                      if x.version == 4).most_common(1)[0][0]
    net = ipaddress.ip_network("%s/24" % busiest, strict=False)
    half = len(frames) // 2
    part1, part2 = frames[:half], frames[half:]
    inside = lambda pair: pair is not None and (pair[0] in net or pair[1] in net)
    out1 = sum(1 for pair in ips[:half] if pair is not None and not inside(pair))
    in1 = sum(1 for pair in ips[:half] if inside(pair))
    ip2 = sum(1 for pair in ips[half:] if pair is not None)
    t.check(out1 > 0 and in1 > 0 and ip2 > 0, "the capture has traffic inside and outside %s"
            " in the first half, and IP in the second: %d %d %d" % (net, in1, out1, ip2))

    with tempfile.TemporaryDirectory() as d:
        tw = Tower(a.yagura, os.path.join(d, "t.db"), d)
        tokfile = os.path.join(d, "token")
        sensor_tok = tw.token_for("sensor-1", "sensor", tokfile)
        monitoring_or_skip(tw, sensor_tok)
        aid = authorize(tw, "sensor-1", prefixes=[str(net)], sensor_token=sensor_tok)

        s = Sensor(a.yagura, "http://127.0.0.1:%d" % tw.port, tokfile, d)
        i = s.wait_line(r"^analyze: monitoring: 1 authorization active \(id %d\)$" % aid)
        t.check(i is not None, "the sensor starts with authorization %d: %s" % (aid, s.lines))
        # A few packets at a time, as a link would give them; the last few
        # with a barrier, so that all of the first half is analysed before
        # the revocation.
        chunks = [part1[k:k + 5] for k in range(0, len(part1), 5)]
        for c in chunks[:-1]:
            s.feed(c)
        t.check(s.feed_analysed(chunks[-1]), "the first half analysed")

        ov = tw._mon_tokens[1]
        st, res, _ = tw.call("POST", "/api/v1/monitoring/authorizations/%d/revoke" % aid,
                             {"reason": "the incident is closed"}, ov)
        t.check(st == 200, "revoked: %d %s" % (st, res))
        j = s.wait_line(r"^analyze: monitoring: no authorization active: every packet is "
                        r"dropped after its IP header$", after=(i or 0) + 1)
        t.check(j is not None, "the sensor stops within a poll: %s" % s.lines[-4:])
        for k in range(0, len(part2), 5):
            s.feed(part2[k:k + 5])
        rc, err, recs = s.finish()
        t.check(rc == 0, "exit %d: %s" % (rc, err[-400:]))
        # Part 1's barrier frame and part 2's are ARP: not IP, not counted.
        t.check(unauthorized(err) == out1 + ip2, "unauthorized %s, want %d + %d: %s" %
                (unauthorized(err), out1, ip2,
                 [l for l in err.splitlines() if "packets" in l or "monitoring" in l]))
        flows = [r for r in recs if r.get("event_type") == "flow"]
        pkts = sum(r["flow"]["pkts_toserver"] + r["flow"]["pkts_toclient"] for r in flows)
        t.check(pkts <= in1, "flows hold only authorized packets: %d of at most %d" % (pkts, in1))
        t.check(all(ipaddress.ip_address(r["src_ip"]) in net or
                    ipaddress.ip_address(r["dest_ip"]) in net for r in flows),
                "every flow is inside %s" % net)
        # Nothing of the second half is in a flow or an alert: each record
        # ends by the first half's last packet.
        sec = int(part1[-1][0])
        last1 = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + \
            ".%06d+0000" % round((part1[-1][0] - sec) * 1e6)
        t.check(all(r["flow"]["end"] <= last1 for r in flows),
                "no flow has a packet from after the revocation")
        alerts = [r for r in recs if r.get("event_type") == "alert"]
        t.check(all(r["timestamp"] <= last1 for r in alerts),
                "no alert from after the revocation: %s" %
                [r["timestamp"] for r in alerts if r["timestamp"] > last1][:3])
        tw.stop()
    t.finish()


main()
