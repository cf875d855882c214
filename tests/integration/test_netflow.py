#!/usr/bin/env python3
"""src/netflow against a real exporter: Debian's softflowd reads captures
from SHARED/data/pcaps and exports NetFlow v5, v9 and IPFIX to nfrecv
(tests/unit/netflow/nfrecv.c) on a loopback UDP port; nfrecv prints each
record the library decodes as a JSON line.

For each capture this checks:
  * nothing was refused: every refusal counter, no_template and seq_gaps
    are 0, and datagrams as many as softflowd says it sent;
  * the records are as many as softflowd says it exported, and their
    packets and octets per IP protocol add up to softflowd's own
    per-protocol table;
  * v5, v9 and IPFIX give the same records (5-tuple, packets, octets,
    TCP flags), v5 for the IPv4 flows only (it cannot carry IPv6), and v9
    and IPFIX the same first and last times;
  * sampled 1 in 10 (-s 10): every version announces rate 10 (v5 in its
    header, v9 in an options record, IPFIX in an options record of
    samplingPacketInterval/Space) and the counters are multiplied by it;
  * bidirectional IPFIX (-b, RFC 5103): each biflow's forward and reverse
    counters are the two unidirectional records;
  * against `yagura analyze` on the same capture: for each TCP/UDP flow,
    the packets of softflowd's record in each direction are yagura's
    pkts_toserver / pkts_toclient, the octets (IP lengths) at most yagura's
    bytes (frame lengths) less 14 per packet, and the IPFIX record's times
    (-A micro, absolute) yagura's start and end.

Exit 0 when all match, 1 on a mismatch (each printed), 77 when SHARED is
absent or softflowd is not installed (scripts/setup.sh installs it)."""
import argparse
import collections
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

SKIP = 77
CAPTURES = [
    "tcpreplay__test.pcap",
    "zeek__dhcp_flood.pcap",
    "traceshare__ncrack-paranoid.pcap",
    "cl-agenttesla__a30789ce-1e1c-4f96-a097-78c34b9fb612.pcap",
    "stopddos__amp.TCP.reflection.SYNACK.pcap",
]
REFUSALS = ["bad_version", "short_header", "bad_length", "bad_set", "reserved_set",
            "bad_template", "template_fields", "template_length", "template_limit",
            "exporter_limit", "no_template", "record_truncated", "no_address",
            "field_length", "sampler_limit", "nomem"]
# softflowd 1.1.0 numbers an IPFIX message with the data records sent up to
# and including it, where RFC 7011 (3.1) counts those sent before it: with
# softflowd, IPFIX gaps are expected and v5/v9 are checked for none.
SEQ = ["seq_gaps", "seq_lost", "seq_late"]
BIG = "315360000"


class Checker:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL: %s" % what)


def export(nfrecv, pcap, args):
    """Runs softflowd on pcap into a fresh nfrecv; returns (records, stats,
    softflowd's stdout)."""
    recv = subprocess.Popen([nfrecv, "-i", "2", "-t", "120"], stdout=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)
    first = json.loads(recv.stdout.readline())
    port = first["listening"]
    # -a: times from the capture, not from the clock of the run.
    sf = subprocess.run(["softflowd", "-r", pcap, "-n", "127.0.0.1:%d" % port, "-d", "-a"] + args,
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                        stdin=subprocess.DEVNULL, timeout=300)
    # softflowd has sent everything: nfrecv reads what is queued and stops.
    recv.send_signal(signal.SIGTERM)
    out, _ = recv.communicate(timeout=180)
    lines = [json.loads(ln) for ln in out.splitlines() if ln.strip()]
    stats = lines[-1]["stats"]
    return [r for r in lines[:-1]], stats, sf.stdout


def softflowd_report(text):
    """Flows exported, records, packets sent, per-protocol (octets, packets)."""
    m = re.search(r"Flows exported: (\d+) \((\d+) records\) in (\d+) packets \((\d+) failures\)",
                  text)
    proto = {}
    for pm in re.finditer(r"^\s*\S+ \((\d+)\):\s+(\d+)\s+(\d+)\s", text, re.M):
        proto[int(pm.group(1))] = (int(pm.group(2)), int(pm.group(3)))
    if not m:
        return None
    return {"flows": int(m.group(1)), "records": int(m.group(2)), "packets": int(m.group(3)),
            "failures": int(m.group(4)), "proto": proto}


def key(r):
    return (r["src"], r["dst"], r["sport"], r["dport"], r["proto"])


def table(recs, with_times=False):
    """5-tuple -> what the record says. softflowd sends one record per
    direction of a flow, so a tuple that appears twice is an error."""
    t, dups = {}, 0
    for r in recs:
        v = (r["packets"], r["octets"], r["tcp_flags"])
        if with_times:
            v += (r["first_us"], r["last_us"])
        if key(r) in t:
            dups += 1
        t[key(r)] = v
    return t, dups


def iso_us(s):
    return int(datetime.datetime.fromisoformat(s).timestamp() * 1000000 + 0.5)


def yagura_flows(yagura, pcap, tmp):
    out = os.path.join(tmp, "eve.json")
    p = subprocess.run([yagura, "analyze", "--output", out, "--idle-timeout", BIG,
                        "--active-timeout", BIG, "--closed-timeout", BIG, "--no-progress", pcap],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                       timeout=300)
    if p.returncode != 0:
        return None
    flows = []
    with open(out) as f:
        for ln in f:
            rec = json.loads(ln)
            if rec.get("event_type") == "flow" and rec.get("proto") in ("TCP", "UDP"):
                flows.append(rec)
    return flows


def check_capture(ck, nfrecv, yagura, pcap, tmp):
    name = os.path.basename(pcap)
    runs = {}
    for v in ("5", "9", "10"):
        recs, stats, out = export(nfrecv, pcap, ["-v", v])
        rep = softflowd_report(out)
        runs[v] = recs
        ck.check(rep is not None, "%s v%s: softflowd's report is readable" % (name, v))
        if rep is None:
            continue
        ck.check(rep["failures"] == 0, "%s v%s: softflowd send failures" % (name, v))
        ck.check(stats["datagrams"] == rep["packets"],
                 "%s v%s: %d datagrams received, softflowd sent %d" %
                 (name, v, stats["datagrams"], rep["packets"]))
        bad = {k: stats[k] for k in REFUSALS + (SEQ if v != "10" else []) if stats[k]}
        ck.check(not bad, "%s v%s: refusals %s" % (name, v, bad))
        ck.check(len(recs) == rep["records"],
                 "%s v%s: %d records, softflowd exported %d" %
                 (name, v, len(recs), rep["records"]))
        if v != "5":
            # v5 drops IPv6 flows after softflowd has counted them.
            sums = collections.defaultdict(lambda: [0, 0])
            for r in recs:
                sums[r["proto"]][0] += r["octets"]
                sums[r["proto"]][1] += r["packets"]
            got = {p: tuple(s) for p, s in sums.items()}
            ck.check(got == rep["proto"], "%s v%s: per-protocol octets/packets %s, softflowd %s"
                     % (name, v, sorted(got.items()), sorted(rep["proto"].items())))
        ck.check(all(r["version"] == int(v) and r["sampling"] == 1 for r in recs),
                 "%s v%s: version and sampling of every record" % (name, v))
        ck.check(all(r["first_us"] <= r["last_us"] and not r["no_time"] for r in recs),
                 "%s v%s: first <= last, times present" % (name, v))

    t5, d5 = table(runs["5"])
    t9, d9 = table(runs["9"])
    t10, d10 = table(runs["10"])
    ck.check(d5 == d9 == d10 == 0, "%s: duplicate 5-tuples %d/%d/%d" % (name, d5, d9, d10))
    # Times: v5 and IPFIX carry milliseconds; v9's header has whole seconds
    # only, so its boot time (and every time) may be off by less than one.
    tt = {v: {key(r): (r["first_us"], r["last_us"]) for r in runs[v]} for v in runs}
    far = [(k, tt["10"][k], tt[v].get(k)) for v, tol in (("5", 1000), ("9", 1000000))
           for k in tt[v] if k in tt["10"] and
           max(abs(a - b) for a, b in zip(tt[v][k], tt["10"][k])) > tol]
    ck.check(not far, "%s: times differ between versions, e.g. %s" % (name, far[:2]))
    ck.check(t9 == t10, "%s: v9 and IPFIX records differ: %d vs %d, e.g. %s" %
             (name, len(t9), len(t10), sorted(set(t9.items()) ^ set(t10.items()))[:3]))
    t9v4 = {k: v for k, v in t9.items() if ":" not in k[0]}
    ck.check(t5 == t9v4, "%s: v5 and v9 (IPv4) records differ: %d vs %d, e.g. %s" %
             (name, len(t5), len(t9v4), sorted(set(t5.items()) ^ set(t9v4.items()))[:3]))

    # Sampled 1 in 10.
    for v in ("5", "9", "10"):
        recs, stats, out = export(nfrecv, pcap, ["-v", v, "-s", "10"])
        rep = softflowd_report(out)
        ck.check(len(recs) > 0 or (rep and rep["records"] == 0),
                 "%s v%s -s 10: records" % (name, v))
        ck.check(all(r["sampling"] == 10 and r["packets"] % 10 == 0 and r["octets"] % 10 == 0
                     for r in recs), "%s v%s -s 10: rate 10 applied to every record" % (name, v))

    # Bidirectional IPFIX against the unidirectional records.
    recs, stats, out = export(nfrecv, pcap, ["-v", "10", "-b"])
    # softflowd's biflow records carry no ICMP type and code (one record
    # could not hold both directions' anyway): ICMP is compared per address
    # pair, summed.
    def bkey(k):
        return k[:2] + (0, 0) + k[4:] if k[4] in (1, 58) else k

    def add(t, k, pk, oc):
        a = t.get(bkey(k), (0, 0))
        t[bkey(k)] = (a[0] + pk, a[1] + oc)

    uni, got, wrong = {}, {}, []
    for r in runs["10"]:
        add(uni, key(r), r["packets"], r["octets"])
    for r in recs:
        rk = (r["dst"], r["src"], r["dport"], r["sport"], r["proto"])
        if not r["biflow"]:
            wrong.append(r)
        if r["packets"] or r["octets"]:
            add(got, key(r), r["packets"], r["octets"])
        if r["rev_packets"] or r["rev_octets"]:
            add(got, rk, r["rev_packets"], r["rev_octets"])
    diff = sorted(set(got.items()) ^ set(uni.items()))
    ck.check(not wrong and not diff, "%s -b: %d biflows give the %d unidirectional records "
             "(not biflow: %d; differ: %s)" % (name, len(recs), len(runs["10"]), len(wrong), diff[:3]))

    # yagura analyze on the same capture.
    if yagura is None:
        return
    flows = yagura_flows(yagura, pcap, tmp)
    ck.check(flows is not None, "%s: yagura analyze ran" % name)
    if not flows:
        return
    micro, _, _ = export(nfrecv, pcap, ["-v", "10", "-A", "micro"])
    tm = {key(r): r for r in micro}
    n_ok = n = 0
    for f in flows:
        if f.get("vlan"):
            continue
        proto = 6 if f["proto"] == "TCP" else 17
        fl = f["flow"]
        fwd = (f["src_ip"], f["dest_ip"], f["src_port"], f["dest_port"], proto)
        rev = (f["dest_ip"], f["src_ip"], f["dest_port"], f["src_port"], proto)
        n += 1
        good = True
        for k, pk, by in ((fwd, fl["pkts_toserver"], fl["bytes_toserver"]),
                          (rev, fl["pkts_toclient"], fl["bytes_toclient"])):
            r = tm.get(k)
            if pk == 0:
                good &= r is None
                continue
            good &= r is not None and r["packets"] == pk and r["octets"] <= by - 14 * pk
        start, end = iso_us(fl["start"]), iso_us(fl["end"])
        firsts = [tm[k]["first_us"] for k in (fwd, rev) if k in tm]
        lasts = [tm[k]["last_us"] for k in (fwd, rev) if k in tm]
        good &= bool(firsts) and min(firsts) == start and max(lasts) == end
        if good:
            n_ok += 1
        elif n - n_ok <= 3:
            print("  %s: yagura %s vs softflowd %s / %s" %
                  (name, json.dumps(f["flow"]), tm.get(fwd), tm.get(rev)))
    ck.check(n_ok == n, "%s: %d of %d yagura TCP/UDP flows match softflowd's records "
             "(packets per direction, octets, start and end)" % (name, n_ok, n))
    print("%s: %d v9 records, %d v5; %d yagura flows compared" %
          (name, len(t9), len(t5), n))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nfrecv", required=True)
    ap.add_argument("--yagura")
    ap.add_argument("--shared", required=True)
    a = ap.parse_args()
    d = os.path.join(a.shared, "data", "pcaps")
    if not os.path.isdir(d):
        print("skipped: %s is absent (it comes with CI's ../shared)" % d)
        return SKIP
    if shutil.which("softflowd") is None:
        print("skipped: softflowd is not installed (scripts/setup.sh)")
        return SKIP
    ck = Checker()
    with tempfile.TemporaryDirectory() as tmp:
        for c in CAPTURES:
            p = os.path.join(d, c)
            if not os.path.exists(p):
                print("FAIL: %s is missing from %s" % (c, d))
                ck.failed += 1
                continue
            check_capture(ck, a.nfrecv, a.yagura, p, tmp)
    print("netflow: %d passed, %d failed" % (ck.passed, ck.failed))
    return 1 if ck.failed else 0


if __name__ == "__main__":
    sys.exit(main())
