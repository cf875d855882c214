"""Every detector fires on the attack it is for (captures generated here)
and stays quiet on benign traffic that looks a little like it; and on the
benign captures in ../shared/data/pcaps (when present) nothing fires."""
import json
import os
import random
import struct
import tempfile

import common
from pcapgen import *

R = random.Random(7)


def syn(fr, t, src, sport, dst, dport, flags=SYN, payload=b""):
    fr.append((t, eth(ipv4(src, dst, 6, tcp(sport, dport, flags, payload)))))


def u(fr, t, src, sport, dst, dport, payload=b"x"):
    fr.append((t, eth(ipv4(src, dst, 17, udp(sport, dport, payload)))))


def rand_ip(prefix="198.18"):
    return "%s.%d.%d" % (prefix, R.randrange(256), R.randrange(1, 255))


def session(fr, t, cli, cport, srv, sport, exchanges=3, gap=0.05, size=40):
    c = Conv(fr, cli, cport, srv, sport, t=t)
    c.handshake()
    for _ in range(exchanges):
        c.t += gap
        c.send(True, PSH | ACK, b"c" * size)
        c.send(False, PSH | ACK, b"s" * size)
    c.close()
    return c.t


# ---- attacks ---------------------------------------------------------------

def horizontal_syn_scan():
    fr = []
    for i in range(30):
        dst = "10.20.0.%d" % (i + 1)
        syn(fr, 1000 + i * 0.01, "203.0.113.5", 40000 + i, dst, 22)
        if i % 3 == 0:
            syn(fr, 1000 + i * 0.01 + 0.001, dst, 22, "203.0.113.5", 40000 + i, RST | ACK)
    return fr


def vertical_syn_scan():
    fr = []
    for p in range(1, 101):
        t = 1000 + p * 0.005
        syn(fr, t, "203.0.113.6", 50000, "10.20.1.1", p)
        if p in (22, 80):
            syn(fr, t + 0.001, "10.20.1.1", p, "203.0.113.6", 50000, SYN | ACK)
            syn(fr, t + 0.002, "203.0.113.6", 50000, "10.20.1.1", p, RST)
        else:
            syn(fr, t + 0.001, "10.20.1.1", p, "203.0.113.6", 50000, RST | ACK)
    return fr


def xmas_scan():
    fr = []
    for p in range(1000, 1040):
        syn(fr, 1000 + p * 0.001, "203.0.113.7", 60000, "10.20.2.2", p, FIN | PSH | 0x20)
    return fr


def udp_scan():
    fr = []
    for i in range(40):
        u(fr, 1000 + i * 0.02, "203.0.113.8", 45000, "10.20.3.%d" % (i + 1), 161, b"\x30\x26")
    return fr


def icmp_sweep():
    fr = []
    for i in range(60):
        dst = "10.21.0.%d" % (i + 1)
        fr.append((1000 + i * 0.01, eth(ipv4("203.0.113.20", dst, 1, icmp(8, 0, b"p" * 32, 7, i)))))
        if i % 20 == 0:  # a few hosts are up
            fr.append((1000 + i * 0.01 + 0.001,
                       eth(ipv4(dst, "203.0.113.20", 1, icmp(0, 0, b"p" * 32, 7, i)))))
    return fr


def ack_sweep():
    fr = []
    for i in range(40):
        dst = "10.21.1.%d" % (i + 1)
        syn(fr, 1000 + i * 0.01, "203.0.113.21", 41000, dst, 80, ACK)
        syn(fr, 1000 + i * 0.01 + 0.001, dst, 80, "203.0.113.21", 41000, RST)
    return fr


def proto_scan():
    fr = []
    protos = [p for p in range(2, 80) if p not in (6, 17, 58)][:30]
    for i, p in enumerate(protos):
        probe = ipv4("203.0.113.22", "10.21.2.2", p, b"\0" * 8)
        fr.append((1000 + i * 0.01, eth(probe)))
        fr.append((1000 + i * 0.01 + 0.001,
                   eth(ipv4("10.21.2.2", "203.0.113.22", 1, icmp(3, 2, probe[:28], 0, 0)))))
    return fr


def udp_scan_amp_port():
    # Empty datagrams from source port 123 to 100 hosts: probes, not NTP
    # responses (a response carries data).
    fr = []
    for i in range(100):
        u(fr, 1000 + i * 0.01, "203.0.113.23", 123, "10.21.3.%d" % (i + 1), 5060, b"")
    return fr


def slow_scan():
    # Ten SYNs to ten hosts, one every six minutes: no window counts ten.
    fr = []
    for i in range(10):
        syn(fr, 1000 + i * 360, "203.0.113.24", 42000 + i, "10.21.4.%d" % (i + 1), 22)
    return fr


def tcp_opts(sport, dport, flags, window, opts):
    hl = 20 + len(opts)
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, (hl // 4) << 4, flags, window, 0, 0) + opts


def nmap_probe():
    # nmap -sS -p 22 one.host: a SYN with a 1024-byte window and the MSS
    # option alone; the host answers, nmap resets.
    fr = []
    mss = struct.pack("!BBH", 2, 4, 1460)
    fr.append((1000.0, eth(ipv4("203.0.113.25", "10.21.5.5", 6, tcp_opts(61000, 22, SYN, 1024, mss)))))
    syn(fr, 1000.001, "10.21.5.5", 22, "203.0.113.25", 61000, SYN | ACK)
    syn(fr, 1000.002, "203.0.113.25", 61000, "10.21.5.5", 22, RST)
    return fr


def reflection_other(sport, size):
    # Unsolicited responses from a port outside the named list's old
    # members, much larger than the one request seen to it.
    fr = []
    u(fr, 999.0, "10.21.6.1", 40000, "100.64.9.9", sport, b"q" * 80)
    u(fr, 999.01, "100.64.9.9", sport, "10.21.6.1", 40000, b"r" * 120)
    for i in range(300):
        refl = "100.64.1.%d" % (i % 50 + 1)
        u(fr, 1000 + i * 0.01, refl, sport, "198.51.100.60", R.randrange(1024, 65535),
          b"R" * size)
    return fr


def parallel_brute():
    # Sixteen connections at once to RDP, each a few minutes long with many
    # login exchanges: no session is short, together they are brute force.
    fr = []
    for task in range(16):
        t = 1000.0 + task * 0.5
        for k in range(3):
            c = Conv(fr, "203.0.113.26", 30000 + task * 10 + k, "10.21.7.7", 3389, t=t)
            c.handshake()
            for _ in range(60):
                c.t += 2.5
                c.send(True, PSH | ACK, b"c" * 60)
                c.send(False, PSH | ACK, b"s" * 60)
            c.close()
            t = c.t + 0.1
    return fr


def syn_flood():
    fr = []
    for i in range(3000):
        syn(fr, 1000 + i * 0.001, rand_ip(), R.randrange(1024, 65535), "198.51.100.10", 80)
    return fr


def amplification(sport, payload_size):
    fr = []
    for i in range(400):
        refl = "192.0.2.%d" % (i % 60 + 1)
        u(fr, 1000 + i * 0.002, refl, sport, "198.51.100.20", R.randrange(1024, 65535),
          b"A" * payload_size)
    return fr


def synack_reflection():
    fr = []
    for i in range(500):
        syn(fr, 1000 + i * 0.001, "192.0.2.%d" % (i % 80 + 1), 443, "198.51.100.30",
            R.randrange(1024, 65535), SYN | ACK)
    return fr


def volumetric():
    fr = []
    for i in range(12000):
        u(fr, 1000 + i * 0.0001, rand_ip("100.64"), R.randrange(1024, 65535),
          "198.51.100.40", 443, b"Z" * 100)
    return fr


def brute(port):
    fr = []
    t = 1000.0
    for i in range(15):
        t = session(fr, t + 10, "203.0.113.9", 30000 + i, "10.20.4.4", port, exchanges=4)
    return fr


def beacon_connections():
    fr = []
    t = 1000.0
    for i in range(12):
        session(fr, t, "10.20.5.5", 33000 + i, "185.0.2.66", 443, exchanges=1)
        t += 60 + R.uniform(-2, 2)
    return fr


def beacon_in_flow():
    fr = []
    c = Conv(fr, "10.20.6.6", 49227, "185.0.2.77", 8219, t=1000.0)
    c.handshake()
    for i in range(15):
        c.t = 1000.0 + 5 * (i + 1) + R.uniform(-0.2, 0.2)
        c.send(True, PSH | ACK, b"ping|x")
        c.send(False, PSH | ACK, b"pong")
    return fr


def b32(n):
    return "".join(R.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(n))


def dns_tunnel():
    fr = []
    for i in range(40):
        name = "%s.%s.t.tunnel-example.com" % (b32(40), b32(20))
        u(fr, 1000 + i * 0.5, "10.20.7.7", 41000 + i, "10.20.0.53", 53,
          dns_query(i, name, 16))
    return fr


def dga():
    fr = []
    for i in range(30):
        name = "%s.com" % b32(14)
        u(fr, 1000 + i, "10.20.8.8", 42000 + i, "10.20.0.53", 53, dns_query(i, name))
        u(fr, 1000 + i + 0.01, "10.20.0.53", 53, "10.20.8.8", 42000 + i,
          dns_response(i, name, 1, [], rcode=3))
    return fr


def modbus(tid, fc, body):
    pdu = bytes([fc]) + body
    return struct.pack("!HHHB", tid, 0, len(pdu) + 1, 1) + pdu


def modbus_session(src, writes=True):
    fr = []
    c = Conv(fr, src, 40502, "10.40.0.2", 502, t=1000.0)
    c.handshake()
    for i in range(5):
        c.send(True, PSH | ACK, modbus(i, 3, struct.pack("!HH", 0, 10)))
        c.send(False, PSH | ACK, modbus(i, 3, bytes([20]) + b"\0" * 20))
    if writes:
        c.send(True, PSH | ACK, modbus(9, 16, struct.pack("!HHB", 100, 2, 4) + b"\0\1\0\2"))
        c.send(False, PSH | ACK, modbus(9, 16, struct.pack("!HH", 100, 2)))
    return fr


def dnp3_crc(data):
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA6BC if crc & 1 else crc >> 1
    return struct.pack("<H", (~crc) & 0xFFFF)


def dnp3_request(fc, dst=10, src=1, seq=0):
    user = bytes([0xC0 | seq, 0xC0 | seq, fc])  # transport FIR|FIN, app control, function
    head = bytes([0x05, 0x64, 5 + len(user), 0xC4]) + struct.pack("<HH", dst, src)
    return head + dnp3_crc(head) + user + dnp3_crc(user)


def dnp3_restart():
    fr = []
    c = Conv(fr, "10.40.1.1", 41000, "10.40.0.3", 20000, t=1000.0)
    c.handshake()
    c.send(True, PSH | ACK, dnp3_request(1))   # read: routine
    c.send(True, PSH | ACK, dnp3_request(13))  # cold restart
    return fr


# ---- benign look-alikes ----------------------------------------------------

def busy_client():
    fr = []
    for i in range(200):
        session(fr, 1000 + i * 1.0, "10.30.0.1", 20000 + i, "93.184.%d.%d" % (i // 200, i % 250 + 1),
                443, exchanges=2)
    return fr


def busy_server():
    fr = []
    for i in range(1500):
        session(fr, 1000 + i * 0.02, "100.70.%d.%d" % (i // 250, i % 250 + 1), 30000 + i % 30000,
                "10.30.0.80", 443, exchanges=1)
    return fr


def resolver_traffic():
    fr = []
    names = ["www.example.com", "mail.example.org", "cdn.images.example.net",
             "a-very-long-but-ordinary-hostname-for-services.example.com"]
    for i in range(300):
        n = names[i % len(names)]
        u(fr, 1000 + i * 0.3, "10.30.1.1", 50000 + i, "10.30.0.53", 53, dns_query(i, n))
        u(fr, 1000 + i * 0.3 + 0.01, "10.30.0.53", 53, "10.30.1.1", 50000 + i,
          dns_response(i, n, 1, [(1, bytes([192, 0, 2, 1]))]))
    for i in range(3):  # a few typos
        n = "wwww.exmaple%d.com" % i
        u(fr, 2000 + i, "10.30.1.1", 60000 + i, "10.30.0.53", 53, dns_query(900 + i, n))
        u(fr, 2000 + i + 0.01, "10.30.0.53", 53, "10.30.1.1", 60000 + i,
          dns_response(900 + i, n, 1, [], rcode=3))
    return fr


def interactive_ssh():
    fr = []
    session(fr, 1000, "10.30.2.2", 51515, "10.30.0.22", 22, exchanges=400, gap=0.7)
    t = 2000.0
    for i in range(5):  # an admin logging in a few times
        t = session(fr, t + 60, "10.30.2.2", 52000 + i, "10.30.0.22", 22, exchanges=5)
    return fr


def random_connections():
    fr = []
    t = 1000.0
    for i in range(20):
        session(fr, t, "10.30.3.3", 34000 + i, "151.101.0.1", 443, exchanges=1)
        t += R.expovariate(1 / 60.0) + 1
    return fr


def syslog_and_ntp():
    fr = []
    for i in range(30):
        u(fr, 1000 + i * 2.0, "10.30.4.4", 514, "10.30.0.9", 514, b"<13>host: status ok")
    for i in range(20):
        u(fr, 1000 + i * 64.0, "10.30.4.4", 123, "10.30.0.123", 123, b"\x23" + b"\0" * 47)
        u(fr, 1000 + i * 64.0 + 0.01, "10.30.0.123", 123, "10.30.4.4", 123, b"\x24" + b"\0" * 47)
    return fr


ATTACKS = [
    ("horizontal SYN scan", horizontal_syn_scan, [], {9100001}),
    ("vertical SYN scan", vertical_syn_scan, [], {9100011}),
    ("Xmas scan", xmas_scan, [], {9100012}),
    ("UDP scan", udp_scan, [], {9100003}),
    ("SYN flood", syn_flood, [], {9200001}),
    ("DNS amplification", lambda: amplification(53, 1400), [], {9200010}),
    ("NTP amplification", lambda: amplification(123, 440), [], {9200011}),
    ("memcached amplification", lambda: amplification(11211, 1400), [], {9200013}),
    ("SYN-ACK reflection", synack_reflection, [], {9200018}),
    ("volumetric flood", volumetric, ["--detect", "vol.pps=1000"], {9200002}),
    ("SSH brute force", lambda: brute(22), [], {9300022}),
    ("ICMP echo sweep", icmp_sweep, [], {9100005}),
    ("TCP ACK sweep", ack_sweep, [], {9100004}),
    ("IP protocol scan", proto_scan, [], {9100014}),
    ("UDP scan of empty datagrams from port 123", udp_scan_amp_port, [], {9100003}),
    ("slow scan (TRW)", slow_scan, [], {9100031}),
    ("single nmap probe", nmap_probe, [], {9100021}),
    ("IKE reflection", lambda: reflection_other(500, 1200), [], {9200020}),
    ("BACnet reflection", lambda: reflection_other(47808, 600), [], {9200021}),
    ("reflection from an unlisted port", lambda: reflection_other(7777, 900), [], {9200019}),
    ("parallel long RDP brute force", parallel_brute, [], {9303389}),
    ("RDP brute force", lambda: brute(3389), [], {9303389}),
    ("beaconing connections", beacon_connections, [], {9400001}),
    ("beaconing inside a connection", beacon_in_flow, [], {9400002}),
    ("DNS tunnel", dns_tunnel, [], {9500001}),
    ("NXDOMAIN burst", dga, [], {9500002}),
    ("Modbus write from an unlisted source", lambda: modbus_session("10.40.9.9"),
     ["--ics-allow", "10.40.1.0/24"], {9600001}),
    ("DNP3 cold restart", dnp3_restart, [], {9600013}),
]

def ike_peers():
    # A VPN concentrator talking IKE with 60 sites (500 <-> 500), and NAT-T.
    fr = []
    for i in range(60):
        site = "100.66.%d.1" % i
        u(fr, 1000 + i * 0.05, site, 500, "10.30.5.5", 500, b"i" * 300)
        u(fr, 1000 + i * 0.05 + 0.01, "10.30.5.5", 500, site, 500, b"r" * 300)
        u(fr, 1000 + i * 0.05 + 0.02, site, 4500, "10.30.5.5", 4500, b"e" * 1200)
    return fr


def dns_answers_to_clients():
    # A resolver answering 80 clients: the queries were seen, so the large
    # answers are no reflection.
    fr = []
    for i in range(80):
        cli = "10.30.6.%d" % (i + 1)
        u(fr, 1000 + i * 0.01, cli, 33000 + i, "10.30.0.53", 53, b"q" * 40)
        u(fr, 1000 + i * 0.01 + 0.001, "10.30.0.53", 53, cli, 33000 + i, b"a" * 900)
    return fr


def web_client_mostly_ok():
    # A client opening connections to 40 servers; two of them are down.
    fr = []
    for i in range(40):
        if i in (7, 23):
            syn(fr, 1000 + i, "10.30.7.7", 45000 + i, "93.184.1.%d" % (i + 1), 443)
        else:
            session(fr, 1000 + i, "10.30.7.7", 45000 + i, "93.184.1.%d" % (i + 1), 443,
                    exchanges=1)
    return fr


BENIGN = [
    ("IKE and NAT-T peers of a VPN concentrator", ike_peers),
    ("resolver answering its clients", dns_answers_to_clients),
    ("web client with two servers down", web_client_mostly_ok),
    ("busy client", busy_client),
    ("busy server", busy_server),
    ("resolver traffic", resolver_traffic),
    ("interactive SSH", interactive_ssh),
    ("random-interval connections", random_connections),
    ("syslog and NTP", syslog_and_ntp),
    ("Modbus polling without an allow-list", lambda: modbus_session("10.40.1.1")),
]

# Benign traffic under a given command line.
BENIGN_WITH = [
    ("Modbus write from the allowed master", lambda: modbus_session("10.40.1.1"),
     ["--ics-allow", "10.40.1.0/24"]),
]

BENIGN_SHARED = ["ndpi__chrome.pcap", "ndpi__dns.pcap", "ndpi__http_auth.pcap",
                 "ndpi__modbus.pcap", "ndpi__IEC104.pcap", "iti__090813_diverse.pcap",
                 "iti__ModbusTCP.pcap", "iti__read_and_response.pcap", "zeek__dnp3_udp_read.pcap",
                 "cisa-bacnet__bacnet_error_reject_abort.pcap",
                 "cisa-enip__multiple_service_packet_cip.pcapng", "tcpreplay__test.pcap"]


# ---- floods from forged sources, with real attackers among them -------------

def forged_addr():
    # Anywhere in public IPv4 space but the ranges the real hosts use.
    while True:
        a = R.randrange(1, 224)
        if a not in (10, 100, 127, 198, 203, 192):
            return "%d.%d.%d.%d" % (a, R.randrange(256), R.randrange(256), R.randrange(1, 255))


REAL_ATTACKERS = ["203.0.113.40", "203.0.113.41", "203.0.113.42", "203.0.113.43",
                  "203.0.113.44"]


def forged_floods_with_real_attackers():
    fr = []
    t0 = 1000.0
    # SYN flood: 20,000 SYNs from forged addresses (one or two each); the
    # victim answers the first 30% with SYN-ACKs nobody acknowledges.
    i = 0
    while i < 20000:
        src = forged_addr()
        for _ in range(R.choice((1, 1, 2))):
            t = t0 + i * 0.0005
            sp = R.randrange(1024, 65535)
            syn(fr, t, src, sp, "198.51.100.10", 80)
            if i < 6000:
                syn(fr, t + 0.0002, "198.51.100.10", 80, src, sp, SYN | ACK)
            i += 1
    # Bystanders: ordinary clients completing sessions with the victim then.
    for k in range(100):
        session(fr, t0 + k * 0.09, "10.50.%d.%d" % (k // 200, k % 200 + 1), 33000 + k,
                "198.51.100.10", 80, exchanges=2)
    # UDP and ICMP floods from forged addresses.
    for k in range(8000):
        u(fr, t0 + k * 0.0005, forged_addr(), R.randrange(1024, 65535), "198.51.100.11", 53,
          b"U" * 512)
        fr.append((t0 + k * 0.0005 + 0.0001,
                   eth(ipv4(forged_addr(), "198.51.100.12", 1, icmp(8, 0, b"I" * 56, k, 1)))))
    # The real attackers, meanwhile: a horizontal scanner of 300 hosts, a
    # vertical scanner of 200 ports, three SSH brute forcers.
    for k in range(300):
        syn(fr, t0 + k * 0.03, REAL_ATTACKERS[0], 40000 + k, "10.60.%d.%d" % (k // 250, k % 250 + 1), 445)
    for p in range(1, 201):
        syn(fr, t0 + p * 0.04, REAL_ATTACKERS[1], 50000, "10.61.0.1", p)
        syn(fr, t0 + p * 0.04 + 0.001, "10.61.0.1", p, REAL_ATTACKERS[1], 50000, RST | ACK)
    for b, who in enumerate(REAL_ATTACKERS[2:]):
        t = t0 + b
        for k in range(20):
            t = session(fr, t + 0.4, who, 30000 + k, "10.62.0.%d" % (b + 1), 22, exchanges=4)
    return fr


def check_forged(t, y, d):
    p = os.path.join(d, "forged.pcap")
    write_pcap(p, sorted(forged_floods_with_real_attackers(), key=lambda x: x[0]))
    srcfile = os.path.join(d, "forged-sources.json")
    _, out, err = common.run(y, ["analyze", "--detect", "vol.pps=500", "--sources", srcfile, p])
    got = [r for r in common.records(out) if r["event_type"] == "alert"]
    floods = [r for r in got if r["alert"]["signature_id"] in (9200001, 9200002)]
    victims = {r["dest_ip"] for r in floods}
    t.check(victims == {"198.51.100.10", "198.51.100.11", "198.51.100.12"},
            "forged floods: alerts on every victim: %s" % sorted(victims))
    for r in floods:
        ev = r["evidence"]
        t.check(ev.get("spoofed") is True and "distinct sources" in ev.get("spoof_reason", "") and
                ev.get("attackers") == [],
                "flood on %s judged forged, naming nobody: %s" % (r["dest_ip"], ev))
    with open(srcfile) as f:
        srcs = json.load(f)
    ips = [s["ip"] for s in srcs]
    t.check(set(ips[:len(REAL_ATTACKERS)]) == set(REAL_ATTACKERS),
            "the real attackers lead the ranked sources: %s" % ips[:8])
    stray = [ip for ip in ips[:100] if ip not in REAL_ATTACKERS]
    t.check(not stray, "no forged address or bystander among the top 100: %s" % stray[:10])
    t.check("flooded from forged sources: 198.51.100.10" in err,
            "the summary names the flooded victim: %s" % err[-600:])
    by = {s["ip"]: s for s in srcs}
    h = by.get(REAL_ATTACKERS[0], {})
    # (as of its last escalation, at 100 hosts)
    t.check(h.get("hosts", 0) >= 100 and h.get("packets", 0) >= 100,
            "the horizontal scanner's breadth and packets are its own: %s" % h)
    # The same with tables of 64 records, full many times over: the forged
    # addresses must not flush what the detectors know of the real ones.
    _, out, _ = common.run(y, ["analyze", "-q", "--detect", "table.entries=64", p])
    got = [r for r in common.records(out) if r["event_type"] == "alert"]
    named = {r["src_ip"] for r in got if r["alert"]["signature_id"] == 9300022}
    t.check(named == set(REAL_ATTACKERS[2:]),
            "brute forcers caught with full tables: %s" % sorted(named))
    scans = {r["src_ip"] for r in got if r["alert"]["signature_id"] in (9100001, 9100011)}
    t.check(set(REAL_ATTACKERS[:2]) <= scans, "scanners caught with full tables: %s" % sorted(scans))


def alerts(y, path, extra=()):
    _, out, err = common.run(y, ["analyze", "-q"] + list(extra) + [path])
    return [r for r in common.records(out) if r["event_type"] == "alert"]


def main():
    a = common.parse_args()
    t = common.Checker("detect")
    with tempfile.TemporaryDirectory() as d:
        for name, make, extra, want in ATTACKS:
            p = os.path.join(d, "attack.pcap")
            write_pcap(p, sorted(make(), key=lambda x: x[0]))
            got = alerts(a.yagura, p, extra)
            sids = {r["alert"]["signature_id"] for r in got}
            t.check(want <= sids, "%s: wanted %s, got %s" % (name, sorted(want), sorted(sids)))
            for r in got:
                ev = r.get("evidence", {})
                t.check(bool(ev), "%s: alert %d has no evidence" % (name, r["alert"]["signature_id"]))
        for name, make in BENIGN:
            p = os.path.join(d, "benign.pcap")
            write_pcap(p, sorted(make(), key=lambda x: x[0]))
            got = alerts(a.yagura, p)
            t.check(not got, "%s: %d alerts: %s" % (
                name, len(got), sorted({r["alert"]["signature"] for r in got})))
        for name, make, extra in BENIGN_WITH:
            p = os.path.join(d, "benign.pcap")
            write_pcap(p, sorted(make(), key=lambda x: x[0]))
            got = alerts(a.yagura, p, extra)
            t.check(not got, "%s: %d alerts" % (name, len(got)))
        check_forged(t, a.yagura, d)
        # Sources: the SYN scanner ranks first, with its victims and detectors.
        p = os.path.join(d, "mix.pcap")
        write_pcap(p, sorted(horizontal_syn_scan() + brute(22) + busy_client(), key=lambda x: x[0]))
        srcfile = os.path.join(d, "sources.json")
        common.run(a.yagura, ["analyze", "-q", "--sources", srcfile, p])
        import json
        with open(srcfile) as f:
            srcs = json.load(f)
        t.check([s["ip"] for s in srcs] == ["203.0.113.9", "203.0.113.5"] or
                [s["ip"] for s in srcs] == ["203.0.113.5", "203.0.113.9"],
                "sources: %s" % [s["ip"] for s in srcs])
        by_ip = {s["ip"]: s for s in srcs}
        if "203.0.113.5" in by_ip:
            s = by_ip["203.0.113.5"]
            t.check(s["detectors"].get("scan", {}).get("alerts", 0) >= 1 and s["hosts"] >= 10 and
                    s["rank"] in (1, 2) and s["score"] > 0, "scanner source record: %s" % s)
    shared = os.path.join(a.shared, "data", "pcaps")
    if os.path.isdir(shared):
        # snap7 exercises a PLC's stop, upload and program control.
        s7 = os.path.join(shared, "cisa-s7__snap7.pcap")
        sids = {r["alert"]["signature_id"] for r in alerts(a.yagura, s7)}
        t.check({9600021, 9600023, 9600024} <= sids, "snap7: %s" % sorted(sids))
        t.check(not alerts(a.yagura, s7, ["--ics-allow", "134.217.61.131"]),
                "snap7 from the allowed engineering station")
        for f in BENIGN_SHARED:
            got = alerts(a.yagura, os.path.join(shared, f))
            t.check(not got, "%s (benign): %s" % (f, sorted({r["alert"]["signature"] for r in got})))
    else:
        print("note: %s absent, benign real captures not checked" % shared)
    t.finish()


main()
