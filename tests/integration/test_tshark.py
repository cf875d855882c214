#!/usr/bin/env python3
"""Cross-check `yagura analyze` against tshark on every shared capture.

For each capture in SHARED/data/pcaps (*.pcap, *.pcapng) this runs yagura
once and tshark once, and compares:

  * the total number of packets (yagura's `summary: N packets` vs the number
    of frames tshark dissected);
  * every TCP and UDP conversation of `tshark -z conv,tcp -z conv,udp`
    (address/port pair, frames and bytes in each direction) against
    yagura's TCP/UDP flow records, and every yagura TCP/UDP flow back
    against tshark;
  * the multiset of DNS question names of port-53 packets
    (tshark dns.qry.name vs yagura dns rrname);
  * the multiset of TLS ClientHello SNIs
    (tshark tls.handshake.extensions_server_name vs yagura tls sni).

The places where the two tools *define* something differently are encoded
below as small named rules (see RULES and docs/tshark-comparison.md); each
rule only forgives exactly the difference it names, and every use of a rule
is counted and printed, so a rule can never silently hide a file.

Exit status: 0 all files match, 1 a mismatch (each printed), 77 skipped
(no SHARED/data/pcaps, or no tshark).  Python 3 standard library only.
"""

import argparse
import collections
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

SKIP = 77

# Timeouts large enough that no flow of the corpus is split by a timeout
# (315360000 s = 10 years is the largest value yagura accepts).
BIG = "315360000"
YAGURA_OPTS = ["--idle-timeout", BIG, "--active-timeout", BIG,
               "--closed-timeout", BIG, "--no-progress"]

# tshark preferences, see docs/tshark-comparison.md:
#  -n                      : conversation tables print addresses, never names
#                            (tshark would otherwise use names learnt from
#                            DNS answers in the capture).
#  ip/ipv6.defragment FALSE: count IP fragments like yagura does: the first
#                            fragment (offset 0) carries the TCP/UDP header
#                            and belongs to the conversation, later fragments
#                            belong to none.  With reassembly on, tshark
#                            would put the *last* fragment in the
#                            conversation instead.
TSHARK_OPTS = ["-n", "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE"]

AGG = "\x1f"  # occurrence separator for multi-valued fields (never in data)
FIELDS = [
    "frame.number", "frame.len", "frame.protocols", "vlan.id",
    "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
    "tcp.srcport", "tcp.dstport", "tcp.stream", "tcp.flags",
    "udp.srcport", "udp.dstport", "udp.stream",
    "dns.qry.name", "tls.handshake.type",
    "tls.handshake.extensions_server_name",
    "tcp.segment.count", "tls.handshake.fragment.count",
]
FI = {name: i for i, name in enumerate(FIELDS)}

# ---------------------------------------------------------------------------
# Named rules for definitional differences.  Each entry: name -> why.
# ---------------------------------------------------------------------------
RULES = {
    "vlan-split":
        "yagura keys flows on the VLAN id list, tshark's conv table does "
        "not: a tshark conversation whose packets carry different VLAN id "
        "lists is compared per VLAN list against separate yagura flows.",
    "icmp-error-inner":
        "tshark dissects the TCP/UDP header quoted inside ICMP errors (and "
        "gives it a tcp/udp.stream, DNS and TLS fields) but its conversation "
        "tap ignores it; yagura counts the ICMP error in an ICMP flow.  Such "
        "quoted headers are ignored on the tshark side.",
    "tcp-port-reuse":
        "tshark starts a new TCP stream on a SYN with a new ISN even if the "
        "previous connection on the tuple never closed; yagura starts a new "
        "flow only on a pure SYN after RST or FIN both ways.  Where the cuts "
        "differ, yagura's rule is applied to tshark's per-packet flags.",
    "tls-reassembled-hello":
        "tshark reassembles a ClientHello split over TCP segments (or TLS "
        "records) and reports its SNI on the last segment; yagura parses "
        "only the first segment, so its record carries the SNI only if the "
        "server_name extension lies in that segment.  For such hellos the "
        "yagura record may have the SNI or none.",
    "tls-first-hello-per-flow":
        "yagura reports at most one ClientHello per flow (the first); "
        "tshark reports every one (retransmission, HelloRetryRequest).  "
        "Later ClientHellos in the same flow are left out on tshark's side.",
    "dns-tcp-per-segment":
        "over TCP, yagura parses only the DNS message that starts at the "
        "beginning of each segment; tshark reassembles messages split over "
        "segments and parses every message of a segment.  Later messages of "
        "a segment are left out on tshark's side, and a reassembled message "
        "may be missing on yagura's.",
    "dns-port-53-only":
        "tshark decodes DNS-format messages on other ports (mDNS 5353, "
        "LLMNR 5355, ...); yagura only treats port 53 as DNS, so only "
        "packets with TCP/UDP source or destination port 53 are compared.",
}


def fail_usage(msg):
    print("test_tshark: " + msg, file=sys.stderr)
    sys.exit(1)


# ---------------------------------------------------------------------------
# yagura side
# ---------------------------------------------------------------------------
def run_yagura(yagura, path, tmpdir):
    out = os.path.join(tmpdir, os.path.basename(path) + ".json")
    p = subprocess.run([yagura, "analyze", "--output", out] + YAGURA_OPTS +
                       [path], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=300)
    err = p.stderr.decode("utf-8", "replace")
    res = {"rc": p.returncode, "stderr": err, "packets": None,
           "flows": [], "dns": [], "sni": []}
    m = re.search(r"summary: (\d+) packets", err)
    if m:
        res["packets"] = int(m.group(1))
    try:
        with open(out, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    for ln in lines:
        if not ln.strip():
            continue
        rec = json.loads(ln)
        et = rec.get("event_type")
        if et == "flow" and rec.get("proto") in ("TCP", "UDP"):
            fl = rec["flow"]
            res["flows"].append({
                "proto": rec["proto"],
                "src": (rec["src_ip"], rec["src_port"]),
                "dst": (rec["dest_ip"], rec["dest_port"]),
                "vlan": tuple(rec.get("vlan", [])),
                "ts_pkts": fl["pkts_toserver"], "tc_pkts": fl["pkts_toclient"],
                "ts_bytes": fl["bytes_toserver"],
                "tc_bytes": fl["bytes_toclient"],
            })
        elif et == "dns":
            res["dns"].append(rec["dns"].get("rrname", ""))
        elif et == "tls":
            res["sni"].append(rec.get("tls", {}).get("sni", ""))
    return res


# ---------------------------------------------------------------------------
# tshark side
# ---------------------------------------------------------------------------
def run_tshark(path):
    cmd = ["tshark", "-r", path] + TSHARK_OPTS + ["-T", "fields",
           "-E", "separator=/t", "-E", "quote=n", "-E", "aggregator=" + AGG]
    for fld in FIELDS:
        cmd += ["-e", fld]
    cmd += ["-z", "conv,tcp", "-z", "conv,udp"]
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=300)
    return p.returncode, p.stdout.decode("utf-8", "replace"), \
        p.stderr.decode("utf-8", "replace")


SIZE_UNITS = {"bytes": 1, "kB": 10 ** 3, "MB": 10 ** 6, "GB": 10 ** 9,
              "TB": 10 ** 12}


def split_endpoint(s):
    """'1.2.3.4:80' or '2001:db8::1:80' -> (addr, port)."""
    addr, _, port = s.rpartition(":")
    return addr, int(port)


def parse_conv_tables(stat_lines):
    """Parse `-z conv,tcp|udp` blocks -> list of conversation dicts.

    Byte columns are printed by tshark's format_size(): exact below
    ~10 kB ("1867 bytes"), truncated to an SI unit above ("45 kB").
    'rx' is the '<-' column (B to A), 'tx' the '->' column (A to B)."""
    convs = []
    proto = None
    for ln in stat_lines:
        m = re.match(r"^(TCP|UDP) Conversations", ln)
        if m:
            proto = m.group(1)
            continue
        if proto is None or "<->" not in ln:
            continue
        left, _, right = ln.partition("<->")
        tok = right.split()
        if len(tok) < 10:
            raise ValueError("unparsable conv line: " + ln)
        a = split_endpoint(left.strip())
        b = split_endpoint(tok[0])
        convs.append({
            "proto": proto, "a": a, "b": b,
            "ba_pkts": int(tok[1]), "ba_bytes": (int(tok[2]), tok[3]),
            "ab_pkts": int(tok[4]), "ab_bytes": (int(tok[5]), tok[6]),
        })
    return convs


def bytes_match(exact, shown):
    num, unit = shown
    if unit not in SIZE_UNITS:
        return False
    if unit == "bytes":
        return exact == num
    return exact // SIZE_UNITS[unit] == num


def innermost_ip(row, protos):
    """Addresses of the IP header the transport layer sits on."""
    # frame.protocols e.g. eth:ethertype:vlan:ethertype:ip:udp:dns
    ti = max([i for i, p in enumerate(protos) if p in ("tcp", "udp")],
             default=len(protos))
    fam = None
    for p in reversed(protos[:ti]):
        if p in ("ip", "ipv6"):
            fam = p
            break
    if fam is None:
        return None, None
    src = row[FI[fam + ".src"]].split(AGG)[-1]
    dst = row[FI[fam + ".dst"]].split(AGG)[-1]
    return src, dst


def last(v):
    return v.split(AGG)[-1] if v else ""


def parse_tshark(text):
    lines = text.splitlines()
    rows, stats = [], []
    in_stats = False
    for ln in lines:
        if ln.startswith("====="):
            in_stats = True
        if in_stats:
            stats.append(ln)
        elif ln:
            rows.append(ln.split("\t"))
    return rows, stats


# ---------------------------------------------------------------------------
# tshark conversations -> the flows yagura is expected to report
# ---------------------------------------------------------------------------
TH_FIN, TH_SYN, TH_RST, TH_ACK = 0x01, 0x02, 0x04, 0x10


def ukey(proto, e1, e2, vlan):
    return (proto,) + tuple(sorted([e1, e2])) + (vlan,)


def expected_flows(pkts, rule_uses):
    """Turn tshark's conversations (tcp/udp.stream) into expected yagura
    flows.  By default one tshark stream is one flow.  Two named rules may
    cut the packets differently, each counted in rule_uses:

    vlan-split      a stream whose packets carry different VLAN id lists is
                    cut per VLAN id list (yagura keys flows on VLAN ids).
    tcp-port-reuse  on one TCP tuple (+VLAN ids), yagura starts a new flow
                    only when a pure SYN (SYN, no ACK, no RST) arrives after
                    the flow closed (RST seen, or FIN seen both ways); tshark
                    starts a new stream on a SYN whose ISN differs from the
                    conversation's, closed or not (and may keep a closed
                    one going when the ISN is the same).  Where the two cuts
                    differ, yagura's cut, computed from tshark's own per-
                    packet flags, is what is compared.
    """
    blocks = collections.OrderedDict()   # (proto, stream, vlan) -> [pkt]
    for p in pkts:
        blocks.setdefault((p["proto"], p["stream"], p["vlan"]), []).append(p)
    n_streams = len({(p["proto"], p["stream"]) for p in pkts})
    if len(blocks) != n_streams:
        rule_uses["vlan-split"] += len(blocks) - n_streams

    # yagura's own cut: per (proto, tuple, vlan), in file order.
    groups = collections.OrderedDict()
    for p in pkts:
        groups.setdefault(ukey(p["proto"], p["src"], p["dst"], p["vlan"]),
                          []).append(p)
    flows = []                                   # list of [pkt]
    for k, plist in groups.items():
        cur, fin, closed = None, set(), False
        for p in plist:
            if cur is None or (p["proto"] == "TCP" and closed and
                               p["flags"] & (TH_SYN | TH_ACK | TH_RST) ==
                               TH_SYN):
                cur, fin, closed = [], set(), False
                flows.append(cur)
            cur.append(p)
            if p["proto"] == "TCP" and not closed:
                if p["flags"] & TH_FIN:
                    fin.add(p["src"])
                if p["flags"] & TH_RST or len(fin) == 2:
                    closed = True

    tshark_cut = {frozenset(p["frame"] for p in b) for b in blocks.values()}
    differ = [f for f in flows
              if frozenset(p["frame"] for p in f) not in tshark_cut]
    if differ:
        rule_uses["tcp-port-reuse"] += len(differ)

    expected = collections.defaultdict(list)
    for f in flows:
        first = f[0]
        e = {"proto": first["proto"], "src": first["src"],
             "dst": first["dst"], "vlan": first["vlan"],
             "ts_pkts": 0, "ts_bytes": 0, "tc_pkts": 0, "tc_bytes": 0,
             "frames": [p["frame"] for p in f],
             "streams": sorted({p["stream"] for p in f})}
        for p in f:
            d = "ts" if p["src"] == e["src"] else "tc"
            e[d + "_pkts"] += 1
            e[d + "_bytes"] += p["len"]
        expected[ukey(e["proto"], e["src"], e["dst"], e["vlan"])].append(e)
    return expected


def multiset_diff(ts_items, yg_values, field, absent):
    """Compare tshark items ({field: value, "loose": bool}) with yagura
    values as multisets.  A loose item (a rule said yagura may not see all
    of it) matches its own value, else `absent` (a yagura record without the
    value), or, if absent is None, nothing at all.  Returns the values only
    tshark has and those only yagura has, both as sorted dicts."""
    cg = collections.Counter(yg_values)
    only_ts = collections.Counter()
    for it in sorted(ts_items, key=lambda x: x["loose"]):  # rigid first
        v = it[field]
        if cg[v] > 0:
            cg[v] -= 1
        elif it["loose"] and absent is None:
            pass
        elif it["loose"] and cg[absent] > 0:
            cg[absent] -= 1
        else:
            only_ts[v] += 1
    return dict(sorted(only_ts.items())), dict(sorted((+cg).items()))


# ---------------------------------------------------------------------------
# comparison of one file
# ---------------------------------------------------------------------------
def fmt_ep(ep):
    a, p = ep
    return ("[%s]:%d" if ":" in a else "%s:%d") % (a, p)


def compare_file(path, yg, ts_rc, ts_out, ts_err, rule_uses):
    errors = []
    name = os.path.basename(path)
    if ts_rc != 0:
        errors.append("tshark exited %d: %s" % (ts_rc, ts_err.strip()[-300:]))
        return errors, {}
    if yg["rc"] != 0:
        errors.append("yagura exited %d: %s" % (yg["rc"], yg["stderr"].strip()))
    rows, stats = parse_tshark(ts_out)
    for r in rows:
        if len(r) != len(FIELDS):
            errors.append("tshark fields line with %d columns (want %d): %r"
                          % (len(r), len(FIELDS), r[:3]))
            return errors, {}

    info = {"packets": len(rows), "convs": 0, "dns": 0, "sni": 0}

    # -- total packets ------------------------------------------------------
    if yg["packets"] != len(rows):
        errors.append("packets: tshark %d frames, yagura summary %s"
                      % (len(rows), yg["packets"]))

    # -- per-packet view of tshark's TCP/UDP conversations -------------------
    # streams: (proto, tcp/udp.stream) -> aggregate in tshark's A/B terms,
    # used to cross-check the -z conv tables (whose byte columns are rounded
    # above ~10 kB, see bytes_match); pkts: the same packets one by one, in
    # file order, for the comparison with yagura.
    streams = collections.OrderedDict()
    pkts = []
    dns_names = []
    snis = []
    for r in rows:
        protos = r[FI["frame.protocols"]].split(":")
        plen = int(r[FI["frame.len"]])
        # Rule icmp-error-inner: a TCP/UDP header quoted in an ICMP error.
        in_err = False
        for i in range(len(protos) - 1):
            if (protos[i] == "icmp" and protos[i + 1] == "ip") or \
               (protos[i] == "icmpv6" and protos[i + 1] == "ipv6"):
                in_err = True
        proto = None
        if "tcp" in protos and r[FI["tcp.stream"]]:
            proto = "TCP"
        elif "udp" in protos and r[FI["udp.stream"]]:
            proto = "UDP"
        if proto and in_err:
            rule_uses["icmp-error-inner"] += 1
            proto = None
        if proto:
            pl = proto.lower()
            sport = int(last(r[FI[pl + ".srcport"]]))
            dport = int(last(r[FI[pl + ".dstport"]]))
            sid = int(last(r[FI[pl + ".stream"]]))
            src, dst = innermost_ip(r, protos)
            s_ep, d_ep = (src, sport), (dst, dport)
            st = streams.get((proto, sid))
            if st is None:
                st = streams[(proto, sid)] = {
                    "proto": proto, "a": s_ep, "b": d_ep,
                    "ab_pkts": 0, "ab_bytes": 0, "ba_pkts": 0, "ba_bytes": 0}
            fwd = (s_ep, d_ep) == (st["a"], st["b"])
            if not fwd and (d_ep, s_ep) != (st["a"], st["b"]):
                errors.append("tshark %s stream %d: frame %s has endpoints "
                              "%s->%s, stream is %s<->%s" % (
                                  proto, sid, r[0], fmt_ep(s_ep), fmt_ep(d_ep),
                                  fmt_ep(st["a"]), fmt_ep(st["b"])))
                continue
            d = "ab" if fwd else "ba"
            st[d + "_pkts"] += 1
            st[d + "_bytes"] += plen
            flags = last(r[FI["tcp.flags"]]) if proto == "TCP" else ""
            pkts.append({
                "frame": int(r[FI["frame.number"]]), "proto": proto,
                "stream": sid, "src": s_ep, "dst": d_ep, "len": plen,
                "vlan": tuple(int(v) for v in r[FI["vlan.id"]].split(AGG)
                              if v),
                "flags": int(flags, 16) if flags else 0})

        # DNS names (rule dns-port-53-only; rule icmp-error-inner)
        qn = r[FI["dns.qry.name"]]
        if qn:
            ports = set()
            for pl in ("tcp", "udp"):
                for f in ("srcport", "dstport"):
                    v = last(r[FI[pl + "." + f]])
                    if v:
                        ports.add(int(v))
            names = qn.split(AGG)
            if in_err:
                rule_uses["icmp-error-inner"] += 1
            elif 53 not in ports:
                rule_uses["dns-port-53-only"] += len(names)
            elif "tcp" in protos:
                # Rule dns-tcp-per-segment: yagura parses the one message
                # that starts at the beginning of each TCP segment.
                joined = bool(r[FI["tcp.segment.count"]])
                dns_names.append({"name": names[0], "loose": joined})
                if joined:
                    rule_uses["dns-tcp-per-segment"] += 1
                rule_uses["dns-tcp-per-segment"] += len(names) - 1
            else:
                dns_names.extend({"name": n, "loose": False} for n in names)
        # TLS ClientHello SNIs
        ht = r[FI["tls.handshake.type"]]
        if ht:
            n_ch = ht.split(AGG).count("1")
            sn = r[FI["tls.handshake.extensions_server_name"]]
            names = sn.split(AGG) if sn else []
            if n_ch and in_err:
                rule_uses["icmp-error-inner"] += 1
            elif n_ch:
                # Rule tls-reassembled-hello: tshark put this ClientHello
                # together from several TCP segments or TLS records.
                joined = bool(r[FI["tcp.segment.count"]] or
                              r[FI["tls.handshake.fragment.count"]])
                if joined:
                    rule_uses["tls-reassembled-hello"] += n_ch
                names += [""] * max(0, n_ch - len(names))
                for nm in names:
                    snis.append({"frame": int(r[FI["frame.number"]]),
                                 "sni": nm, "loose": joined})

    # -- cross-check the per-packet streams against tshark's conv tables -----
    try:
        table = parse_conv_tables(stats)
    except ValueError as e:
        errors.append(str(e))
        table = []
    pool = collections.defaultdict(list)
    for st in streams.values():
        pool[(st["proto"], st["a"], st["b"], st["ab_pkts"], st["ba_pkts"])
             ].append(st)
    for c in table:
        cands = pool.get((c["proto"], c["a"], c["b"], c["ab_pkts"],
                          c["ba_pkts"]), [])
        hit = None
        for i, st in enumerate(cands):
            if bytes_match(st["ab_bytes"], c["ab_bytes"]) and \
               bytes_match(st["ba_bytes"], c["ba_bytes"]):
                hit = i
                break
        if hit is None:
            errors.append("tshark conv table row %s %s<->%s (%d/%d frames) "
                          "not reproduced from its per-packet fields" % (
                              c["proto"], fmt_ep(c["a"]), fmt_ep(c["b"]),
                              c["ab_pkts"], c["ba_pkts"]))
        else:
            cands.pop(hit)
    for st in (st for lst in pool.values() for st in lst):
        errors.append("tshark per-packet %s stream %s<->%s missing from its "
                      "conv table" % (st["proto"], fmt_ep(st["a"]),
                                      fmt_ep(st["b"])))
    info["convs"] = len(table)

    # -- conversations vs yagura flows ---------------------------------------
    expected = expected_flows(pkts, rule_uses)
    frame_flow = {}
    for fl in (f for lst in expected.values() for f in lst):
        for fr in fl["frames"]:
            frame_flow[fr] = id(fl)
    got = collections.defaultdict(list)
    for fl in yg["flows"]:
        got[ukey(fl["proto"], fl["src"], fl["dst"], fl["vlan"])].append(fl)

    def oriented(f, src):
        """(pkts, bytes) sent by `src`, and by the other side."""
        if f["src"] == src:
            return (f["ts_pkts"], f["ts_bytes"], f["tc_pkts"], f["tc_bytes"])
        return (f["tc_pkts"], f["tc_bytes"], f["ts_pkts"], f["ts_bytes"])

    def desc(f, src):
        o = oriented(f, src)
        other = f["dst"] if f["src"] == src else f["src"]
        v = (" vlan %s" % list(f["vlan"])) if f["vlan"] else ""
        return "%s %s->%s %d pkts/%d bytes, <- %d pkts/%d bytes%s" % (
            f["proto"], fmt_ep(src), fmt_ep(other), o[0], o[1], o[2], o[3], v)

    for k in sorted(set(expected) | set(got), key=repr):
        exp, gt = expected.get(k, []), list(got.get(k, []))
        ref = k[1]
        exp_o = sorted(oriented(e, ref) for e in exp)
        got_o = sorted(oriented(g, ref) for g in gt)
        if exp_o == got_o:
            continue
        lines = ["conversation %s %s<->%s%s differs:" % (
            k[0], fmt_ep(k[1]), fmt_ep(k[2]),
            (" vlan %s" % list(k[3])) if k[3] else "")]
        for e in exp:
            fr = e["frames"]
            lines.append("    tshark: %s (%s.stream %s, frames %s)" % (
                desc(e, ref), e["proto"].lower(),
                ",".join(map(str, e["streams"])),
                ",".join(map(str, fr)) if len(fr) <= 6 else
                "%d..%d" % (fr[0], fr[-1])))
        if not exp:
            lines.append("    tshark: (no conversation)")
        for g in gt:
            lines.append("    yagura: " + desc(g, ref))
        if not gt:
            lines.append("    yagura: (no flow)")
        errors.append("\n".join(lines))

    # -- DNS names ------------------------------------------------------------
    info["dns"] = len(dns_names)
    only_ts, only_yg = multiset_diff(dns_names, yg["dns"], "name", None)
    if only_ts or only_yg:
        errors.append("dns rrnames differ: only tshark %s; only yagura %s" % (
            only_ts, only_yg))

    # -- TLS SNI ----------------------------------------------------------------
    # Rule tls-first-hello-per-flow: yagura reports one ClientHello per flow.
    seen_flow = set()
    kept = []
    for h in snis:
        fid = frame_flow.get(h["frame"])
        if fid is not None:
            if fid in seen_flow:
                rule_uses["tls-first-hello-per-flow"] += 1
                continue
            seen_flow.add(fid)
        kept.append(h)
    info["sni"] = len(kept)
    only_ts, only_yg = multiset_diff(kept, yg["sni"], "sni", "")
    if only_ts or only_yg:
        errors.append("tls ClientHello SNIs differ ('' = no SNI): only tshark "
                      "%s; only yagura %s" % (only_ts, only_yg))
    return errors, info


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--yagura", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--shared", required=True)
    args = ap.parse_args()

    pdir = os.path.join(args.shared, "data", "pcaps")
    if not os.path.isdir(pdir):
        print("test_tshark: SKIP: no %s" % pdir)
        return SKIP
    if shutil.which("tshark") is None:
        print("test_tshark: SKIP: tshark not installed")
        return SKIP
    if not os.access(args.yagura, os.X_OK):
        fail_usage("yagura binary %s not executable" % args.yagura)
    files = sorted(glob.glob(os.path.join(pdir, "*.pcap")) +
                   glob.glob(os.path.join(pdir, "*.pcapng")))
    if not files:
        print("test_tshark: SKIP: no captures in %s" % pdir)
        return SKIP

    rule_uses = collections.Counter()
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="yg-tshark-") as tmp, \
            ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as ex:
        ts_futs = {f: ex.submit(run_tshark, f) for f in files}
        yg_futs = {f: ex.submit(run_yagura, args.yagura, f, tmp) for f in files}
        for f in files:
            ts_rc, ts_out, ts_err = ts_futs[f].result()
            yg = yg_futs[f].result()
            errors, info = compare_file(f, yg, ts_rc, ts_out, ts_err, rule_uses)
            ok = not errors
            print("%-64s packets %6s convs %5s dns %3s sni %3s  %s" % (
                os.path.basename(f), info.get("packets", "-"),
                info.get("convs", "-"), info.get("dns", "-"),
                info.get("sni", "-"), "OK" if ok else "FAIL"))
            for e in errors:
                print("    " + e.replace("\n", "\n    "))
            if ok:
                passed += 1
            else:
                failed += 1
    used = ", ".join("%s x%d" % (k, rule_uses[k]) for k in RULES
                     if rule_uses[k])
    print("rules applied (docs/tshark-comparison.md): " + (used or "none"))
    print("tshark: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
