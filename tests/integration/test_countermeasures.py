#!/usr/bin/env python3
"""The countermeasure files loaded into the real programs from Debian.

render_cases (tests/unit/counter) turns a JSON set of cases into the files
with cm_write_dir, as the tower does on every change. Then:

- BIND 9 on a loopback port serves rpz.zone as a response-policy zone in
  front of local authoritative zones (nothing leaves the machine): a
  sinkholed name, its subdomains and a name whose address is an rpz-ip
  trigger answer with the sinkhole; after re-rendering without the name's
  case and `rndc reload`, the name resolves normally again.
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
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

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


def sh(args, check=False, timeout=30, **kw):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, timeout=timeout, **kw)
    out = p.stdout.decode(errors="replace")
    if check and p.returncode != 0:
        raise RuntimeError("%s: exit %d\n%s" % (" ".join(args), p.returncode, out))
    return p.returncode, out


def missing(*progs):
    return [p for p in progs if shutil.which(p) is None]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(fn, timeout=20.0, step=0.2):
    end = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() > end:
            return v
        time.sleep(step)


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
# Authoritative for the root too, so that no query ever leaves the host.
ZONE_ROOT = """$TTL 60
@ IN SOA ns.example. hostmaster.example. 1 60 60 600 60
@ IN NS ns.example.
"""


def test_bind(ck, render_bin, work):
    gone = missing("named", "named-checkzone", "rndc", "dig")
    if gone:
        ck.skip("bind", "%s not installed (Debian packages bind9, bind9-dnsutils)"
                % ", ".join(gone))
        return
    d = os.path.join(work, "bind")
    os.makedirs(d)
    r = Renderer(render_bin, os.path.join(d, "cm"), {
        "rpz_zone": "rpz.yagura.local", "sinkhole": "sinkhole.yagura.test"})
    sink_cases = [case(1, "sinkhole", "bad.example"), case(2, "sinkhole", "198.51.100.7")]
    r.render(sink_cases)
    rc, out = sh(["named-checkzone", "rpz.yagura.local", r.path("rpz.zone")])
    ck.check(rc == 0, "named-checkzone accepts rpz.zone", out)

    for name, text in (("example.db", ZONE_EXAMPLE), ("sink.db", ZONE_SINK),
                       ("root.db", ZONE_ROOT)):
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    port, cport = free_port(), free_port()
    secret = base64.b64encode(os.urandom(32)).decode()
    key = 'key "yg" { algorithm hmac-sha256; secret "%s"; };\n' % secret
    with open(os.path.join(d, "named.conf"), "w") as f:
        f.write(key + """
controls { inet 127.0.0.1 port %(cport)d allow { 127.0.0.1; } keys { "yg"; }; };
options {
	directory "%(d)s";
	pid-file "%(d)s/named.pid";
	session-keyfile "%(d)s/session.key";
	listen-on port %(port)d { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion yes;
	allow-query { 127.0.0.1; };
	allow-recursion { 127.0.0.1; };
	dnssec-validation no;
	notify no;
	response-policy { zone "rpz.yagura.local" min-update-interval 0; } qname-wait-recurse no;
};
zone "." { type primary; file "root.db"; };
zone "example" { type primary; file "example.db"; };
zone "yagura.test" { type primary; file "sink.db"; };
zone "rpz.yagura.local" { type primary; file "%(rpz)s"; };
""" % {"cport": cport, "d": d, "port": port, "rpz": r.path("rpz.zone")})
    with open(os.path.join(d, "rndc.conf"), "w") as f:
        f.write(key + 'options { default-key "yg"; default-server 127.0.0.1; '
                'default-port %d; };\n' % cport)
    rc, out = sh(["named-checkconf", os.path.join(d, "named.conf")]) \
        if shutil.which("named-checkconf") else (0, "")
    ck.check(rc == 0, "named-checkconf accepts the test's named.conf", out)
    log = open(os.path.join(d, "named.log"), "w")
    named = subprocess.Popen(["named", "-g", "-4", "-n", "1", "-u", "root",
                              "-c", os.path.join(d, "named.conf")],
                             stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        def dig(name):
            rc, out = sh(["dig", "@127.0.0.1", "-p", str(port), "+short", "+time=2",
                          "+tries=1", name, "A"])
            return out.split()

        if not wait_for(lambda: dig("good.example") == ["203.0.113.82"]):
            ck.check(False, "named answers on port %d" % port,
                     open(os.path.join(d, "named.log")).read()[-3000:])
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
        rc, out = sh(["rndc", "-c", os.path.join(d, "rndc.conf"), "reload",
                      "rpz.yagura.local"])
        ck.check(rc == 0, "rndc reload rpz.yagura.local", out)
        got = wait_for(lambda: dig("bad.example") == ["203.0.113.80"], timeout=15)
        ck.check(got, "after revocation and reload the name resolves normally",
                 repr(dig("bad.example")))
        ck.check(dig("c2.example") == ["sinkhole.yagura.test.", "192.0.2.53"],
                 "the remaining case still applies")
        rc, out = sh(["dig", "@127.0.0.1", "-p", str(port), "+short", "rpz.yagura.local", "SOA"])
        ck.check(" 2 60 60 604800 60" in out, "the zone's serial rose to 2", out)
    finally:
        named.terminate()
        try:
            named.wait(10)
        except subprocess.TimeoutExpired:
            named.kill()
            named.wait()
        log.close()


# ------------------------------------------------------ network namespaces ---

class Netns:
    """Two namespaces, a (the operator's router) and b (the rest of the
    world), joined by a veth pair: a=192.0.2.1, b=192.0.2.2 (and 2001:db8:ff::
    1 and 2). b also holds the addresses the cases name."""

    def __init__(self):
        tag = "yg%d" % os.getpid()
        self.a, self.b = tag + "a", tag + "b"
        self.made = []

    def up(self):
        for ns in (self.a, self.b):
            sh(["ip", "netns", "add", ns], check=True)
            self.made.append(ns)
        va, vb = "yga%d" % os.getpid(), "ygb%d" % os.getpid()
        cmds = [
            ["ip", "link", "add", va, "netns", self.a, "type", "veth", "peer", "name", vb,
             "netns", self.b],
            ["ip", "-n", self.a, "link", "set", "lo", "up"],
            ["ip", "-n", self.b, "link", "set", "lo", "up"],
            ["ip", "-n", self.a, "addr", "add", "192.0.2.1/24", "dev", va],
            ["ip", "-n", self.b, "addr", "add", "192.0.2.2/24", "dev", vb],
            ["ip", "-n", self.a, "addr", "add", "2001:db8:ff::1/64", "dev", va, "nodad"],
            ["ip", "-n", self.b, "addr", "add", "2001:db8:ff::2/64", "dev", vb, "nodad"],
            ["ip", "-n", self.a, "link", "set", va, "up"],
            ["ip", "-n", self.b, "link", "set", vb, "up"],
            ["ip", "-n", self.a, "route", "add", "198.51.100.0/24", "via", "192.0.2.2"],
            ["ip", "-n", self.a, "route", "add", "2001:db8::/64", "via", "2001:db8:ff::2"],
        ]
        for addr in ("198.51.100.7/32", "198.51.100.8/32"):
            cmds.append(["ip", "-n", self.b, "addr", "add", addr, "dev", "lo"])
        for addr in ("2001:db8::7/128", "2001:db8::8/128"):
            cmds.append(["ip", "-n", self.b, "addr", "add", addr, "dev", "lo", "nodad"])
        for c in cmds:
            sh(c, check=True)

    def run(self, ns, args, **kw):
        return sh(["ip", "netns", "exec", ns] + list(args), **kw)

    def popen(self, ns, args, log):
        return subprocess.Popen(["ip", "netns", "exec", ns] + list(args), stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def down(self):
        for ns in self.made:
            sh(["ip", "netns", "del", ns])


def netns_usable():
    if os.geteuid() != 0:
        return "not root: network namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN"
    probe = "ygprobe%d" % os.getpid()
    rc, out = sh(["ip", "netns", "add", probe])
    if rc != 0:
        return "ip netns add failed: %s" % out.strip()
    sh(["ip", "netns", "del", probe])
    return None


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


GOBGP_TOML = """[global.config]
  as = 65002
  router-id = "192.0.2.2"
  port = 179
  local-address-list = ["192.0.2.2"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "192.0.2.1"
    peer-as = 65001
  [neighbors.transport.config]
    local-address = "192.0.2.2"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-flowspec"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-flowspec"
"""

BLACKHOLE = 65535 << 16 | 666


def gobgp_rib(net, family):
    rc, out = net.run(net.b, ["gobgp", "-u", "127.0.0.1", "-p", "50051", "global", "rib",
                              "-a", family, "-j"])
    if rc != 0:
        return None, out
    try:
        return json.loads(out or "{}"), out
    except ValueError:
        return None, out


def path_attrs(rib, prefix):
    """The attributes of the best path to prefix in GoBGP's JSON RIB."""
    for key, paths in (rib or {}).items():
        if key == prefix or any(p.get("nlri", {}).get("prefix") == prefix for p in paths):
            return paths[0].get("attrs", [])
    return None


def communities(attrs):
    for a in attrs or []:
        if "communities" in a:
            return a["communities"]
    return []


def test_bird(ck, render_bin, work, net):
    gone = missing("bird", "birdc", "gobgpd", "gobgp")
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
    conf = r.path("bird.conf")
    rc, out = sh(["bird", "-p", "-c", conf])
    ck.check(rc == 0, "bird -p accepts bird.conf", out)
    with open(os.path.join(d, "gobgp.toml"), "w") as f:
        f.write(GOBGP_TOML)
    rc, out = sh(["gobgpd", "-d", "-f", os.path.join(d, "gobgp.toml")])
    ck.check(rc == 0, "gobgpd -d accepts the test's configuration", out)
    sock = os.path.join(d, "bird.ctl")
    blog, glog = open(os.path.join(d, "bird.log"), "w"), open(os.path.join(d, "gobgpd.log"), "w")
    gobgpd = net.popen(net.b, ["gobgpd", "-f", os.path.join(d, "gobgp.toml"), "-p",
                               "--api-hosts", "127.0.0.1:50051", "--pprof-disable"], glog)
    bird = net.popen(net.a, ["bird", "-f", "-c", conf, "-s", sock,
                             "-P", os.path.join(d, "bird.pid")], blog)
    try:
        def established():
            rc, out = net.run(net.b, ["gobgp", "-u", "127.0.0.1", "-p", "50051",
                                      "neighbor", "192.0.2.1"])
            return rc == 0 and "bgp state = established" in out.lower()

        if not wait_for(established, timeout=60, step=0.5):
            rc, out = net.run(net.a, ["birdc", "-s", sock, "show", "protocols", "all",
                                      "yagura_peer"])
            ck.check(False, "the BGP session between BIRD and GoBGP comes up", out)
            return
        ck.check(True, "the BGP session between BIRD and GoBGP comes up")

        def route(family, prefix):
            rib, _ = gobgp_rib(net, family)
            return path_attrs(rib, prefix)

        attrs = wait_for(lambda: route("ipv4", "198.51.100.7/32"), timeout=20)
        ck.check(attrs is not None, "GoBGP holds the blackhole route 198.51.100.7/32",
                 gobgp_rib(net, "ipv4")[1])
        ck.check(BLACKHOLE in communities(attrs),
                 "the route carries BLACKHOLE 65535:666", json.dumps(attrs))
        ck.check(any(a.get("nexthop") == "192.0.2.66" for a in attrs or []),
                 "its next hop is the configured discard address", json.dumps(attrs))
        attrs6 = wait_for(lambda: route("ipv6", "2001:db8::7/128"), timeout=10)
        ck.check(BLACKHOLE in communities(attrs6),
                 "GoBGP holds the IPv6 blackhole route with 65535:666",
                 gobgp_rib(net, "ipv6")[1])

        def flow(family, needle):
            rc, out = net.run(net.b, ["gobgp", "-u", "127.0.0.1", "-p", "50051", "global",
                                      "rib", "-a", family])
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
        rc, out = net.run(net.a, ["birdc", "-s", sock, "configure"])
        ck.check(rc == 0 and "Reconfigured" in out, "birdc configure", out)
        ck.check(wait_for(lambda: route("ipv4", "198.51.100.7/32") is None, timeout=20),
                 "the blackhole route is withdrawn", gobgp_rib(net, "ipv4")[1])
        ck.check(wait_for(lambda: flow("ipv4-flowspec", "198.51.100.0/24") is None,
                          timeout=20), "the FlowSpec rule is withdrawn")
        ck.check(route("ipv6", "2001:db8::7/128") is not None,
                 "the remaining case's route stays")
    finally:
        for p in (bird, gobgpd):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        blog.close()
        glog.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--render", required=True, help="the render_cases helper")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    ck = Checker()
    work = tempfile.mkdtemp(prefix="yg-cm-")
    try:
        test_bind(ck, args.render, work)
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
    if len(ck.skipped) == 3:
        sys.exit(SKIP)


if __name__ == "__main__":
    main()
