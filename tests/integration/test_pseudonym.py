"""Addresses in protected prefixes leave yagura only as Crypto-PAn
pseudonyms, in every output (flows, metadata, alerts, sources, summary),
while detectors work on the real addresses; addresses outside stay clear;
`yagura pseudonym reverse` recovers the originals."""
import base64
import hashlib
import ipaddress
import json
import os
import socket
import struct
import subprocess
import tempfile

import common
from pcapgen import *

INSIDE = ["10.1.0.5", "10.1.0.6", "10.2.3.4"]
OUTSIDE = "203.0.113.9"


def build(path):
    fr = []
    # An outside scanner probing inside hosts (alert: src clear, targets pseudonymized).
    for i in range(12):
        fr.append((1000 + i * 0.01, eth(ipv4(OUTSIDE, "10.3.0.%d" % (i + 1), 6,
                                             tcp(40000 + i, 23, SYN)))))
    # An inside client resolving a name whose answer is inside too.
    q = dns_query(7, "intranet.example", 1)
    r = dns_response(7, "intranet.example", 1, [(1, socket.inet_aton("10.2.3.4"))])
    fr.append((1001.0, eth(ipv4("10.1.0.5", "10.1.0.6", 17, udp(5555, 53, q)))))
    fr.append((1001.01, eth(ipv4("10.1.0.6", "10.1.0.5", 17, udp(53, 5555, r)))))
    # An inside client talking to the outside.
    c = Conv(fr, "10.1.0.5", 44444, OUTSIDE, 443, t=1002.0)
    c.handshake()
    c.send(True, PSH | ACK, tls_client_hello("www.example.net"))
    c.close()
    write_pcap(path, sorted(fr, key=lambda x: x[0]))


def community_id(proto, a, b, pa, pb):
    sa, sb = socket.inet_aton(a), socket.inet_aton(b)
    if (sa, pa) > (sb, pb):
        sa, sb, pa, pb = sb, sa, pb, pa
    h = hashlib.sha1(struct.pack("!H", 0) + sa + sb + bytes([proto, 0]) +
                     struct.pack("!HH", pa, pb)).digest()
    return "1:" + base64.b64encode(h).decode()


def addresses(obj):
    """Every string in obj that parses as an IP address."""
    out = set()
    if isinstance(obj, dict):
        for v in obj.values():
            out |= addresses(v)
    elif isinstance(obj, list):
        for v in obj:
            out |= addresses(v)
    elif isinstance(obj, str):
        try:
            out.add(str(ipaddress.ip_address(obj)))
        except ValueError:
            pass
    return out


def main():
    a = common.parse_args()
    t = common.Checker("pseudonym")
    y = a.yagura
    with tempfile.TemporaryDirectory() as d:
        key = os.path.join(d, "pan.key")
        with open(key, "w") as f:
            f.write("00112233445566778899aabbccddeeff0123456789abcdef0123456789abcdef\n")
        os.chmod(key, 0o600)
        cap = os.path.join(d, "in.pcap")
        build(cap)
        srcf = os.path.join(d, "sources.json")
        _, out, err = common.run(y, ["analyze", "--protect", "10.0.0.0/8,2001:db8::/32",
                                     "--pseudonym-key", key, "--sources", srcf, cap])
        recs = common.records(out)
        with open(srcf) as f:
            sources = json.load(f)
        seen = addresses(recs) | addresses(sources)
        # The real inside addresses appear nowhere, nor in the summary.
        real_inside = set(INSIDE) | {"10.3.0.%d" % (i + 1) for i in range(12)}
        t.check(not (seen & real_inside), "real inside addresses leaked: %s" % (seen & real_inside))
        t.check(not any(x in err for x in real_inside), "real inside address in the summary")
        t.check(OUTSIDE in seen, "outside address must stay clear")
        # Pseudonyms are what `pseudonym forward` computes, and reverse recovers them.
        fwd = subprocess.run([y, "pseudonym", "forward", "--key", key] + INSIDE,
                             capture_output=True, text=True)
        t.check(fwd.returncode == 0, "pseudonym forward: %s" % fwd.stderr)
        pmap = dict(line.split() for line in fwd.stdout.splitlines())
        t.check(set(pmap) == set(INSIDE), "forward printed %s" % pmap)
        t.check({pmap["10.1.0.5"], pmap["10.1.0.6"], pmap["10.2.3.4"]} <= seen,
                "expected pseudonyms in the output, got %s" % sorted(seen))
        rev = subprocess.run([y, "pseudonym", "reverse", "--key", key] + list(pmap.values()),
                             capture_output=True, text=True)
        back = dict(line.split() for line in rev.stdout.splitlines())
        t.check(all(back.get(p) == orig for orig, p in pmap.items()), "reverse: %s" % back)
        # Prefix preservation: 10.1.0.5 and 10.1.0.6 share 29 bits, so do their pseudonyms.
        p5 = int(ipaddress.ip_address(pmap["10.1.0.5"]))
        p6 = int(ipaddress.ip_address(pmap["10.1.0.6"]))
        t.check((p5 ^ p6) >> 3 == 0 and p5 != p6, "prefix not preserved")
        # Community ID is computed on the addresses as written.
        for r in recs:
            if r["event_type"] == "flow" and r["proto"] == "TCP" and r.get("dest_port") == 443:
                want = community_id(6, r["src_ip"], r["dest_ip"], r["src_port"], r["dest_port"])
                t.check(r["community_id"] == want, "community_id on written addresses")
                t.check(r["src_ip"] == pmap["10.1.0.5"], "flow src pseudonymized")
        # Detectors saw the real addresses: the scan is still found.
        alerts = [r for r in recs if r["event_type"] == "alert"]
        t.check(any(r["alert"]["signature_id"] == 9100001 and r["src_ip"] == OUTSIDE
                    for r in alerts), "scan alert with the clear outside scanner")
        # DNS answers inside the prefix are pseudonymized too.
        dns = [r for r in recs if r["event_type"] == "dns" and r["dns"]["type"] == "answer"]
        t.check(dns and dns[0]["dns"]["grouped"]["A"] == [pmap["10.2.3.4"]], "dns answer: %s" % dns)
        # Misuse.
        rc, _, err = common.run(y, ["analyze", "--protect", "10.0.0.0/8", cap], check=False)
        t.check(rc == 1 and "go together" in err, "--protect without a key: exit %d" % rc)
        os.chmod(key, 0o644)
        rc, _, err = common.run(y, ["analyze", "--protect", "10.0.0.0/8", "--pseudonym-key", key,
                                    cap], check=False)
        t.check(rc == 2 and "pan.key" in err and "permissions" in err,
                "world-readable key: exit %d %r" % (rc, err))
        os.chmod(key, 0o600)
        rc, _, err = common.run(y, ["analyze", "--protect", "10.0.0.1/8", "--pseudonym-key", key,
                                    cap], check=False)
        t.check(rc == 1 and "host bits" in err, "bad prefix: exit %d %r" % (rc, err))
    t.finish()


main()
