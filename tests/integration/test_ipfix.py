#!/usr/bin/env python3
"""`yagura analyze --ipfix` received by a real collector: nfdump's nfcapd
(Debian) listens on a loopback UDP port, yagura exports a capture's flows to
it, and `nfdump -r FILE -o json` reads them back; every record is compared
field by field with yagura's own EVE flow records of the same run.

What nfdump 1.7 shows of an RFC 5103 biflow: the forward counters as
in_packets/in_bytes, the reverse ones (PEN 29305 reversePacketDeltaCount and
reverseOctetDeltaCount) as out_packets/out_bytes, and in tcp_flags the
initiator's flags (it has no slot for reverseTcpControlBits: yagura sends
that field before the forward one, so the forward one is what it keeps).
ICMP type and code come from icmpTypeCodeIPv4/IPv6; vlanId is src_vlan.

Octets are the IP packets' (RFC 7011: octetDeltaCount counts from the IP
header), EVE's bytes the frames': both are checked against sums the test
makes itself from the capture (ip_octets below), per flow and direction —
the IP header's length field for one, the pcap record's original length
for the other.

Captures: one generated here (TCP with different flags each way, UDP,
ICMP, IPv6, VLAN, and 300 short UDP flows so that records span many
messages), the same again with its clients pseudonymized (--protect: the
pseudonyms, not the addresses, reach the collector), and two from
SHARED/data/pcaps when it is present.

Exit status 0 all match, 1 a mismatch, 77 nfcapd/nfdump absent."""
import calendar
import glob
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import pcapgen as g  # noqa: E402

REAL = ["cl-agenttesla__a30789ce-1e1c-4f96-a097-78c34b9fb612.pcap",  # IPv6 and IPv4
        "lemay__moving_two_files_modbus_6RTU.pcap"]                 # 368 flows
FLAG_CHARS = [(0x80, "C"), (0x40, "E"), (0x20, "U"), (0x10, "A"), (0x08, "P"), (0x04, "R"),
              (0x02, "S"), (0x01, "F")]
PROTO = {"TCP": 6, "UDP": 17, "ICMP": 1, "IPv6-ICMP": 58, "SCTP": 132}


def generated(path):
    frames = []
    t = 1700000000.1234
    # TCP: full conversation; the server answers with different flags.
    c = g.Conv(frames, "10.1.0.1", 40001, "10.2.0.1", 80, t=t)
    c.handshake()
    c.send(True, g.PSH | g.ACK, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    c.send(False, g.PSH | g.ACK, b"x" * 900)
    c.close()
    # TCP: SYN answered by RST.
    c = g.Conv(frames, "10.1.0.2", 40002, "10.2.0.1", 81, t=t + 0.5)
    c.send(True, g.SYN)
    c.send(False, g.RST | g.ACK)
    # IPv6 TCP and VLAN-tagged TCP.
    c = g.Conv(frames, "2001:db8::1", 40003, "2001:db8::2", 443, t=t + 1.25, v6=True)
    c.handshake()
    c.send(True, g.PSH | g.ACK, b"y" * 300)
    c.close()
    c = g.Conv(frames, "10.1.0.3", 40004, "10.2.0.2", 22, t=t + 2.0071, vlans=(120,))
    c.handshake()
    c.close()
    # UDP both ways, ICMP echo and reply.
    frames.append((t + 3.001, g.eth(g.ipv4("10.1.0.4", "10.2.0.3", 17, g.udp(5353, 53, b"q" * 30)))))
    frames.append((t + 3.0423, g.eth(g.ipv4("10.2.0.3", "10.1.0.4", 17, g.udp(53, 5353, b"r" * 90)))))
    frames.append((t + 4.5, g.eth(g.ipv4("10.1.0.5", "10.2.0.4", 1, g.icmp(8, 0, b"p" * 56)))))
    frames.append((t + 4.5017, g.eth(g.ipv4("10.2.0.4", "10.1.0.5", 1, g.icmp(0, 0, b"p" * 56)))))
    # Many one-packet UDP flows: records over several messages.
    for i in range(300):
        src = "10.3.%d.%d" % (i // 250, 1 + i % 250)
        frames.append((t + 5 + i * 0.0013, g.eth(g.ipv4(src, "10.2.0.9", 17,
                                                          g.udp(20000 + i, 514, b"s" * (i % 40))))))
    frames.sort(key=lambda f: f[0])
    g.write_pcap(path, frames)


def udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def flags_string(v):
    return "".join(ch if v & bit else "." for bit, ch in FLAG_CHARS)


def ms_string(us):
    """EVE's timestamp with microseconds -> nfdump's, milliseconds, UTC."""
    return us[:19] + "." + us[20:23]


def eve_key(r):
    proto = PROTO.get(r["proto"], None)
    if proto is None:
        proto = int(r["proto"])
    if proto in (1, 58):
        ports = (r.get("icmp_type", 0), r.get("icmp_code", 0))
    else:
        ports = (r.get("src_port", 0), r.get("dest_port", 0))
    return (r["src_ip"], r["dest_ip"], proto) + ports + (ms_string(r["flow"]["start"]),)


def nf_key(r):
    src = r.get("src4_addr", r.get("src6_addr"))
    dst = r.get("dst4_addr", r.get("dst6_addr"))
    if r["proto"] in (1, 58):
        ports = (r["icmp_type"], r["icmp_code"])
    else:
        ports = (r["src_port"], r["dst_port"])
    return (src, dst, r["proto"]) + ports + (r["first"],)


def read_pcap(path):
    """Yields (ts_us, original length, frame bytes) of a classic pcap."""
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise ValueError("%s: not a classic pcap" % path)
    nsec = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(end + "I", data[20:24])[0] & 0x0fffffff
    if linktype != 1:
        raise ValueError("%s: link type %d, not Ethernet" % (path, linktype))
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16
        yield sec * 1000000 + (frac // 1000 if nsec else frac), orig, data[off:off + incl]
        off += incl


def ip_packet(orig, fr):
    """(vlans, proto, src, dst, sport, dport, IP length) of an Ethernet
    frame, None for what yagura puts in no flow (not IP, later fragments,
    cut transport headers). The IP length is the header's field, whatever
    the snap length kept and whatever Ethernet padding follows."""
    if len(fr) < 14:
        return None
    etype, off, vlans = struct.unpack("!H", fr[12:14])[0], 14, []
    while etype in (0x8100, 0x88a8, 0x9100) and len(fr) >= off + 4:
        vlans.append(struct.unpack("!H", fr[off:off + 2])[0] & 0xfff)
        etype = struct.unpack("!H", fr[off + 2:off + 4])[0]
        off += 4
    p = fr[off:]
    if etype == 0x0800 and len(p) >= 20:
        hl = (p[0] & 15) * 4
        ip_len = struct.unpack("!H", p[2:4])[0] or orig - off
        if struct.unpack("!H", p[6:8])[0] & 0x1fff:
            return None
        proto = p[9]
        src, dst = socket.inet_ntop(socket.AF_INET, p[12:16]), socket.inet_ntop(socket.AF_INET, p[16:20])
        l4 = p[hl:]
    elif etype == 0x86dd and len(p) >= 40:
        plen = struct.unpack("!H", p[4:6])[0]
        ip_len = 40 + plen if plen else orig - off
        src, dst = socket.inet_ntop(socket.AF_INET6, p[8:24]), socket.inet_ntop(socket.AF_INET6, p[24:40])
        proto, l4 = p[6], p[40:]
        while proto in (0, 43, 44, 51, 60, 135, 139, 140) and len(l4) >= 8:
            if proto == 44 and struct.unpack("!H", l4[2:4])[0] & 0xfff8:
                return None
            n = 8 if proto == 44 else (l4[1] + 2) * 4 if proto == 51 else (l4[1] + 1) * 8
            proto, l4 = l4[0], l4[n:]
    else:
        return None
    sport = dport = 0
    if proto in (6, 17, 132):
        if len(l4) < {6: 20, 17: 8, 132: 12}[proto]:
            return None
        sport, dport = struct.unpack("!HH", l4[:4])
    return tuple(vlans), proto, src, dst, sport, dport, ip_len


def eve_us(t):
    """EVE's "2015-02-24T16:48:50.587567+0000" -> microseconds since the epoch."""
    assert t.endswith("+0000"), t
    return calendar.timegm(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) * 1000000 + int(t[20:26])


def ip_octets(capture, flows, addresses=True):
    """Per EVE flow, from the capture alone: {id(flow): (IP octets to the
    server, to the client, frame bytes to the server, to the client,
    packets to the server, to the client)}. A packet belongs to the flow of
    its addresses, ports (none for ICMP: a request and its reply differ),
    protocol and VLANs whose first..last packet times hold it. addresses
    False leaves addresses out, for a run whose EVE shows pseudonyms."""
    def key(proto, vlans, a, ap, b, bp):
        ends = sorted([(a if addresses else "", ap), (b if addresses else "", bp)])
        return (proto, vlans) + tuple(ends)

    pkts = {}
    for ts, orig, fr in read_pcap(capture):
        p = ip_packet(orig, fr)
        if p is None:
            continue
        vlans, proto, src, dst, sport, dport, ip_len = p
        if proto not in (6, 17, 132):
            sport = dport = 0
        pkts.setdefault(key(proto, vlans, src, sport, dst, dport), []).append(
            (ts, src, sport, ip_len, orig))
    out = {}
    for f in flows:
        proto = PROTO.get(f["proto"], None)
        if proto is None:
            proto = int(f["proto"])
        sport, dport = f.get("src_port", 0), f.get("dest_port", 0)
        if proto not in (6, 17, 132):
            sport = dport = 0
        vlans = tuple(f.get("vlan", ()))
        first, last = eve_us(f["flow"]["start"]), eve_us(f["flow"]["end"])
        r = [0] * 6
        for ts, src, sp, ip_len, orig in pkts.get(key(proto, vlans, f["src_ip"], sport,
                                                      f["dest_ip"], dport), []):
            if first <= ts <= last:
                d = 0 if (not addresses or src == f["src_ip"]) and sp == sport else 1
                if not addresses and proto not in (6, 17, 132):
                    d = 0 if ts == first else 1  # generated ICMP: request first
                r[d] += ip_len
                r[2 + d] += orig
                r[4 + d] += 1
        out[id(f)] = tuple(r)
    return out


def export(args, ck, capture, name, tmp, extra=()):
    """Runs nfcapd and yagura on capture; returns (eve records, nfdump records)."""
    port = udp_port()
    d = os.path.join(tmp, name + ".nf")
    os.mkdir(d)
    log = open(os.path.join(tmp, name + ".nfcapd.log"), "w+")
    nfcapd = subprocess.Popen(["nfcapd", "-b", "127.0.0.1", "-p", str(port), "-w", d,
                               "-t", "3600", "-B", "4194304"],
                              stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        for _ in range(100):
            log.seek(0)
            if "Startup" in log.read():
                break
            time.sleep(0.1)
        eve = os.path.join(tmp, name + ".eve.json")
        _, _, err = common.run(args.yagura, ["analyze", "--no-progress", "--ipfix",
                                             "127.0.0.1:%d" % port, "--ipfix-domain", "42",
                                             "-o", eve] + list(extra) + [capture])
        time.sleep(0.5)  # nfcapd has read the last datagram
    finally:
        nfcapd.send_signal(signal.SIGTERM)
        nfcapd.wait(20)
    log.seek(0)
    nflog = log.read()
    log.close()
    files = [f for f in glob.glob(os.path.join(d, "nfcapd.*")) if "current" not in f]
    ck.check(len(files) == 1, "%s: nfcapd wrote one file (%s)" % (name, files))
    if len(files) != 1:
        print(nflog)
        return [], []
    env = dict(os.environ, TZ="UTC")
    p = subprocess.run(["nfdump", "-r", files[0], "-o", "json"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, timeout=60)
    ck.check(p.returncode == 0, "%s: nfdump -r: exit %d %s" % (name, p.returncode, p.stderr))
    nf = json.loads(p.stdout.decode() or "[]")
    p = subprocess.run(["nfdump", "-r", files[0], "-I"], stdout=subprocess.PIPE, env=env,
                       timeout=60)
    seqfail = [ln for ln in p.stdout.decode().splitlines() if ln.startswith("Sequence failures")]
    ck.check(seqfail == ["Sequence failures: 0"], "%s: nfdump -I says %s" % (name, seqfail))
    flows = [r for r in common.records(open(eve, "rb").read()) if r["event_type"] == "flow"]
    summary = [ln for ln in err.splitlines() if ln.strip().startswith("ipfix:")]
    ck.check(len(summary) == 1 and summary[0].split()[1] == str(len(flows)) and
             " 0 send errors" in summary[0],
             "%s: summary line says %d records, no errors: %s" % (name, len(flows), summary))
    print("%s: %s" % (name, summary[0].strip() if summary else "no summary"))
    return flows, nf


def compare(ck, name, flows, nf, octets):
    """octets: ip_octets() of the capture for these flows."""
    ck.check(len(nf) == len(flows), "%s: nfdump has %d records, EVE %d flows" %
             (name, len(nf), len(flows)))
    by_key = {}
    for r in nf:
        by_key.setdefault(nf_key(r), []).append(r)
    fields = 0
    for f in flows:
        k = eve_key(f)
        got = by_key.get(k)
        if not got:
            ck.check(False, "%s: no nfdump record for %s" % (name, k))
            continue
        n = got.pop(0)
        fl = f["flow"]
        ip_ts, ip_tc, fr_ts, fr_tc, n_ts, n_tc = octets[id(f)]
        # The packets the capture gives this flow are the ones yagura
        # counted, and EVE's bytes are still their frames' lengths.
        for what, mine, eve in (("packets to server", n_ts, fl["pkts_toserver"]),
                                ("packets to client", n_tc, fl["pkts_toclient"]),
                                ("frame bytes to server", fr_ts, fl["bytes_toserver"]),
                                ("frame bytes to client", fr_tc, fl["bytes_toclient"])):
            ck.check(mine == eve, "%s: %s %s: capture %d, EVE %d" % (name, k, what, mine, eve))
        want = {
            "in_packets": fl["pkts_toserver"],
            "in_bytes": ip_ts,
            "out_packets": fl["pkts_toclient"],
            "out_bytes": ip_tc,
            "first": ms_string(fl["start"]),
            "last": ms_string(fl["end"]),
        }
        if k[2] == 6:
            want["tcp_flags"] = flags_string(int(f["tcp"]["tcp_flags_ts"], 16))
        if "vlan" in f:
            want["src_vlan"] = f["vlan"][0]
        for field, v in want.items():
            ck.check(n.get(field) == v, "%s: %s %s: nfdump %r, want %r" %
                     (name, k, field, n.get(field), v))
            fields += 1
    ck.check(all(not v for v in by_key.values()), "%s: nfdump records left over" % name)
    print("%s: %d flows, %d fields compared" % (name, len(flows), fields))


def main():
    args = common.parse_args()
    ck = common.Checker("ipfix")
    missing = [p for p in ("nfcapd", "nfdump") if shutil.which(p) is None]
    if missing:
        print("skipped: %s not installed (scripts/setup.sh installs nfdump)" % missing)
        sys.exit(common.SKIP)
    with tempfile.TemporaryDirectory() as tmp:
        cap = os.path.join(tmp, "gen.pcap")
        generated(cap)
        flows, nf = export(args, ck, cap, "generated", tmp)
        compare(ck, "generated", flows, nf, ip_octets(cap, flows))
        # By construction: bare TCP segments are 40 IP octets (VLAN tag and
        # Ethernet header aside), and the one-packet UDP flows 28 + i % 40,
        # 144 of them below the 46 octets a minimum Ethernet frame pads to.
        byport = {r.get("dst_port"): r for r in nf if r["proto"] == 6}
        vl, rst = byport.get(22, {}), byport.get(81, {})
        ck.check(vl.get("in_bytes") == 40 * vl.get("in_packets", -1) and
                 vl.get("out_bytes") == 40 * vl.get("out_packets", -1) and
                 rst.get("out_bytes") == 40,
                 "IP octets of bare segments: VLAN flow %r, RST %r" % (vl, rst))
        udp = sorted(r["in_bytes"] for r in nf if r["proto"] == 17 and r.get("dst_port") == 514)
        ck.check(udp == sorted(28 + i % 40 for i in range(300)),
                 "one-packet UDP flows' octets: 28 + payload (%s...)" % udp[:5])
        ck.check(len(flows) == 306, "generated: 306 flows, got %d" % len(flows))
        # The generated flows each show what they were made to show.
        byport = {r.get("dst_port"): r for r in nf if r["proto"] == 6}
        ck.check(byport.get(81, {}).get("tcp_flags") == "......S.",
                 "RST-answered SYN: initiator flags only (%r)" % byport.get(81))
        ck.check(byport.get(443, {}).get("src6_addr") == "2001:db8::1", "IPv6 source")
        ck.check(byport.get(22, {}).get("src_vlan") == 120, "VLAN 120")
        icmp = [r for r in nf if r["proto"] == 1]
        ck.check(len(icmp) == 1 and icmp[0]["icmp_type"] == 8 and icmp[0]["out_packets"] == 1,
                 "ICMP echo with its reply as the reverse direction: %r" % icmp)
        # Pseudonymized addresses: the same in IPFIX as in EVE, the real
        # ones in neither.
        key = os.path.join(tmp, "pan.key")
        with open(key, "w") as f:
            f.write("00112233445566778899aabbccddeeff0123456789abcdef0123456789abcdef\n")
        os.chmod(key, 0o600)
        flows, nf = export(args, ck, cap, "protected", tmp,
                           ["--protect", "10.1.0.0/16,2001:db8::/32", "--pseudonym-key", key])
        compare(ck, "protected", flows, nf, ip_octets(cap, flows, addresses=False))
        shown = {r.get("src4_addr", r.get("src6_addr")) for r in nf}
        ck.check(len(flows) == 306 and not shown & {"10.1.0.1", "10.1.0.2", "2001:db8::1"},
                 "protected: no real client address exported (%d flows)" % len(flows))
        # A bad destination is a usage error; nobody listening is not fatal.
        for bad in ("127.0.0.1", "::1:4739", "[::1]:0", "no.such.host.invalid:4739"):
            rc, _, err = common.run(args.yagura, ["analyze", "-q", "--ipfix", bad, "-o",
                                                  os.devnull, cap], check=False)
            ck.check(rc == 1 and "--ipfix" in err, "--ipfix %s: exit %d %s" % (bad, rc, err))
        rc, _, err = common.run(args.yagura, ["analyze", "--no-progress", "--ipfix",
                                              "127.0.0.1:%d" % udp_port(), "-o", os.devnull,
                                              cap], check=False)
        line = [ln for ln in err.splitlines() if "ipfix:" in ln]
        ck.check(rc == 0 and len(line) == 1 and " 0 send errors" not in line[0],
                 "no collector: exit %d, errors counted: %s" % (rc, line))
        pcaps = os.path.join(args.shared, "data", "pcaps")
        if not os.path.isdir(pcaps):
            print("real captures skipped: %s is absent" % pcaps)
        else:
            for name in REAL:
                path = os.path.join(pcaps, name)
                if not os.path.exists(path):
                    ck.check(False, "%s missing from %s" % (name, pcaps))
                    continue
                flows, nf = export(args, ck, path, name, tmp)
                compare(ck, name, flows, nf, ip_octets(path, flows))
    ck.finish()


if __name__ == "__main__":
    main()
