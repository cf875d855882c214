"""Issue 13's end-to-end run, on a real capture and real programs.

A sensor analyzes an SSH brute-force capture from ../shared/data and posts
its alerts to a tower (SQLite). An analyst takes the top ranked source and
proposes two cases from it: a null route (rtbh) for the address, and a
sinkhole for a domain of the campaign with the source as evidence. One
overseer approves each. The tower activates them and writes the
countermeasure files; the test, as an operator's hook would, reloads BIND
(`rndc reload`) and BIRD (`birdc configure`) when they change. BIND on a
loopback port answers the domain with the sinkhole, and GoBGP, BIRD's eBGP
peer across a veth pair between two network namespaces, holds the
blackhole route with community 65535:666. Nobody calls the API again: the
cases expire on time, the tower rewrites the files, and after the reloads
BIND answers the domain's real address and GoBGP has withdrawn the route.
`yagura audit verify` then finds the log whole, and the log holds each
case's proposal, approval, activation and expiry.

The capture's attacker is in 240.0.0.0/4, which the never-block list
holds (RFC 6890: reserved): [cases] lab_allow names that one address, and
so takes exactly that default entry out.

Exits 77 (skipped), saying why, without ../shared/data, BIND, BIRD or
GoBGP, or where network namespaces cannot be made."""
import csv
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

import common
from realtools import (BGP_PROGRAMS, BIND_PROGRAMS, BLACKHOLE, BgpPair, Named, Netns,
                       communities, missing, netns_usable, sh, wait_for)
from towerlib import authorize, Tower

CAPTURE = "traceshare__ncrack-paranoid.pcap"
DOMAIN, DOMAIN_ADDR = "c2.attacker.example", "203.0.113.80"
SINKHOLE, SINKHOLE_ADDR = "sinkhole.yagura.test", "192.0.2.53"
RPZ = "rpz.yagura.local"
NEXT_HOP = "192.0.2.66"
# Seconds each case lasts once active: long enough for a loaded machine to
# see both countermeasures in place before they expire.
LIFE = 30

ZONE_ATTACKER = """$TTL 60
@ IN SOA ns.attacker.example. hostmaster.attacker.example. 1 60 60 600 60
@ IN NS ns.attacker.example.
ns IN A 127.0.0.1
c2 IN A %s
""" % DOMAIN_ADDR
ZONE_SINK = """$TTL 60
@ IN SOA ns.yagura.test. hostmaster.yagura.test. 1 60 60 600 60
@ IN NS ns.yagura.test.
ns IN A 127.0.0.1
sinkhole IN A %s
""" % SINKHOLE_ADDR


def skip(why):
    print("skipped: %s" % why)
    sys.exit(common.SKIP)


def attacker_of(pcaps):
    """The capture and its attacker as the manifest's annotation names them."""
    with open(os.path.join(pcaps, "MANIFEST.tsv"), newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row["file"] == CAPTURE:
                m = re.search(r"attacker (\S+) ->", row["ground_truth"])
                if row["category"] == "bruteforce" and m:
                    return os.path.join(pcaps, CAPTURE), m.group(1)
    skip("%s with its attacker is not in %s/MANIFEST.tsv" % (CAPTURE, pcaps))


def parse_time(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=timezone.utc).timestamp()


def write_config(d, attacker, keyfile, cmdir):
    path = os.path.join(d, "tower.conf")
    with open(path, "w") as f:
        f.write("[log]\nkey = %s\n\n"
                "[cases]\nmin_duration = 2s\nlab_allow = %s\n\n"
                "[countermeasures]\ndir = %s\nrpz_zone = %s\nsinkhole = %s\n"
                "bgp_local_as = 65001\nbgp_router_id = 192.0.2.1\n"
                "bgp_neighbor = 192.0.2.2\nbgp_neighbor_as = 65002\n"
                "rtbh_next_hop4 = %s\n" % (keyfile, attacker, cmdir, RPZ, SINKHOLE, NEXT_HOP))
    return path


class Follower:
    """An operator's hook: runs reload once the file's content changes."""

    def __init__(self, path, reload):
        self.path, self.reload = path, reload
        self.seen = self.read()
        self.failures = []

    def read(self):
        with open(self.path) as f:
            return f.read()

    def poll(self):
        text = self.read()
        if text != self.seen:
            rc, out = self.reload()
            if rc != 0:
                self.failures.append(out)
            self.seen = text
        return text


def reconfigure(bgp):
    """birdc configure, failed unless BIRD says it took the new file
    (birdc exits 0 on a configuration error too)."""
    rc, out = bgp.configure()
    return (rc if rc != 0 or "Reconfigured" in out else 1), out


def run(t, a, d, cap, attacker, net):
    keyfile = os.path.join(d, "log-key")
    cmdir = os.path.join(d, "cm")
    os.makedirs(cmdir)
    conf = write_config(d, attacker, keyfile, cmdir)
    tw = Tower(a.yagura, os.path.join(d, "tower.db"), d, extra=["--config", conf],
               init_extra=["--log-key", keyfile])
    bgp = named = None
    try:
        sensor_tok = os.path.join(d, "sensor.token")
        sensor_token = tw.token_for("sensor1", "sensor", sensor_tok)
        analyst = tw.token_for("analyst1", "analyst")
        overseer = tw.token_for("overseer1", "overseer")
        auditor = tw.token_for("auditor1", "auditor")
        # analyze --post analyses only what an approved monitoring
        # authorization covers (issue 13): here, everything.
        if authorize(tw, "sensor1", sensor_token=sensor_token) is None:
            skip("this tower has no monitoring authorizations, which analyze --post needs")

        # The tower writes the files at start, with no case: BIND and BIRD
        # load them as they are, and the BGP session comes up while the
        # sensor works.
        rpz, bird = os.path.join(cmdir, "rpz.zone"), os.path.join(cmdir, "bird.conf")
        t.check(os.path.exists(rpz) and os.path.exists(bird),
                "the tower wrote rpz.zone and bird.conf at start: %s" % os.listdir(cmdir))
        rc, out = sh(["bird", "-p", "-c", bird])
        t.check(rc == 0, "bird -p accepts the tower's bird.conf: %s" % out)
        bgp = BgpPair(net, os.path.join(d, "bgp"), bird, as_a=65001, as_b=65002)
        router = Follower(bird, lambda: reconfigure(bgp))
        bgp.start()
        named = Named(os.path.join(d, "bind"), RPZ, rpz,
                      {"attacker.example": ZONE_ATTACKER, "yagura.test": ZONE_SINK})
        zone = Follower(rpz, named.reload)
        named.start()

        # 1. The sensor analyzes the capture and posts its alerts.
        p = subprocess.run([a.yagura, "analyze", "--post", "http://127.0.0.1:%d" % tw.port,
                            "--token-file", sensor_tok, "--spool", os.path.join(d, "spool"),
                            "--post-wait", "30", "-o", os.devnull, cap],
                           capture_output=True, text=True, timeout=120)
        t.check(p.returncode == 0 and "0 left" in p.stderr,
                "analyze --post: exit %d: %s" % (p.returncode, p.stderr[-400:]))

        # 2. The analyst reads the ranking once the tower has taken it all in.
        body = {}
        for _ in range(150):
            st, body, _ = tw.call("GET", "/api/v1/sources", token=analyst)
            if st == 200 and body.get("pending_alerts") == 0 and body.get("sources"):
                break
            time.sleep(0.2)
        sources = body.get("sources") or [{}]
        top = sources[0].get("ip")
        t.check(top == attacker, "the top ranked source is the manifest's attacker %s: %s" %
                (attacker, sources[:3]))
        if top != attacker:
            return

        # Both real programs are up before any case exists.
        t.check(wait_for(lambda: named.dig(DOMAIN) == [DOMAIN_ADDR], timeout=30),
                "BIND answers %s with its address before any case: %s\n%s" %
                (DOMAIN, named.dig(DOMAIN), named.logtail()))
        up = wait_for(bgp.established, timeout=30, step=0.5)
        t.check(up, "the BGP session between BIRD and GoBGP comes up: %s" %
                bgp.birdc("show", "protocols", "all", "yagura_peer")[1])
        if not up:
            return
        prefix = attacker + "/32"
        t.check(bgp.route("ipv4", prefix) is None, "GoBGP holds no route to %s yet" % prefix)

        # 3. Two cases from the top source, each approved by one overseer.
        life = "%ds" % LIFE
        st, body, _ = tw.call("POST", "/api/v1/sources/%s/case" % attacker,
                              {"action": "rtbh", "duration": life,
                               "justification": "SSH dictionary attack on our servers"},
                              analyst)
        rtbh = body.get("case", {}) if isinstance(body, dict) else {}
        t.check(st == 201 and rtbh.get("target") == attacker and
                "source:%s" % attacker in rtbh.get("evidence", []) and
                any(e.startswith("alert:") for e in rtbh.get("evidence", [])) and
                rtbh.get("approvals_needed") == 1,
                "an rtbh case from the top source: %s %s" % (st, body))
        st, body, _ = tw.call("POST", "/api/v1/cases",
                              {"action": "sinkhole", "target": DOMAIN, "duration": life,
                               "justification": "the attacker's C2 domain",
                               "evidence": ["source:%s" % attacker]}, analyst)
        sink = body.get("case", {}) if isinstance(body, dict) else {}
        t.check(st == 201 and sink.get("target") == DOMAIN and
                sink.get("approvals_needed") == 1,
                "a sinkhole case with the source as evidence: %s %s" % (st, body))
        ids = {"rtbh": rtbh.get("id", 0), "sinkhole": sink.get("id", 0)}
        for action, cid in ids.items():
            st, body, _ = tw.call("POST", "/api/v1/cases/%d/approve" % cid,
                                  {"reason": "evidence of the brute force reviewed"}, overseer)
            t.check(st == 200 and body["case"]["state"] in ("approved", "active"),
                    "%s case %d approved by one overseer: %s %s" % (action, cid, st, body))

        def case(cid):
            st, body, _ = tw.call("GET", "/api/v1/cases/%d" % cid, token=auditor)
            return body.get("case", {}) if st == 200 else {}

        active = {}
        for action, cid in ids.items():
            c = wait_for(lambda: case(cid).get("state") == "active" and case(cid), timeout=20)
            t.check(bool(c), "%s case %d active by the tower: %s" % (action, cid, case(cid)))
            active[action] = c or case(cid)

        # 4. The hook reloads BIND and BIRD as the files change.
        def sinkholed():
            zone.poll()
            return named.dig(DOMAIN) == [SINKHOLE + ".", SINKHOLE_ADDR]

        def routed():
            router.poll()
            return bgp.route("ipv4", prefix)

        t.check(wait_for(sinkholed, timeout=15),
                "BIND answers %s with the sinkhole: %s\n%s" %
                (DOMAIN, named.dig(DOMAIN), zone.seen))
        attrs = wait_for(routed, timeout=15)
        t.check(attrs is not None and BLACKHOLE in communities(attrs) and
                any(x.get("nexthop") == NEXT_HOP for x in attrs),
                "GoBGP holds the blackhole route %s with 65535:666 via %s: %s\n%s" %
                (prefix, NEXT_HOP, attrs, router.seen))

        # 5. Nobody acts: the cases expire, the tower rewrites the files, the
        # hook reloads, and both countermeasures are gone.
        end = max(parse_time(c["expires"]) for c in active.values() if c.get("expires"))
        t.check(time.time() < end, "the countermeasures were seen before expiry (%.1f s left)"
                % (end - time.time()))
        wait = max(end - time.time(), 0) + 20
        t.check(wait_for(lambda: not sinkholed(), timeout=wait),
                "after expiry BIND answers %s normally again: %s" % (DOMAIN, named.dig(DOMAIN)))
        t.check(named.dig(DOMAIN) == [DOMAIN_ADDR], "%s answers %s" % (DOMAIN, DOMAIN_ADDR))
        t.check(wait_for(lambda: routed() is None, timeout=max(end - time.time(), 0) + 20),
                "after expiry the blackhole route is withdrawn: %s" % bgp.rib("ipv4")[1])
        t.check(not zone.failures and not router.failures,
                "the reloads succeeded: %s %s" % (zone.failures, router.failures))
        for action, cid in ids.items():
            c = case(cid)
            late = (parse_time(c["ended"]) - parse_time(c["expires"])
                    if c.get("ended") and c.get("expires") else None)
            t.check(c.get("state") == "expired" and late is not None and 0 <= late < 5 and
                    [x["decision"] for x in c.get("decisions", [])] ==
                    ["approve", "activate", "expire"] and
                    all(x["by"] == "server" for x in c["decisions"][1:]),
                    "%s case %d expired on time by the tower (%s s late): %s" %
                    (action, cid, late, c))

        # 6. The record: each case's steps in the log, and the log whole.
        want = ("case.propose", "case.approve", "case.activate", "case.expire")
        kinds = log_kinds(tw, auditor, ids.values(), want)
        for action, cid in ids.items():
            t.check(kinds.get(cid) == list(want),
                    "the log holds %s case %d's %s: %s" % (action, cid, ", ".join(want),
                                                          kinds.get(cid)))
        st, vkey, _ = tw.call("GET", "/log/key")
        p = subprocess.run([a.yagura, "audit", "verify", "--store", tw.store,
                            "--key", vkey.strip()], capture_output=True, text=True, timeout=120)
        t.check(p.returncode == 0, "audit verify: exit %d\n%s%s" %
                (p.returncode, p.stdout[-1000:], p.stderr[-1000:]))
        st, m, _ = tw.call("GET", "/metrics")
        t.check("yagura_cases_never_block_narrowed 1\n" in m,
                "lab_allow took out exactly one never-block entry (/metrics)")
        # 7. The committee's year: these two cases, proposed, approved, expired.
        st, s, _ = tw.call("GET", "/api/v1/oversight/summary?year=%d" % time.gmtime().tm_year,
                           token=auditor)
        got = {k: (s["cases"][k]["total"], s["cases"][k]["by_action"]["rtbh"],
                   s["cases"][k]["by_action"]["sinkhole"])
               for k in ("proposed", "approved", "activated", "expired", "revoked")} \
            if st == 200 else s
        t.check(got == {"proposed": (2, 1, 1), "approved": (2, 1, 1), "activated": (2, 1, 1),
                        "expired": (2, 1, 1), "revoked": (0, 0, 0)},
                "the oversight summary counts both cases proposed, approved and expired: %s" %
                (got,))
    finally:
        for proc in (named, bgp):
            if proc is not None:
                proc.stop()
        rc = tw.stop()
        t.check(rc == 0, "tower exit %d on SIGTERM" % rc)


def log_kinds(tw, tok, ids, want):
    """{case id: the kinds of its case.* log entries in order}, read through
    /api/v1/log/inclusion once each case's last step is in a checkpoint."""
    ids = set(ids)
    kinds = {}
    deadline = time.time() + 20
    while True:
        st, note, _ = tw.call("POST", "/api/v1/log/checkpoint", b"", tok)
        size = int(note.split("\n")[1]) if st == 200 else 0
        kinds = {}
        for i in range(size):
            st, inc, _ = tw.call("GET", "/api/v1/log/inclusion?index=%d&size=%d" % (i, size),
                                 token=tok)
            lines = inc.get("entry", "").split("\n") if st == 200 else []
            if len(lines) > 2 and lines[1].startswith("kind case."):
                m = re.match(r"id (\d+)", lines[2])
                if m and int(m.group(1)) in ids:
                    kinds.setdefault(int(m.group(1)), []).append(lines[1][5:])
        if all(kinds.get(i, [])[-1:] == [want[-1]] for i in ids) or time.time() > deadline:
            return kinds
        time.sleep(0.5)


def main():
    a = common.parse_args()
    cap, attacker = attacker_of(common.shared_pcaps(a.shared))
    gone = missing(*(BIND_PROGRAMS + BGP_PROGRAMS))
    if gone:
        skip("%s not installed (Debian packages bind9, bind9-dnsutils, bird2, gobgpd)" %
             ", ".join(gone))
    why = netns_usable()
    if why:
        skip(why)
    t = common.Checker("oversight_e2e")
    with tempfile.TemporaryDirectory(prefix="yg-e2e-") as d:
        net = Netns(b_addrs=(), a_routes=())
        try:
            net.up()
            run(t, a, d, cap, attacker, net)
        finally:
            net.down()
    t.finish()


main()
