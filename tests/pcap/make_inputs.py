#!/usr/bin/env python3
"""Writes the golden-test captures tests/pcap/<case>/input.pcap.

Run it after changing a case; then run the golden test with --update and
review the diff of expect.jsonl by hand before committing it."""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from pcapgen import *  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def mixed():
    fr = []
    # HTTP over IPv4, two requests on one keep-alive connection.
    c = Conv(fr, "10.0.0.5", 51000, "93.184.216.34", 80, t=1700000000.0)
    c.handshake()
    c.send(True, PSH | ACK, http_request("example.com:8080", "/a"))
    c.send(False, PSH | ACK, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    c.send(True, PSH | ACK, http_request("example.com", "/b", "HEAD"))
    c.close()
    # TLS over IPv6 in a VLAN.
    c = Conv(fr, "2001:db8::10", 52000, "2001:db8:1::443", 443, t=1700000001.0, v6=True,
             vlans=(100,))
    c.handshake()
    c.send(True, PSH | ACK, tls_client_hello("www.example.net"))
    c.send(False, PSH | ACK, b"\x16\x03\x03\x00\x04\x02\x00\x00\x00")
    c.send(True, RST)
    # A connection seen from its SYN-ACK (capture started late).
    c = Conv(fr, "10.0.0.6", 53000, "10.0.0.7", 22, t=1700000002.0)
    c.send(False, SYN | ACK)
    c.send(True, ACK)
    c.send(True, PSH | ACK, b"SSH-2.0-x\r\n")
    # DNS over UDP: A and AAAA with answers, and an NXDOMAIN.
    q = dns_query(0x0101, "www.example.org", 1)
    r = dns_response(0x0101, "www.example.org", 1, [(5, dns_name("cdn.example.org")),
                                                    (1, bytes([192, 0, 2, 10])),
                                                    (1, bytes([192, 0, 2, 11]))])
    fr.append((1700000003.0, eth(ipv4("10.0.0.5", "10.0.0.53", 17, udp(40000, 53, q)))))
    fr.append((1700000003.01, eth(ipv4("10.0.0.53", "10.0.0.5", 17, udp(53, 40000, r)))))
    q = dns_query(0x0202, "www.example.org", 28)
    r = dns_response(0x0202, "www.example.org", 28,
                     [(28, bytes.fromhex("20010db8000000000000000000000010"))])
    fr.append((1700000003.1, eth(ipv4("10.0.0.5", "10.0.0.53", 17, udp(40001, 53, q)))))
    fr.append((1700000003.11, eth(ipv4("10.0.0.53", "10.0.0.5", 17, udp(53, 40001, r)))))
    q = dns_query(0x0303, "nonexistent.invalid", 1)
    r = dns_response(0x0303, "nonexistent.invalid", 1, [], rcode=3)
    fr.append((1700000003.2, eth(ipv4("10.0.0.5", "10.0.0.53", 17, udp(40002, 53, q)))))
    fr.append((1700000003.21, eth(ipv4("10.0.0.53", "10.0.0.5", 17, udp(53, 40002, r)))))
    # ICMP echo and reply; a port unreachable.
    fr.append((1700000004.0, eth(ipv4("10.0.0.5", "8.8.8.8", 1, icmp(8, 0, b"ping")))))
    fr.append((1700000004.02, eth(ipv4("8.8.8.8", "10.0.0.5", 1, icmp(0, 0, b"ping")))))
    fr.append((1700000004.1, eth(ipv4("10.0.0.1", "10.0.0.5", 1, icmp(3, 3, b"\0" * 28)))))
    # ICMPv6 echo.
    fr.append((1700000004.2, eth(ipv6("2001:db8::10", "2001:db8::1", 58, icmp(128, 0, b"x")),
                                 0x86DD)))
    fr.append((1700000004.21, eth(ipv6("2001:db8::1", "2001:db8::10", 58, icmp(129, 0, b"x")),
                                  0x86DD)))
    # SCTP and GRE (no ports in the flow key for GRE).
    fr.append((1700000005.0, eth(ipv4("10.0.0.5", "10.0.0.8", 132,
                                      struct.pack("!HHII", 2905, 2906, 0, 0)))))
    fr.append((1700000005.1, eth(ipv4("10.0.0.5", "10.0.0.9", 47, b"\0\0\x08\0"))))
    # ARP: not IP, counted, no flow.
    fr.append((1700000006.0, eth(b"\0\1\x08\0\6\4\0\1" + b"\0" * 20, 0x0806)))
    # A fragmented UDP datagram: the first fragment joins the flow, the
    # second is counted only.
    payload = udp(7000, 7001, b"F" * 40)
    fr.append((1700000007.0, eth(ipv4("10.0.0.5", "10.0.0.10", 17, payload[:24], ident=77,
                                      flags=0x2000))))
    fr.append((1700000007.01, eth(ipv4("10.0.0.5", "10.0.0.10", 17, payload[24:], ident=77,
                                       flags=0x0003))))
    # Malformed: a TCP header cut short.
    fr.append((1700000008.0, eth(ipv4("10.0.0.5", "10.0.0.11", 6, b"\0\1\0\2"))))
    return fr


CASES = {"mixed": mixed}

for name, make in CASES.items():
    os.makedirs(os.path.join(HERE, name), exist_ok=True)
    write_pcap(os.path.join(HERE, name, "input.pcap"), make())
