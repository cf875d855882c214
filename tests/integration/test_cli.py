"""The command line as a user meets it: formats and link types, bad input
(missing, truncated, corrupt files), bad options, output errors, limits."""
import json
import os
import re
import shutil
import struct
import tempfile

import common
from pcapgen import *


def sample_frames(n_flows=3, t0=1000.0):
    fr = []
    for i in range(n_flows):
        c = Conv(fr, "10.0.0.%d" % (i + 1), 30000 + i, "192.0.2.1", 80, t=t0 + i)
        c.handshake()
        c.send(True, PSH | ACK, http_request("host%d.example" % i))
        c.close()
    return fr


def ip_only(frames):
    """Strips the Ethernet header: for the link types without one."""
    return [(t, f[14:]) for t, f in frames]


def flows(out):
    return [r for r in common.records(out) if r["event_type"] == "flow"]


def main():
    a = common.parse_args()
    t = common.Checker("cli")
    y = a.yagura
    d = tempfile.mkdtemp()
    try:
        good = os.path.join(d, "good.pcap")
        fr = sample_frames()
        write_pcap(good, fr)

        # Formats and link types: every one yields the same three flows.
        variants = {
            "ether.pcapng": lambda p: write_pcapng(p, fr),
            "nsec.pcap": lambda p: write_pcap_nsec(p, fr),
            "nsec-be.pcap": lambda p: write_pcap_nsec(p, fr, big_endian=True),
            "raw.pcap": lambda p: write_pcap(p, ip_only(fr), LINK_RAW),
            "null.pcap": lambda p: write_pcap(p, [(ts, b"\x02\0\0\0" + f) for ts, f in ip_only(fr)],
                                              LINK_NULL),
            "sll.pcap": lambda p: write_pcap(p, [(ts, b"\0\0\0\1\0\6" + b"\2" * 8 + b"\x08\x00" + f)
                                                 for ts, f in ip_only(fr)], LINK_LINUX_SLL),
            "sll2.pcap": lambda p: write_pcap(p, [(ts, b"\x08\x00\0\0" + b"\0\0\0\2\0\1\0\6" +
                                                   b"\2" * 8 + f) for ts, f in ip_only(fr)],
                                              LINK_LINUX_SLL2),
        }
        _, base_out, base_err = common.run(y, ["analyze", good])
        base = sorted((r["src_ip"], r["src_port"], r["flow"]["pkts_toserver"],
                       r["flow"]["pkts_toclient"], r["flow"]["start"]) for r in flows(base_out))
        t.check(len(base) == 3, "good.pcap: 3 flows, got %d" % len(base))
        t.check(re.search(r"summary: 21 packets, \d+ bytes, 3 flows", base_err) is not None,
                "summary line: %r" % base_err.splitlines()[:1])
        t.check("packets/s" in base_err and "decode errors: 0" in base_err, "summary details")
        for name, make in variants.items():
            p = os.path.join(d, name)
            make(p)
            rc, out, err = common.run(y, ["analyze", p], check=False)
            got = sorted((r["src_ip"], r["src_port"], r["flow"]["pkts_toserver"],
                          r["flow"]["pkts_toclient"], r["flow"]["start"]) for r in flows(out))
            t.check(rc == 0 and got == base, "%s: exit %d, flows %s" % (name, rc, got))

        # Standard input.
        with open(good, "rb") as f:
            p = __import__("subprocess").run([y, "analyze", "-"], stdin=f, capture_output=True)
        t.check(p.returncode == 0 and len(flows(p.stdout)) == 3, "stdin: exit %d" % p.returncode)

        # The buffered reader (regular files) and libpcap (standard input)
        # agree on a capture of several read chunks, whose records straddle
        # every chunk boundary.
        big = os.path.join(d, "big.pcap")
        frb = []
        for i in range(40):
            c = Conv(frb, "10.7.%d.1" % i, 20000 + i, "10.8.0.1", 443, t=2000.0 + i * 0.01)
            c.handshake()
            for k in range(40):
                c.send(k % 3 != 0, PSH | ACK, bytes([k]) * (200 + 37 * k))
            c.close()
        frb.sort(key=lambda x: x[0])
        write_pcap(big, frb)
        t.check(os.path.getsize(big) > 3 * 512 * 1024, "big.pcap spans several chunks")
        _, out_file, _ = common.run(y, ["analyze", "-q", big])
        with open(big, "rb") as f:
            p = __import__("subprocess").run([y, "analyze", "-q", "-"], stdin=f,
                                             capture_output=True)
        t.check(p.returncode == 0 and p.stdout == out_file and len(flows(out_file)) == 40,
                "buffered reader and libpcap differ")

        # A missing file: one line naming it, exit 2.
        rc, out, err = common.run(y, ["analyze", os.path.join(d, "nope.pcap")], check=False)
        first = err.splitlines()[0] if err else ""
        t.check(rc == 2 and "nope.pcap" in first and "No such file" in first,
                "missing file: exit %d, %r" % (rc, first))

        # Refused after options that allocate: one line, the exit status of
        # the refusal (under the sanitizers a leak on the way out would
        # change it: every way out frees what was made).
        for args, want, says in (
                (["--ics-allow", "10.0.0.0/8", "--max-flows", "0", good], 1, "--max-flows"),
                (["--ics-allow", "10.0.0.0/8", "--protect", "10.0.0.0/8", "--pseudonym-key",
                  os.path.join(d, "no.key"), good], 2, "no.key"),
                (["--ics-allow", "10.0.0.0/8", "--protect", "bad/99", "--pseudonym-key",
                  os.path.join(d, "no.key"), good], 1, "--protect")):
            rc, out, err = common.run(y, ["analyze"] + args, check=False)
            t.check(rc == want and says in err and out == b"",
                    "analyze %s: exit %d, %r" % (" ".join(args[:4]), rc, err[:200]))

        # The live sensor's options, refused with one line each.
        for args, want, says in ((["sensor"], 1, "--interface"),
                                 (["sensor", "--interface", "no-such-if0"], 2, "no-such-if0"),
                                 (["sensor", "--interface", "lo", good], 1, "not both"),
                                 (["analyze", "--capture", "dpdk", good], 1, "--capture"),
                                 (["analyze", "--metrics", "not an address", good], 1,
                                  "--metrics")):
            rc, out, err = common.run(y, args, check=False)
            t.check(rc == want and says in err, "%s: exit %d, %r" % (" ".join(args[:3]), rc,
                                                                      err[:200]))

        # A truncated file: what was read is still output, the error names
        # the byte offset of the cut record.
        with open(good, "rb") as f:
            data = f.read()
        offsets, off = [], 24
        while off < len(data):
            offsets.append(off)
            off += 16 + struct.unpack("<I", data[off + 8:off + 12])[0]
        cut = os.path.join(d, "cut.pcap")
        last = offsets[-1]
        with open(cut, "wb") as f:
            f.write(data[:last + 20])
        rc, out, err = common.run(y, ["analyze", cut], check=False)
        t.check(rc == 2, "truncated: exit %d" % rc)
        t.check(("cut.pcap: truncated record at byte offset %d" % last) in err,
                "truncated: message %r" % err.splitlines()[:1])
        got = flows(out)
        t.check(len(got) == 3 and sum(r["flow"]["pkts_toserver"] + r["flow"]["pkts_toclient"]
                                      for r in got) == 20,
                "truncated: the 20 complete packets are still in flows")
        # Cut inside a record header.
        with open(cut, "wb") as f:
            f.write(data[:last + 5])
        rc, out, err = common.run(y, ["analyze", cut], check=False)
        t.check(rc == 2 and ("truncated record header at byte offset %d" % last) in err,
                "truncated header: %r" % err.splitlines()[:1])

        # Truncated pcapng: libpcap reads it; the error still names the file.
        ng = os.path.join(d, "cut.pcapng")
        write_pcapng(ng, fr)
        with open(ng, "rb") as f:
            ngdata = f.read()
        with open(ng, "wb") as f:
            f.write(ngdata[:-30])
        rc, out, err = common.run(y, ["analyze", ng], check=False)
        t.check(rc == 2 and "cut.pcapng:" in err and "byte offset" in err,
                "truncated pcapng: exit %d %r" % (rc, err.splitlines()[:1]))
        t.check(len(flows(out)) == 3, "truncated pcapng: earlier packets still in flows")

        # A record claiming an absurd length.
        bad = bytearray(data)
        struct.pack_into("<I", bad, offsets[5] + 8, 0x7FFFFFFF)
        badp = os.path.join(d, "corrupt.pcap")
        with open(badp, "wb") as f:
            f.write(bad)
        rc, out, err = common.run(y, ["analyze", badp], check=False)
        t.check(rc == 2 and ("corrupt record at byte offset %d" % offsets[5]) in err,
                "corrupt: exit %d %r" % (rc, err.splitlines()[:1]))
        t.check(len(flows(out)) == 1, "corrupt: the first 5 packets still make a flow")

        # Not a capture at all, an empty file, a directory.
        txt = os.path.join(d, "notes.txt")
        with open(txt, "w") as f:
            f.write("this is not a capture\n" * 10)
        empty = os.path.join(d, "empty.pcap")
        open(empty, "w").close()
        for p, want in ((txt, "not a pcap or pcapng file"), (empty, "empty.pcap:"),
                        (d, "is a directory")):
            rc, out, err = common.run(y, ["analyze", p], check=False)
            t.check(rc == 2 and want in err, "%s: exit %d %r" % (p, rc, err.splitlines()[:1]))

        # Several files: a bad one in the middle loses nothing of the others.
        good2 = os.path.join(d, "good2.pcap")
        write_pcap(good2, sample_frames(2, t0=5000.0))
        rc, out, err = common.run(y, ["analyze", good, txt, good2], check=False)
        t.check(rc == 2 and len(flows(out)) == 5, "multi: exit %d, %d flows" % (rc, len(flows(out))))

        # Bad options: exit 1 with a line naming the option.
        for args, want in ((["--max-flows", "0"], "--max-flows"),
                           (["--max-flows", "12abc"], "--max-flows"),
                           (["--idle-timeout", "-5"], "--idle-timeout"),
                           (["--active-timeout", "x"], "--active-timeout"),
                           (["--metadata", "all"], "--metadata"),
                           ([], "no capture file")):
            rc, out, err = common.run(y, ["analyze"] + args + ([good] if args else []),
                                      check=False)
            t.check(rc == 1 and want in err, "options %s: exit %d %r" % (args, rc, err))
        rc, _, err = common.run(y, ["frobnicate"], check=False)
        t.check(rc == 1 and "unknown command" in err, "unknown command: exit %d" % rc)
        rc, out, _ = common.run(y, ["analyze", "--help"], check=False)
        t.check(rc == 0 and b"--idle-timeout" in out, "analyze --help")

        # Output errors: exit 3.
        rc, _, err = common.run(y, ["analyze", "-o", os.path.join(d, "no/such/dir.json"), good],
                                check=False)
        t.check(rc == 3 and "dir.json" in err, "unwritable output: exit %d %r" % (rc, err))
        if os.path.exists("/dev/full"):
            rc, _, err = common.run(y, ["analyze", "-o", "/dev/full", good], check=False)
            t.check(rc == 3 and "write error" in err, "/dev/full: exit %d %r" % (rc, err))

        # Limits: a full table evicts the flow idle longest, and says so.
        rc, out, err = common.run(y, ["analyze", "--max-flows", "2", good])
        reasons = sorted(r["flow"]["reason"] for r in flows(out))
        t.check(reasons.count("evicted") == 1 and "1 evicted" in err,
                "eviction: reasons %s" % reasons)

        # Timeouts: a 3 s gap splits a flow under --idle-timeout 2.
        fr2 = []
        c = Conv(fr2, "10.9.0.1", 1111, "10.9.0.2", 22, t=100.0)
        c.handshake()
        c.t += 3
        c.send(True, PSH | ACK, b"x")
        gap = os.path.join(d, "gap.pcap")
        write_pcap(gap, fr2)
        _, out, _ = common.run(y, ["analyze", "--idle-timeout", "2", gap])
        got = [(r["flow"]["reason"], r["flow"]["pkts_toserver"] + r["flow"]["pkts_toclient"])
               for r in flows(out)]
        t.check(got == [("timeout", 3), ("shutdown", 1)], "idle split: %s" % got)
        _, out, _ = common.run(y, ["analyze", gap])
        t.check(len(flows(out)) == 1, "no split with the default idle timeout")

        # Every line is one JSON object, with the EVE names users rely on.
        for r in flows(base_out):
            for k in ("timestamp", "flow_id", "event_type", "src_ip", "src_port", "dest_ip",
                      "dest_port", "proto", "community_id", "flow"):
                t.check(k in r, "flow record lacks %s" % k)
            for k in ("pkts_toserver", "pkts_toclient", "bytes_toserver", "bytes_toclient",
                      "start", "end", "state", "reason"):
                t.check(k in r["flow"], "flow{} lacks %s" % k)
    finally:
        shutil.rmtree(d)
    t.finish()


main()
