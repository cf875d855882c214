#!/usr/bin/env python3
"""yagura collect against a real exporter: Debian's softflowd reads a
capture and exports NetFlow v5, v9, IPFIX and bidirectional IPFIX
(RFC 5103) to `yagura collect --listen` on loopback; the same capture goes
through `yagura analyze`.

Captures: the one bench/genpcap plants every attack class in (always), and
the shared captures of scans, floods, brute force and C2 when
SHARED/data/pcaps is there.

For each capture and export this checks:
  * the alerts of the detectors that judge whole flows are those of
    analyze: scans, the sequential test and brute force by (signature,
    source), floods and reflection by (signature, victim), beacons across
    connections by (signature, source, server) (not for v9, whose times
    are whole seconds), known-bad addresses by (signature, source). What
    needs packets is left out, as docs/collector.md says: hand-built SYNs,
    bursts inside one connection, DNS, TLS, HTTP and ICS;
  * with timeouts long enough that neither side splits a flow (shared
    captures), every flow analyze writes is a flow the collector writes:
    the same client and server, ports and packets each way (the records of
    the two directions were paired, and the side that began it found);
  * nothing refused, nothing dropped by the kernel.
And once: an indicator list matched from records (9700001); garbage
datagrams among real ones counted as refusals while the records go on; and
the usage errors (no --listen, a --listen that is no address, capture files
with --listen) exit 1 or 2 with one line.

Exit 0 when all hold, 1 otherwise, 77 when softflowd is not installed
(scripts/setup.sh installs it)."""
import argparse
import collections
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import common

SKIP = common.SKIP
BIG = "315360000"
SHARED_CAPTURES = [
    "zeek__nmap-vsn.pcap",
    "ncsa-scan__multiport_scan.pcap",
    "ncsa-scan__scan_with_zero_windows.pcap",
    "traceshare__ncrack-paranoid.pcap",
    "stopddos__amp.TCP.reflection.SYNACK.pcap",
    "stopddos__amp.TCP.syn.optionallyACK.optionallysamePort.pcapng",
    "zeek__dhcp_flood.pcap",
    "cl-agenttesla__a30789ce-1e1c-4f96-a097-78c34b9fb612.pcap",
    "cl-caldera__ragdoll.pcap",
    "tcpreplay__test.pcap",
]
EXPORTS = {
    "v5": ["-v", "5"],
    "v9": ["-v", "9"],
    "ipfix": ["-v", "10", "-A", "micro"],
    "ipfix-biflow": ["-v", "10", "-b", "-A", "micro"],
}
# Need packets: hand-built SYNs, bursts inside a connection.
PACKET_ONLY = {9100021, 9400002}


def alert_key(r, export):
    sid = r["alert"]["signature_id"]
    if sid in PACKET_ONLY or sid // 100000 in (95, 96) or 9700002 <= sid <= 9700005:
        return None
    if sid // 100000 == 92:
        return (sid, r["dest_ip"])
    if sid // 100000 == 94:
        if export == "v9":
            return None  # whole seconds: intervals are too coarse to judge
        return (sid, r["src_ip"], r["dest_ip"])
    return (sid, r["src_ip"])


def read_eve(path):
    with open(path) as f:
        return [json.loads(ln) for ln in f if ln.strip()]


def alerts(recs, export):
    return {k for k in (alert_key(r, export) for r in recs if r["event_type"] == "alert") if k}


def analyze(yagura, cap, out, extra=()):
    p = subprocess.run([yagura, "analyze", "-q", "--no-progress", "-o", out] + list(extra) +
                       [cap], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, timeout=600)
    if p.returncode != 0:
        print("analyze %s: exit %d: %s" % (cap, p.returncode, p.stderr.decode()[-500:]))
        return None
    return read_eve(out)


def start_collector(yagura, out, extra=()):
    c = subprocess.Popen([yagura, "collect", "--listen", "127.0.0.1:0", "-o", out] +
                         list(extra), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, text=True)
    for _ in range(20):
        line = c.stderr.readline()
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if m or not line:
            break
    if not m:
        c.kill()
        raise RuntimeError("collect did not say where it listens: %r" % line)
    return c, int(m.group(1))


def stop_collector(c):
    c.send_signal(signal.SIGTERM)
    _, err = c.communicate(timeout=300)
    m = re.search(r"collect: (\d+) datagrams .* (\d+) refusals, (\d+) dropped", err)
    r = re.search(r"records: (\d+) taken, (\d+) flows", err)
    return c.returncode, err, m, r


def collect(yagura, cap, out, export, extra=()):
    c, port = start_collector(yagura, out, extra)
    sf = subprocess.run(["softflowd", "-r", cap, "-n", "127.0.0.1:%d" % port, "-d", "-a"] +
                        EXPORTS[export], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                        text=True, stdin=subprocess.DEVNULL, timeout=600)
    m = re.search(r"Flows exported: (\d+) \((\d+) records\) in (\d+) packets", sf.stdout)
    sent = int(m.group(3)) if m else -1
    rc, err, cm, rm = stop_collector(c)
    return rc, err, cm, rm, sent


def flow_table(recs, icmp=True):
    """Unordered 5-tuple -> (client, its port, server, its port, packets each
    way). Later fragments (port 0) are in no flow of analyze's, and left out."""
    t = {}
    for r in recs:
        if r["event_type"] != "flow":
            continue
        if r["proto"] in ("TCP", "UDP"):
            sp, dp = r.get("src_port", 0), r.get("dest_port", 0)
            if sp == 0 and dp == 0:
                continue
        elif r["proto"] in ("ICMP", "IPv6-ICMP") and icmp:
            sp, dp = r.get("icmp_type"), r.get("icmp_code")
        else:
            continue
        ends = tuple(sorted([(r["src_ip"], sp), (r["dest_ip"], dp)]))
        v = (r["src_ip"], sp, r["dest_ip"], dp, r["flow"]["pkts_toserver"],
             r["flow"]["pkts_toclient"])
        t.setdefault((ends, r["proto"]), []).append(v)
    return t


def compare_flows(t, what, big, co, icmp):
    """Every flow the collector made is analyze's: same ends, same client,
    same packets each way. (analyze may have more: softflowd does not look
    inside MPLS, for one.)"""
    fa, fc = flow_table(big, icmp), flow_table(co, icmp)
    extra = [k for k in fc if k not in fa]
    diff = [(fa[k], fc[k]) for k in fc if k in fa and sorted(fa[k]) != sorted(fc[k])]
    t.check(not extra and not diff, "%s: flows: %d of the collector's not analyze's %s; "
            "%d differ %s" % (what, len(extra), extra[:3], len(diff), diff[:3]))
    return len(fc)


def run_capture(t, a, cap, name, tmp, flows_too):
    an = analyze(a.yagura, cap, os.path.join(tmp, "an.json"))
    if not t.check(an is not None, "%s: analyze ran" % name):
        return
    big = None
    if flows_too:
        big = analyze(a.yagura, cap, os.path.join(tmp, "big.json"),
                      ["--idle-timeout", BIG, "--active-timeout", BIG, "--closed-timeout", BIG])
    for export in EXPORTS:
        out = os.path.join(tmp, "co-%s.json" % export)
        rc, err, cm, rm, sent = collect(a.yagura, cap, out, export)
        what = "%s %s" % (name, export)
        if not t.check(rc == 0 and cm and rm, "%s: collect exit %d, summary %r" %
                       (what, rc, err[-400:])):
            continue
        t.check(int(cm.group(1)) == sent, "%s: %s datagrams taken, softflowd sent %d" %
                (what, cm.group(1), sent))
        t.check(cm.group(2) == "0" and cm.group(3) == "0",
                "%s: %s refusals, %s dropped" % (what, cm.group(2), cm.group(3)))
        co = read_eve(out)
        want, got = alerts(an, export), alerts(co, export)
        t.check(want == got, "%s: alerts: analyze only %s, collect only %s" %
                (what, sorted(want - got), sorted(got - want)))
        if big is not None:
            # softflowd's biflow records of a lone ICMP answer carry no
            # type: ICMP is compared from the unidirectional exports.
            compare_flows(t, what, big, co, export != "ipfix-biflow")
    print("%s: %d alerts (flow-level %d)" % (name, sum(r["event_type"] == "alert" for r in an),
                                             len(alerts(an, "ipfix"))))


def intel_and_garbage(t, a, cap, tmp):
    """An indicator matched from records; hostile datagrams among real ones."""
    an = analyze(a.yagura, cap, os.path.join(tmp, "an0.json"))
    servers = collections.Counter(r["dest_ip"] for r in an if r["event_type"] == "flow"
                                  and r["proto"] == "TCP")
    bad = servers.most_common(1)[0][0]
    lst = os.path.join(tmp, "bad.txt")
    with open(lst, "w") as f:
        f.write("%s\n" % bad)
    an = analyze(a.yagura, cap, os.path.join(tmp, "an1.json"), ["--intel", lst])
    want = {(r["src_ip"], r["dest_ip"]) for r in an
            if r["event_type"] == "alert" and r["alert"]["signature_id"] == 9700001}
    out = os.path.join(tmp, "co1.json")
    c, port = start_collector(a.yagura, out, ["--intel", lst])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    junk = [b"", b"\x00\x05", b"\x00\x0a\x00\x10" + b"\xff" * 12, b"\x00\x09" + b"\x00" * 18,
            b"\x00\x0a\xff\xff" + os.urandom(300), os.urandom(1400)]
    for j in junk:
        s.sendto(j, ("127.0.0.1", port))
    sf = subprocess.run(["softflowd", "-r", cap, "-n", "127.0.0.1:%d" % port, "-d", "-a"] +
                        EXPORTS["ipfix"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                        stdin=subprocess.DEVNULL, timeout=600)
    for j in junk:
        s.sendto(j, ("127.0.0.1", port))
    rc, err, cm, rm = stop_collector(c)
    co = read_eve(out)
    got = {(r["src_ip"], r["dest_ip"]) for r in co
           if r["event_type"] == "alert" and r["alert"]["signature_id"] == 9700001}
    t.check(sf.returncode == 0 and rc == 0, "intel: softflowd %d, collect %d" %
            (sf.returncode, rc))
    t.check(len(want) > 0 and want == got, "intel %s: analyze %s, collect %s" %
            (bad, sorted(want), sorted(got)))
    t.check(cm is not None and int(cm.group(2)) >= len(junk),
            "garbage: refusals counted (%r)" % (err[-300:],))
    t.check(rm is not None and int(rm.group(1)) > 0, "garbage: the real records still taken")


def usage(t, a):
    for args, code, what in [([], 1, "no --listen"),
                             (["--listen", "nowhere"], 2, "not an address"),
                             (["--listen", "127.0.0.1:99999"], 2, "port out of range"),
                             (["--listen", "127.0.0.1:0", "x.pcap"], 1, "files too")]:
        p = subprocess.run([a.yagura, "collect"] + args, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                           timeout=30)
        lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
        t.check(p.returncode == code and len(lines) == 1 and "collect" in lines[0],
                "usage %s: exit %d, %r" % (what, p.returncode, p.stderr))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--yagura", required=True)
    ap.add_argument("--genpcap", required=True)
    ap.add_argument("--shared", required=True)
    a = ap.parse_args()
    if shutil.which("softflowd") is None:
        print("skipped: softflowd is not installed (scripts/setup.sh installs it)")
        return SKIP
    t = common.Checker("collect")
    with tempfile.TemporaryDirectory() as tmp:
        usage(t, a)
        cap = os.path.join(tmp, "planted.pcap")
        subprocess.run([a.genpcap, "-a", "-n", "100000", "-f", "4000", "-t",
                        os.path.join(tmp, "truth.json"), cap], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        run_capture(t, a, cap, "planted", tmp, False)
        intel_and_garbage(t, a, cap, tmp)
        d = os.path.join(a.shared, "data", "pcaps")
        if os.path.isdir(d):
            for name in SHARED_CAPTURES:
                run_capture(t, a, os.path.join(d, name), name, tmp, True)
        else:
            print("shared captures skipped: %s is absent" % d)
    t.finish()


if __name__ == "__main__":
    sys.exit(main())
