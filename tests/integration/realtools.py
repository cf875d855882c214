"""The real programs the countermeasure files are loaded into, started by a
test on loopback or in network namespaces it makes: BIND 9 serving an RPZ
zone, and BIRD 2 in a BGP session with GoBGP (Debian packages bind9,
bind9-dnsutils, bird2, gobgpd). Shared by test_countermeasures.py and
test_oversight_e2e.py; nothing here talks to a tower."""
import base64
import json
import os
import shutil
import socket
import subprocess
import time


def sh(args, check=False, timeout=30, **kw):
    """Runs args; returns (exit code, stdout and stderr as text)."""
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
    """fn() once it is true, or its last (false) value after timeout seconds."""
    end = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() > end:
            return v
        time.sleep(step)


def stop(proc, secs=10):
    proc.terminate()
    try:
        proc.wait(secs)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ---------------------------------------------------------------- BIND ---

BIND_PROGRAMS = ("named", "named-checkzone", "rndc", "dig")

# Authoritative for the root too, so that no query ever leaves the host.
ZONE_ROOT = """$TTL 60
@ IN SOA ns.example. hostmaster.example. 1 60 60 600 60
@ IN NS ns.example.
"""


class Named:
    """named on 127.0.0.1, a free port, recursive for loopback only, with
    rpz_file as the response-policy zone rpz_name in front of the primary
    zones given as {origin: text} (the root zone is added)."""

    def __init__(self, d, rpz_name, rpz_file, zones):
        self.d, self.rpz_name = d, rpz_name
        os.makedirs(d, exist_ok=True)
        self.port, cport = free_port(), free_port()
        zones = dict(zones)
        zones.setdefault(".", ZONE_ROOT)
        decl = ""
        for i, (origin, text) in enumerate(sorted(zones.items())):
            name = "zone%d.db" % i
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
            decl += 'zone "%s" { type primary; file "%s"; };\n' % (origin, name)
        secret = base64.b64encode(os.urandom(32)).decode()
        key = 'key "yg" { algorithm hmac-sha256; secret "%s"; };\n' % secret
        self.conf = os.path.join(d, "named.conf")
        with open(self.conf, "w") as f:
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
	ixfr-from-differences yes;
	max-ixfr-ratio unlimited;
	allow-transfer { 127.0.0.1; };
	response-policy { zone "%(rpz_name)s" min-update-interval 0; } qname-wait-recurse no;
};
%(decl)szone "%(rpz_name)s" { type primary; file "%(rpz)s"; };
""" % {"cport": cport, "d": d, "port": self.port, "rpz_name": rpz_name, "rpz": rpz_file,
                "decl": decl})
        self.rndc_conf = os.path.join(d, "rndc.conf")
        with open(self.rndc_conf, "w") as f:
            f.write(key + 'options { default-key "yg"; default-server 127.0.0.1; '
                    'default-port %d; };\n' % cport)
        self.logpath = os.path.join(d, "named.log")
        self.proc = None

    def checkconf(self):
        """(exit code, output) of named-checkconf, (0, "") without it."""
        if shutil.which("named-checkconf") is None:
            return 0, ""
        return sh(["named-checkconf", self.conf])

    def start(self):
        self.log = open(self.logpath, "w")
        self.proc = subprocess.Popen(["named", "-g", "-4", "-n", "1", "-u", "root",
                                      "-c", self.conf], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def dig(self, name, rtype="A"):
        """The words of dig +short's answer."""
        rc, out = sh(["dig", "@127.0.0.1", "-p", str(self.port), "+short", "+time=2",
                      "+tries=1", name, rtype])
        return out.split()

    def transfer(self, zone, ixfr_from=None):
        """The records of a zone transfer, one line each (AXFR, or IXFR
        from a serial)."""
        kind = "IXFR=%d" % ixfr_from if ixfr_from is not None else "AXFR"
        rc, out = sh(["dig", "@127.0.0.1", "-p", str(self.port), "+noall", "+answer",
                      "+time=2", "+tries=1", zone, kind])
        return [l for l in out.splitlines() if l.strip() and not l.startswith(";")]

    def reload(self):
        """rndc reload of the response-policy zone: (exit code, output)."""
        return sh(["rndc", "-c", self.rndc_conf, "reload", self.rpz_name])

    def logtail(self, n=3000):
        with open(self.logpath) as f:
            return f.read()[-n:]

    def stop(self):
        if self.proc is not None:
            stop(self.proc)
            self.log.close()


UNBOUND_PROGRAMS = ("unbound", "unbound-control", "unbound-checkconf", "dig")


class Unbound:
    """unbound on 127.0.0.1, a free port, with rpz_file as the
    response-policy zone rpz_name and the zones given as {origin: text}
    served to its own resolution (auth-zone for-upstream): nothing leaves
    the machine. Controlled through a unix socket."""

    def __init__(self, d, rpz_name, rpz_file, zones):
        self.d, self.rpz_name = d, rpz_name
        os.makedirs(d, exist_ok=True)
        self.port = free_port()
        auth = ""
        for i, (origin, text) in enumerate(sorted(zones.items())):
            name = os.path.join(d, "auth%d.db" % i)
            with open(name, "w") as f:
                f.write(text)
            auth += ('auth-zone:\n\tname: "%s."\n\tzonefile: "%s"\n\tfor-downstream: no\n'
                     '\tfor-upstream: yes\n' % (origin, name))
        self.conf = os.path.join(d, "unbound.conf")
        with open(self.conf, "w") as f:
            f.write("""server:
	interface: 127.0.0.1
	port: %(port)d
	do-ip6: no
	access-control: 127.0.0.0/8 allow
	username: ""
	chroot: ""
	directory: "%(d)s"
	pidfile: "%(d)s/unbound.pid"
	use-syslog: no
	logfile: ""
	verbosity: 1
	module-config: "respip iterator"
	do-not-query-localhost: no
	cache-max-ttl: 0
%(auth)sremote-control:
	control-enable: yes
	control-interface: "%(d)s/control.sock"
	control-use-cert: no
rpz:
	name: "%(rpz_name)s"
	zonefile: "%(rpz)s"
""" % {"port": self.port, "d": d, "auth": auth, "rpz_name": rpz_name, "rpz": rpz_file})
        self.logpath = os.path.join(d, "unbound.log")
        self.proc = None

    def checkconf(self):
        return sh(["unbound-checkconf", self.conf])

    def start(self):
        self.log = open(self.logpath, "w")
        self.proc = subprocess.Popen(["unbound", "-d", "-c", self.conf], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def dig(self, name, rtype="A"):
        rc, out = sh(["dig", "@127.0.0.1", "-p", str(self.port), "+short", "+time=2",
                      "+tries=1", name, rtype])
        return out.split()

    def reload(self):
        """unbound-control auth_zone_reload of the policy zone: (exit code,
        output). Its cache is flushed too: answers it already gave would
        otherwise outlive the change for their TTL."""
        rc, out = sh(["unbound-control", "-c", self.conf, "auth_zone_reload", self.rpz_name])
        if rc == 0:
            rc, more = sh(["unbound-control", "-c", self.conf, "flush_zone", "."])
            out += more
        return rc, out

    def logtail(self, n=3000):
        with open(self.logpath) as f:
            return f.read()[-n:]

    def stop(self):
        if self.proc is not None:
            stop(self.proc)
            self.log.close()


# ------------------------------------------------------ network namespaces ---

def netns_usable():
    """None, or why network namespaces cannot be made here."""
    if os.geteuid() != 0:
        return "not root: network namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN"
    probe = "ygprobe%d" % os.getpid()
    rc, out = sh(["ip", "netns", "add", probe])
    if rc != 0:
        return "ip netns add failed: %s" % out.strip()
    sh(["ip", "netns", "del", probe])
    return None


class Netns:
    """Two namespaces, a (the operator's router) and b (the rest of the
    world), joined by a veth pair: a=192.0.2.1, b=192.0.2.2 (and 2001:db8:ff::
    1 and 2). b also holds the addresses in b_addrs, routed from a."""

    def __init__(self, b_addrs=("198.51.100.7/32", "198.51.100.8/32", "2001:db8::7/128",
                                "2001:db8::8/128"),
                 a_routes=(("198.51.100.0/24", "192.0.2.2"), ("2001:db8::/64", "2001:db8:ff::2"))):
        tag = "yg%d" % os.getpid()
        self.a, self.b = tag + "a", tag + "b"
        self.b_addrs, self.a_routes = b_addrs, a_routes
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
        ]
        for prefix, via in self.a_routes:
            cmds.append(["ip", "-n", self.a, "route", "add", prefix, "via", via])
        for addr in self.b_addrs:
            cmds.append(["ip", "-n", self.b, "addr", "add", addr, "dev", "lo"] +
                        (["nodad"] if ":" in addr else []))
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
        self.made = []


# ------------------------------------------------------- BIRD and GoBGP ---

BGP_PROGRAMS = ("bird", "birdc", "gobgpd", "gobgp")

# GoBGP in namespace b (AS 65002) peering with BIRD in a at 192.0.2.1.
GOBGP_TOML = """[global.config]
  as = %(as)d
  router-id = "192.0.2.2"
  port = 179
  local-address-list = ["192.0.2.2"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "192.0.2.1"
    peer-as = %(peer_as)d
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


class BgpPair:
    """BIRD in namespace a with bird_conf (AS as_a, neighbor 192.0.2.2) and
    gobgpd in b (AS as_b, neighbor 192.0.2.1), their logs in d."""

    def __init__(self, net, d, bird_conf, as_a=65001, as_b=65002):
        self.net, self.d, self.conf = net, d, bird_conf
        os.makedirs(d, exist_ok=True)
        self.toml = os.path.join(d, "gobgp.toml")
        with open(self.toml, "w") as f:
            f.write(GOBGP_TOML % {"as": as_b, "peer_as": as_a})
        self.sock = os.path.join(d, "bird.ctl")
        self.procs, self.logs = [], []

    def check_gobgp_conf(self):
        return sh(["gobgpd", "-d", "-f", self.toml])

    def start(self):
        blog = open(os.path.join(self.d, "bird.log"), "w")
        glog = open(os.path.join(self.d, "gobgpd.log"), "w")
        self.logs = [blog, glog]
        self.procs.append(self.net.popen(self.net.b, [
            "gobgpd", "-f", self.toml, "-p", "--api-hosts", "127.0.0.1:50051",
            "--pprof-disable"], glog))
        self.procs.append(self.net.popen(self.net.a, [
            "bird", "-f", "-c", self.conf, "-s", self.sock, "-P",
            os.path.join(self.d, "bird.pid")], blog))

    def gobgp(self, args):
        return self.net.run(self.net.b, ["gobgp", "-u", "127.0.0.1", "-p", "50051"] + args)

    def established(self):
        rc, out = self.gobgp(["neighbor", "192.0.2.1"])
        return rc == 0 and "bgp state = established" in out.lower()

    def rib(self, family):
        """(GoBGP's RIB for family as JSON or None, the raw output)."""
        rc, out = self.gobgp(["global", "rib", "-a", family, "-j"])
        if rc != 0:
            return None, out
        try:
            return json.loads(out or "{}"), out
        except ValueError:
            return None, out

    def route(self, family, prefix):
        """The attributes of GoBGP's best path to prefix, or None."""
        return path_attrs(self.rib(family)[0], prefix)

    def birdc(self, *args):
        return self.net.run(self.net.a, ["birdc", "-s", self.sock] + list(args))

    def configure(self):
        """birdc configure: (exit code, output)."""
        return self.birdc("configure")

    def stop(self):
        for p in self.procs:
            stop(p)
        for f in self.logs:
            f.close()
        self.procs, self.logs = [], []
