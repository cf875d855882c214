"""No payload byte reaches any output: a marker planted in the payload of
every protocol must appear nowhere in what yagura writes, while the
metadata the policy allows (DNS names, TLS SNI, HTTP Host) does."""
import os
import struct
import tempfile

import common
from pcapgen import *

MARKER = b"YGMARKER-7f3a9c"


def build(path):
    fr = []
    m = MARKER
    # HTTP: marker in the path, a cookie, the user agent and the body.
    c = Conv(fr, "10.1.0.1", 40001, "192.0.2.80", 80)
    c.handshake()
    c.send(True, PSH | ACK, http_request("www.example.org", "/" + m.decode(), "POST",
                                         ["Cookie: s=" + m.decode(), "User-Agent: " + m.decode()],
                                         body=m * 3))
    c.send(False, PSH | ACK, b"HTTP/1.1 200 OK\r\nSet-Cookie: " + m + b"\r\n\r\n" + m)
    c.close()
    # TLS: marker in the random, and in an unknown extension.
    c = Conv(fr, "10.1.0.2", 40002, "192.0.2.43", 443, t=1001)
    c.handshake()
    ext = struct.pack("!HH", 0xFE0D, len(m)) + m
    c.send(True, PSH | ACK, tls_client_hello("secure.example.net", extra_ext=ext,
                                             random=(m * 3)[:32]))
    c.send(False, PSH | ACK, b"\x16\x03\x03\x00\x20" + m + b"\0" * 17)
    c.close()
    # Plain TCP on another port, over IPv6 with a VLAN tag.
    c = Conv(fr, "2001:db8::1", 40003, "2001:db8::2", 6667, t=1002, v6=True, vlans=(42,))
    c.handshake()
    c.send(True, PSH | ACK, b"PRIVMSG #x :" + m)
    c.close()
    # DNS: marker in a TXT answer and in an additional record's data.
    q = dns_query(0x1234, "mail.example.com", 16)
    fr.append((1003.0, eth(ipv4("10.1.0.3", "192.0.2.53", 17, udp(5353, 53, q)))))
    txt = bytes([len(m)]) + m
    extra = b"\xc0\x0c" + struct.pack("!HHIH", 16, 1, 60, len(txt)) + txt
    r = dns_response(0x1234, "mail.example.com", 16, [(16, txt), (1, b"\xc0\x00\x02\x19")],
                     extra=extra, n_extra=1)
    fr.append((1003.1, eth(ipv4("192.0.2.53", "10.1.0.3", 17, udp(53, 5353, r)))))
    # Other UDP, ICMP echo, SCTP, GRE, IPv6 UDP: marker as payload.
    fr.append((1004.0, eth(ipv4("10.1.0.4", "192.0.2.9", 17, udp(5000, 9999, m)))))
    fr.append((1004.1, eth(ipv4("10.1.0.4", "192.0.2.9", 1, icmp(8, 0, m)))))
    fr.append((1004.2, eth(ipv4("192.0.2.9", "10.1.0.4", 1, icmp(0, 0, m)))))
    fr.append((1004.3, eth(ipv4("10.1.0.4", "192.0.2.9", 132,
                                struct.pack("!HHII", 2905, 2905, 0, 0) + m))))
    fr.append((1004.4, eth(ipv4("10.1.0.4", "192.0.2.9", 47, b"\0\0\x08\0" + m))))
    fr.append((1004.5, eth(ipv6("2001:db8::5", "2001:db8::6", 17, udp(1234, 53, m)), 0x86DD)))
    # A truncated DNS message and a broken TLS record carrying the marker.
    fr.append((1005.0, eth(ipv4("10.1.0.5", "192.0.2.53", 17, udp(5555, 53, m)))))
    c = Conv(fr, "10.1.0.6", 40006, "192.0.2.44", 443, t=1006)
    c.handshake()
    c.send(True, PSH | ACK, b"\x16\x03\x01\x00\x40\x01\x00\x00\x3c" + m)
    write_pcap(path, fr)


def main():
    a = common.parse_args()
    t = common.Checker("privacy")
    with tempfile.TemporaryDirectory() as d:
        cap = os.path.join(d, "marked.pcap")
        build(cap)
        for level in ("standard", "strict"):
            outfile = os.path.join(d, "out-%s.json" % level)
            _, out, err = common.run(a.yagura, ["analyze", "--metadata", level, cap])
            common.run(a.yagura, ["analyze", "--metadata", level, "-o", outfile, cap])
            with open(outfile, "rb") as f:
                filed = f.read()
            everything = out + err.encode() + filed
            t.check(MARKER not in everything, "%s: marker found in the output" % level)
            t.check(MARKER.hex().encode() not in everything, "%s: marker found as hex" % level)
            t.check(out == filed, "%s: --output and stdout differ" % level)
            recs = common.records(out)
            kinds = {r["event_type"] for r in recs}
            flows = [r for r in recs if r["event_type"] == "flow"]
            t.check(len(flows) == 11, "%s: 11 flows expected, got %d" % (level, len(flows)))
            if level == "standard":
                t.check(kinds == {"flow", "dns", "tls", "http"}, "standard: kinds %s" % kinds)
                # Positive control: the allowed metadata is there.
                t.check(b'"hostname":"www.example.org"' in out, "standard: HTTP Host missing")
                t.check(b'"sni":"secure.example.net"' in out, "standard: TLS SNI missing")
                t.check(b'"rrname":"mail.example.com"' in out, "standard: DNS name missing")
                t.check(b'"192.0.2.25"' in out, "standard: DNS A answer missing")
            else:
                t.check(kinds == {"flow"}, "strict: only flow records expected, got %s" % kinds)
                t.check(b"example" not in out, "strict: a name leaked into strict output")
    t.finish()


main()
