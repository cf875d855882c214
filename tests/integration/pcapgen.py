"""Builds small, exact captures for yagura's tests (stdlib only).

Every frame is assembled field by field, so a test knows precisely what is
in it: addresses, ports, flags and payload bytes.
"""
import socket
import struct

LINK_ETHERNET = 1
LINK_RAW = 101
LINK_LINUX_SLL = 113
LINK_LINUX_SLL2 = 276
LINK_NULL = 0


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def eth(payload, ethertype=0x0800, vlans=(), src=b"\x02\0\0\0\0\x01", dst=b"\x02\0\0\0\0\x02"):
    head = dst + src
    for i, vid in enumerate(vlans):
        tpid = 0x88A8 if i == 0 and len(vlans) > 1 else 0x8100
        head += struct.pack("!HH", tpid, vid)
    return head + struct.pack("!H", ethertype) + payload


def ipv4(src, dst, proto, payload, ident=1, flags=0x4000, ttl=64, options=b""):
    hl = 20 + len(options)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | (hl // 4), 0, hl + len(payload), ident, flags,
                      ttl, proto, 0, socket.inet_aton(src), socket.inet_aton(dst)) + options
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return hdr + payload


def ipv6(src, dst, nh, payload, ext=b""):
    return (struct.pack("!IHBB", 0x60000000, len(ext) + len(payload), nh, 64) +
            socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) +
            ext + payload)


FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def tcp(sport, dport, flags, payload=b"", seq=1, ack=0):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload


def udp(sport, dport, payload=b""):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def icmp(type_, code, payload=b"", ident=1, seq=1):
    return struct.pack("!BBHHH", type_, code, 0, ident, seq) + payload


def dns_name(name):
    out = b""
    for label in name.split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def dns_query(txid, name, qtype=1):
    return struct.pack("!HHHHHH", txid, 0x0100, 1, 0, 0, 0) + dns_name(name) + \
        struct.pack("!HH", qtype, 1)


def dns_response(txid, name, qtype, answers, rcode=0, extra=b"", n_extra=0):
    """answers: list of (type, rdata bytes); names compressed to the question."""
    body = dns_name(name) + struct.pack("!HH", qtype, 1)
    for rtype, rdata in answers:
        body += struct.pack("!HHHIH", 0xC00C, rtype, 1, 300, len(rdata)) + rdata
    head = struct.pack("!HHHHHH", txid, 0x8180 | rcode, 1, len(answers), 0, n_extra)
    return head + body + extra


def tls_client_hello(sni=None, alpn=(b"h2", b"http/1.1"), extra_ext=b"", random=b"\x11" * 32):
    exts = b""
    if sni is not None:
        name = sni.encode()
        entry = b"\0" + struct.pack("!H", len(name)) + name
        exts += struct.pack("!HH", 0, len(entry) + 2) + struct.pack("!H", len(entry)) + entry
    if alpn:
        lst = b"".join(bytes([len(a)]) + a for a in alpn)
        exts += struct.pack("!HHH", 16, len(lst) + 2, len(lst)) + lst
    sv = b"\x04\x03\x04\x03\x03"
    exts += struct.pack("!HH", 43, len(sv)) + sv
    sig = struct.pack("!H3H", 6, 0x0403, 0x0804, 0x0401)
    exts += struct.pack("!HH", 13, len(sig)) + sig
    groups = struct.pack("!HHH", 4, 0x001D, 0x0017)
    exts += struct.pack("!HH", 10, len(groups)) + groups
    exts += extra_ext
    ciphers = struct.pack("!HHHH", 6, 0x1301, 0x1302, 0xC02F)
    body = b"\x03\x03" + random + b"\0" + ciphers + b"\x01\x00" + struct.pack("!H", len(exts)) + exts
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def http_request(host, path="/", method="GET", headers=(), body=b""):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s" % host]
    lines += list(headers)
    if body:
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def write_pcap(path, frames, linktype=LINK_ETHERNET, snaplen=65535):
    """frames: iterable of (timestamp seconds as float, frame bytes)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype))
        for ts, data in frames:
            sec = int(ts)
            usec = int(round((ts - sec) * 1e6))
            f.write(struct.pack("<IIII", sec, usec, len(data), len(data)))
            f.write(data)


class Conv:
    """A TCP connection between a client and a server, as frames."""

    def __init__(self, frames, cli, cport, srv, sport, t=1000.0, v6=False, vlans=()):
        self.frames, self.cli, self.cport, self.srv, self.sport = frames, cli, cport, srv, sport
        self.t, self.v6, self.vlans = t, v6, vlans
        self.seq = {True: 1000, False: 5000}

    def _ip(self, from_client, seg):
        a, b = (self.cli, self.srv) if from_client else (self.srv, self.cli)
        if self.v6:
            return eth(ipv6(a, b, 6, seg), 0x86DD, self.vlans)
        return eth(ipv4(a, b, 6, seg), 0x0800, self.vlans)

    def send(self, from_client, flags, payload=b""):
        sp, dp = (self.cport, self.sport) if from_client else (self.sport, self.cport)
        seg = tcp(sp, dp, flags, payload, self.seq[from_client], self.seq[not from_client])
        self.seq[from_client] += len(payload) + (1 if flags & (SYN | FIN) else 0)
        self.t += 0.001
        self.frames.append((self.t, self._ip(from_client, seg)))

    def handshake(self):
        self.send(True, SYN)
        self.send(False, SYN | ACK)
        self.send(True, ACK)

    def close(self):
        self.send(True, FIN | ACK)
        self.send(False, FIN | ACK)
        self.send(True, ACK)


def write_pcap_nsec(path, frames, linktype=LINK_ETHERNET, big_endian=False):
    """Nanosecond-resolution pcap, in either byte order."""
    e = ">" if big_endian else "<"
    with open(path, "wb") as f:
        f.write(struct.pack(e + "IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, linktype))
        for ts, data in frames:
            sec = int(ts)
            nsec = int(round((ts - sec) * 1e9))
            f.write(struct.pack(e + "IIII", sec, nsec, len(data), len(data)))
            f.write(data)


def _pcapng_block(btype, body):
    body += b"\0" * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def write_pcapng(path, frames, linktype=LINK_ETHERNET):
    with open(path, "wb") as f:
        f.write(_pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
        f.write(_pcapng_block(1, struct.pack("<HHI", linktype, 0, 65535)))
        for ts, data in frames:
            us = int(round(ts * 1e6))
            body = struct.pack("<IIIII", 0, us >> 32, us & 0xFFFFFFFF, len(data), len(data)) + data
            f.write(_pcapng_block(6, body))
