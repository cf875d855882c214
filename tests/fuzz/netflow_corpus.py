#!/usr/bin/env python3
"""Writes tests/fuzz/corpus/netflow: what Debian's softflowd exports for a
small capture, in NetFlow v5, v9 and IPFIX (plain, sampled 1 in 10,
bidirectional, and each absolute time format), captured on a loopback UDP
port. Each run gives one file per datagram (the whole-datagram form) and one
file of all its datagrams, each preceded by its length in two bytes (the
sequence form fuzz_netflow.c reads second). Run once; the files are
committed.

Usage: tests/fuzz/netflow_corpus.py CAPTURE [OUTDIR]"""
import os
import socket
import struct
import subprocess
import sys

RUNS = [
    ("v5", ["-v", "5"]),
    ("v5_sampled", ["-v", "5", "-s", "10"]),
    ("v9", ["-v", "9"]),
    ("v9_sampled", ["-v", "9", "-s", "10"]),
    ("ipfix", ["-v", "10"]),
    ("ipfix_sampled", ["-v", "10", "-s", "10"]),
    ("ipfix_biflow", ["-v", "10", "-b"]),
    ("ipfix_milli", ["-v", "10", "-A", "milli"]),
    ("ipfix_micro", ["-v", "10", "-A", "micro"]),
    ("ipfix_nano", ["-v", "10", "-A", "nano"]),
]


def capture(pcap, args):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(2)
    port = s.getsockname()[1]
    subprocess.run(["softflowd", "-r", pcap, "-n", "127.0.0.1:%d" % port, "-d"] + args,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    out = []
    try:
        while True:
            out.append(s.recv(65535))
    except socket.timeout:
        pass
    return out


def main():
    pcap = sys.argv[1]
    outdir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "netflow")
    os.makedirs(outdir, exist_ok=True)
    for name, args in RUNS:
        dgs = capture(pcap, args)
        for i, d in enumerate(dgs):
            with open(os.path.join(outdir, "%s_%d" % (name, i)), "wb") as f:
                f.write(d)
        with open(os.path.join(outdir, "%s_seq" % name), "wb") as f:
            for d in dgs:
                f.write(struct.pack(">H", len(d)) + d)
        print("%s: %d datagrams" % (name, len(dgs)))


if __name__ == "__main__":
    main()
