#!/usr/bin/env python3
"""The countermeasure files loaded into the real programs from Debian.

render_cases (tests/unit/counter) turns a JSON set of cases into the files
with cm_write_dir, as the tower does on every change. Then:

- BIND 9 on a loopback port serves rpz.zone as a response-policy zone in
  front of local authoritative zones (nothing leaves the machine): a
  sinkholed name, its subdomains and a name whose address is an rpz-ip
  trigger answer with the sinkhole; after re-rendering without the name's
  case and `rndc reload`, the name resolves normally again; IXFR from the
  old serial carries only the change.
- Unbound the same way (rpz: with auth-zones for-upstream), reloaded with
  unbound-control.
- nftables: `nft -c -f` accepts nftables.nft; in two network namespaces
  joined by a veth pair, with the file loaded, UDP packets to blocked IPv4
  and IPv6 addresses are dropped and those to their unblocked neighbours
  are echoed back; an element also times out on its own at expiry;
  re-rendered without the case, the address answers again.
- BIRD 2: `bird -p` accepts bird.conf; BIRD in one namespace and GoBGP
  (gobgpd) in the other hold a real eBGP session over the veth pair; GoBGP's
  RIB shows the blackhole route with community 65535:666 and the FlowSpec
  rule with its discard action; after re-rendering without the cases and
  `birdc configure`, both are withdrawn.

Each part skips (exit 77 when all of them do) when its programs are missing
or network namespaces cannot be made, and says which.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from realtools import (BLACKHOLE, BIND_PROGRAMS, BGP_PROGRAMS, UNBOUND_PROGRAMS, BgpPair, Named,
                       Netns, Unbound, communities, missing, netns_usable, sh, wait_for)

SKIP = 77
H = 3600 * 1000000


class Checker:
    def __init__(self):
        self.passed, self.failed, self.skipped = 0, 0, []

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL: %s%s" % (what, ("\n" + detail) if detail else ""))

    def skip(self, part, why):
        self.skipped.append(part)
        print("skipped %s: %s" % (part, why))


def now_us():
    return int(time.time() * 1000000)


class Renderer:
    def __init__(self, binary, outdir, config):
        self.binary, self.outdir, self.config, self.serial = binary, outdir, config, 0
        os.makedirs(outdir, exist_ok=True)

    def render(self, cases):
        self.serial += 1
        path = os.path.join(self.outdir, "..", "cases-%d.json" % self.serial)
        with open(path, "w") as f:
            json.dump({"serial": self.serial, "config": self.config, "cases": cases}, f)
        sh([self.binary, path, self.outdir], check=True)

    def path(self, name):
        return os.path.join(self.outdir, name)


def case(cid, action, target, **kw):
    t = now_us()
    c = {"id": cid, "action": action, "target": target, "approved": t - 60 * 1000000,
         "expires": t + H, "justification": "integration test"}
    c.update(kw)
    return c


# ---------------------------------------------------------------- BIND ---

ZONE_EXAMPLE = """$TTL 60
@ IN SOA ns.example. hostmaster.example. 1 60 60 600 60
@ IN NS ns.example.
ns IN A 127.0.0.1
bad IN A 203.0.113.80
www.bad IN A 203.0.113.81
good IN A 203.0.113.82
c2 IN A 198.51.100.7
"""
ZONE_SINK = """$TTL 60
@ IN SOA ns.example. hostmaster.example. 1 60 60 600 60
@ IN NS ns.example.
sinkhole IN A 192.0.2.53
"""
def test_bind(ck, render_bin, work):
    gone = missing(*BIND_PROGRAMS)
    if gone:
        ck.skip("bind", "%s not installed (Debian packages bind9, bind9-dnsutils)"
                % ", ".join(gone))
        return
    d = os.path.join(work, "bind")
    r = Renderer(render_bin, os.path.join(d, "cm"), {
        "rpz_zone": "rpz.yagura.local", "sinkhole": "sinkhole.yagura.test"})
    sink_cases = [case(1, "sinkhole", "bad.example"), case(2, "sinkhole", "198.51.100.7")]
    r.render(sink_cases)
    rc, out = sh(["named-checkzone", "rpz.yagura.local", r.path("rpz.zone")])
    ck.check(rc == 0, "named-checkzone accepts rpz.zone", out)

    named = Named(d, "rpz.yagura.local", r.path("rpz.zone"),
                  {"example": ZONE_EXAMPLE, "yagura.test": ZONE_SINK})
    rc, out = named.checkconf()
    ck.check(rc == 0, "named-checkconf accepts the test's named.conf", out)
    named.start()
    try:
        dig = named.dig
        if not wait_for(lambda: dig("good.example") == ["203.0.113.82"]):
            ck.check(False, "named answers on port %d" % named.port, named.logtail())
            return
        ck.check(dig("good.example") == ["203.0.113.82"], "a name without a case resolves")
        got = dig("bad.example")
        ck.check(got == ["sinkhole.yagura.test.", "192.0.2.53"],
                 "the sinkholed name answers with the sinkhole", repr(got))
        got = dig("www.bad.example")
        ck.check(got == ["sinkhole.yagura.test.", "192.0.2.53"],
                 "a subdomain of the sinkholed name answers with the sinkhole", repr(got))
        got = dig("c2.example")
        ck.check(got == ["sinkhole.yagura.test.", "192.0.2.53"],
                 "a name answering with a sinkholed address (rpz-ip) is rewritten", repr(got))

        # The case for bad.example is revoked: the tower re-renders, the
        # operator's hook runs rndc reload.
        r.render(sink_cases[1:])
        rc, out = named.reload()
        ck.check(rc == 0, "rndc reload rpz.yagura.local", out)
        got = wait_for(lambda: dig("bad.example") == ["203.0.113.80"], timeout=15)
        ck.check(got, "after revocation and reload the name resolves normally",
                 repr(dig("bad.example")))
        ck.check(dig("c2.example") == ["sinkhole.yagura.test.", "192.0.2.53"],
                 "the remaining case still applies")
        out = " ".join(dig("rpz.yagura.local", "SOA"))
        ck.check(" 2 60 60 604800 60" in out, "the zone's serial rose to 2", out)
        # A secondary that holds serial 1 gets only the difference (IXFR):
        # the serial rises with each change and nothing else moves.
        full = named.transfer("rpz.yagura.local")
        inc = named.transfer("rpz.yagura.local", 1)
        soas = [l.split()[6] for l in inc if l.split()[3] == "SOA"]
        ck.check(soas[:2] == ["2", "1"] and any("bad.example" in l for l in inc) and
                 not any("rpz-ip" in l for l in inc) and any("rpz-ip" in l for l in full),
                 "IXFR from serial 1 carries the revoked name and not the unchanged rest",
                 "\n".join(inc))
    finally:
        named.stop()


def test_unbound(ck, render_bin, work):
    gone = missing(*UNBOUND_PROGRAMS)
    if gone:
        ck.skip("unbound", "%s not installed (Debian packages unbound, bind9-dnsutils)"
                % ", ".join(gone))
        return
    d = os.path.join(work, "unbound")
    r = Renderer(render_bin, os.path.join(d, "cm"), {
        "rpz_zone": "rpz.yagura.local", "sinkhole": "sinkhole.yagura.test"})
    sink_cases = [case(1, "sinkhole", "bad.example"), case(2, "sinkhole", "198.51.100.7")]
    r.render(sink_cases)
    ub = Unbound(d, "rpz.yagura.local", r.path("rpz.zone"),
                 {"example": ZONE_EXAMPLE, "yagura.test": ZONE_SINK})
    rc, out = ub.checkconf()
    ck.check(rc == 0, "unbound-checkconf accepts the test's unbound.conf", out)
    ub.start()
    try:
        dig = ub.dig
        if not wait_for(lambda: dig("good.example") == ["203.0.113.82"]):
            ck.check(False, "unbound answers on port %d" % ub.port, ub.logtail())
            return
        got = dig("bad.example")
        ck.check(got == ["sinkhole.yagura.test.", "192.0.2.53"],
                 "unbound: the sinkholed name answers with the sinkhole", repr(got))
        got = dig("www.bad.example")
        ck.check(got == ["sinkhole.yagura.test.", "192.0.2.53"],
                 "unbound: a subdomain of the sinkholed name answers with the sinkhole",
                 repr(got))
        # Unbound applies an rpz-ip trigger's CNAME as a block (NXDOMAIN)
        # where BIND follows it to the sinkhole: either way the attack
        # server's address is not handed out.
        got = dig("c2.example")
        ck.check("198.51.100.7" not in got,
                 "unbound: a name answering with a sinkholed address is not answered with it",
                 repr(got))
        r.render(sink_cases[1:])
        rc, out = ub.reload()
        ck.check(rc == 0, "unbound-control auth_zone_reload rpz.yagura.local", out)
        got = wait_for(lambda: dig("bad.example") == ["203.0.113.80"], timeout=15)
        ck.check(got, "unbound: after revocation and reload the name resolves normally",
                 repr(dig("bad.example")))
        ck.check("198.51.100.7" not in dig("c2.example"),
                 "unbound: the remaining case still applies")
    finally:
        ub.stop()


# ------------------------------------------------------ network namespaces ---

ECHO = """
import socket, sys, threading
def serve(fam, addr):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, 7007))
    while True:
        data, peer = s.recvfrom(512)
        s.sendto(data, peer)
threading.Thread(target=serve, args=(socket.AF_INET6, "::"), daemon=True).start()
serve(socket.AF_INET, "0.0.0.0")
"""
PROBE = """
import socket, sys
addr = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
try:
    s.sendto(b"probe", (addr, 7007))
    sys.exit(0 if s.recv(512) == b"probe" else 1)
except OSError:
    sys.exit(1)
"""


def ping(net, addr):
    """1 if a UDP datagram from namespace a to addr (in b) is echoed back."""
    return net.run(net.a, [sys.executable, "-c", PROBE, addr])[0] == 0


def test_nft(ck, render_bin, work, net):
    gone = missing("nft")
    if gone:
        ck.skip("nftables", "nft not installed (Debian package nftables)")
        return
    echo = net.popen(net.b, [sys.executable, "-c", ECHO], subprocess.DEVNULL)
    try:
        nft_cases(ck, render_bin, work, net)
    finally:
        echo.kill()
        echo.wait()


def nft_cases(ck, render_bin, work, net):
    r = Renderer(render_bin, os.path.join(work, "nft", "cm"), {})
    cases = [case(1, "blocklist", "198.51.100.7"), case(2, "blocklist", "2001:db8::7"),
             case(3, "blocklist", "bad.example")]
    r.render(cases)
    nft_file = r.path("nftables.nft")
    rc, out = net.run(net.a, ["nft", "-c", "-f", nft_file])
    ck.check(rc == 0, "nft -c -f accepts nftables.nft", out)
    for addr in ("198.51.100.7", "198.51.100.8", "2001:db8::7", "2001:db8::8"):
        ck.check(wait_for(lambda: ping(net, addr), timeout=5),
                 "%s answers before any rule" % addr)
    rc, out = net.run(net.a, ["nft", "-f", nft_file])
    ck.check(rc == 0, "nft -f loads nftables.nft", out)
    ck.check(not ping(net, "198.51.100.7"), "a packet to the blocked IPv4 address is dropped")
    ck.check(ping(net, "198.51.100.8"), "a packet to its unblocked neighbour passes")
    ck.check(not ping(net, "2001:db8::7"), "a packet to the blocked IPv6 address is dropped")
    ck.check(ping(net, "2001:db8::8"), "a packet to its unblocked neighbour passes (IPv6)")
    rc, out = net.run(net.a, ["nft", "list", "set", "inet", "yagura", "block4"])
    ck.check("198.51.100.7" in out and "expires" in out,
             "the element carries a timeout and counts down", out)
    # Loading it twice is fine: the table is replaced, not doubled.
    rc, out = net.run(net.a, ["nft", "-f", nft_file])
    ck.check(rc == 0, "nft -f loads nftables.nft a second time", out)
    # The case is revoked: re-rendered without it, reloaded.
    r.render(cases[1:])
    rc, out = net.run(net.a, ["nft", "-f", nft_file])
    ck.check(rc == 0, "nft -f loads the re-rendered file", out)
    ck.check(ping(net, "198.51.100.7"), "after revocation the address answers again")
    ck.check(not ping(net, "2001:db8::7"), "the remaining case still drops")
    # An element times out on its own when its case expires.
    short = case(4, "blocklist", "198.51.100.8")
    short["expires"] = now_us() + 2 * 1000000
    r.render([short])
    net.run(net.a, ["nft", "-f", nft_file])
    ck.check(not ping(net, "198.51.100.8"), "a case about to expire drops")
    ck.check(wait_for(lambda: ping(net, "198.51.100.8"), timeout=10),
             "once expired, its element times out without a reload")
    net.run(net.a, ["nft", "delete", "table", "inet", "yagura"])


def test_bird(ck, render_bin, work, net):
    gone = missing(*BGP_PROGRAMS)
    if gone:
        ck.skip("bird", "%s not installed (Debian packages bird2, gobgpd)" % ", ".join(gone))
        return
    d = os.path.join(work, "bgp")
    r = Renderer(render_bin, os.path.join(d, "cm"), {
        "bgp_local_as": 65001, "bgp_router_id": "192.0.2.1",
        "bgp_local_address": "192.0.2.1", "bgp_neighbor": "192.0.2.2",
        "bgp_neighbor_as": 65002, "rtbh_next_hop4": "192.0.2.66",
        "rtbh_next_hop6": "2001:db8:ff::66"})
    cases = [case(1, "rtbh", "198.51.100.7"), case(2, "rtbh", "2001:db8::7"),
             case(3, "flowspec", "198.51.100.0/24", proto="tcp", ports=[80, 443]),
             case(4, "flowspec", "2001:db8::/64", proto="udp", ports=[53])]
    r.render(cases)
    rc, out = sh(["bird", "-p", "-c", r.path("bird.conf")])
    ck.check(rc == 0, "bird -p accepts bird.conf", out)
    bgp = BgpPair(net, d, r.path("bird.conf"), as_a=65001, as_b=65002)
    rc, out = bgp.check_gobgp_conf()
    ck.check(rc == 0, "gobgpd -d accepts the test's configuration", out)
    bgp.start()
    try:
        if not wait_for(bgp.established, timeout=60, step=0.5):
            rc, out = bgp.birdc("show", "protocols", "all", "yagura_peer")
            ck.check(False, "the BGP session between BIRD and GoBGP comes up", out)
            return
        ck.check(True, "the BGP session between BIRD and GoBGP comes up")
        route = bgp.route

        attrs = wait_for(lambda: route("ipv4", "198.51.100.7/32"), timeout=20)
        ck.check(attrs is not None, "GoBGP holds the blackhole route 198.51.100.7/32",
                 bgp.rib("ipv4")[1])
        ck.check(BLACKHOLE in communities(attrs),
                 "the route carries BLACKHOLE 65535:666", json.dumps(attrs))
        ck.check(any(a.get("nexthop") == "192.0.2.66" for a in attrs or []),
                 "its next hop is the configured discard address", json.dumps(attrs))
        attrs6 = wait_for(lambda: route("ipv6", "2001:db8::7/128"), timeout=10)
        ck.check(BLACKHOLE in communities(attrs6),
                 "GoBGP holds the IPv6 blackhole route with 65535:666",
                 bgp.rib("ipv6")[1])

        def flow(family, needle):
            rc, out = bgp.gobgp(["global", "rib", "-a", family])
            return out if rc == 0 and needle in out else None

        out = wait_for(lambda: flow("ipv4-flowspec", "198.51.100.0/24"), timeout=10)
        ck.check(out and "discard" in out and "tcp" in out and "80" in out and "443" in out,
                 "GoBGP holds the FlowSpec rule (tcp to 80, 443: discard)",
                 flow("ipv4-flowspec", "") or "")
        out = wait_for(lambda: flow("ipv6-flowspec", "2001:db8::/64"), timeout=10)
        ck.check(out and "discard" in out and "udp" in out and "53" in out,
                 "GoBGP holds the IPv6 FlowSpec rule (udp to 53: discard)",
                 flow("ipv6-flowspec", "") or "")

        # The cases expire: the tower re-renders, the hook reconfigures BIRD.
        r.render([c for c in cases if c["id"] == 2])
        rc, out = bgp.configure()
        ck.check(rc == 0 and "Reconfigured" in out, "birdc configure", out)
        ck.check(wait_for(lambda: route("ipv4", "198.51.100.7/32") is None, timeout=20),
                 "the blackhole route is withdrawn", bgp.rib("ipv4")[1])
        ck.check(wait_for(lambda: flow("ipv4-flowspec", "198.51.100.0/24") is None,
                          timeout=20), "the FlowSpec rule is withdrawn")
        ck.check(route("ipv6", "2001:db8::7/128") is not None,
                 "the remaining case's route stays")
    finally:
        bgp.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--render", required=True, help="the render_cases helper")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    ck = Checker()
    work = tempfile.mkdtemp(prefix="yg-cm-")
    try:
        test_bind(ck, args.render, work)
        test_unbound(ck, args.render, work)
        why = netns_usable()
        if why:
            ck.skip("nftables", why)
            ck.skip("bird", why)
        else:
            net = Netns()
            try:
                net.up()
                test_nft(ck, args.render, work, net)
                test_bird(ck, args.render, work, net)
            finally:
                net.down()
    finally:
        if args.keep:
            print("work directory: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("countermeasures: %d passed, %d failed, skipped: %s" % (
        ck.passed, ck.failed, ", ".join(ck.skipped) or "none"))
    if ck.failed:
        sys.exit(1)
    if len(ck.skipped) == 4:
        sys.exit(SKIP)


if __name__ == "__main__":
    main()
