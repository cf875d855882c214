"""`yagura case` against a running tower: an analyst proposes a case and
one from a ranked source, an overseer approves and another rejects, the
tower activates, the analyst revokes; list and show print what the API
holds; a never-block target is refused with the reason printed and exit
2; a decision without --reason, or a bad id, is a usage error (1).
`yagura monitoring` the same way for monitoring authorizations: proposed
and approved from the terminal, listed, asked for by the sensor itself,
revoked."""
import json
import os
import subprocess
import tempfile
import time

import common
from towerlib import Tower


def main():
    a = common.parse_args()
    t = common.Checker("case_cli")
    y = a.yagura
    with tempfile.TemporaryDirectory() as d:
        conf = os.path.join(d, "t.conf")
        with open(conf, "w") as f:
            f.write("[cases]\nlab_allow = 198.51.100.0/24\n")
        tw = Tower(y, os.path.join(d, "t.db"), d, extra=["--config", conf])
        url = "http://127.0.0.1:%d" % tw.port
        toks = {}
        for name, role in (("an", "analyst"), ("ov", "overseer"), ("ov2", "overseer"),
                           ("s", "sensor")):
            toks[name] = tw.token_for(name, role, os.path.join(d, name + ".token"))
        alerts = [{"alert_id": "x%d" % i, "timestamp": "2026-12-01T00:00:00.000000+0000",
                   "src_ip": "198.51.100.9", "dest_ip": "10.0.0.1",
                   "alert": {"signature_id": 9100001, "severity": 1}} for i in range(3)]
        st, _, _ = tw.call("POST", "/api/v1/alerts", {"alerts": alerts}, toks["s"])
        for _ in range(100):
            st, src, _ = tw.call("GET", "/api/v1/sources", token=toks["an"])
            if src.get("pending_alerts") == 0:
                break
            time.sleep(0.1)

        def case(who, *args):
            p = subprocess.run([y, "case", "--tower", url, "--token-file",
                                os.path.join(d, who + ".token")] + list(args),
                               capture_output=True, text=True, timeout=60)
            out = json.loads(p.stdout) if p.returncode == 0 and p.stdout.startswith("{") else None
            return p.returncode, out, p.stdout, p.stderr

        rc, out, _, err = case("an", "propose", "--target", "198.51.100.7", "--action", "rtbh",
                               "--justification", "C2 server", "--duration", "12h",
                               "--evidence", "source:198.51.100.9")
        t.check(rc == 0 and out["case"]["state"] == "proposed" and
                out["case"]["evidence"] == ["source:198.51.100.9"],
                "propose: %d %s %s" % (rc, out, err))
        cid = out["case"]["id"] if out else 0
        rc, out, _, err = case("an", "from-source", "198.51.100.9", "--action", "blocklist",
                               "--justification", "scanning the grid", "--duration", "1d")
        t.check(rc == 0 and len(out["case"]["evidence"]) == 4,
                "from-source: %d %s %s" % (rc, out, err))
        fid = out["case"]["id"] if out else 0
        rc, _, _, err = case("an", "propose", "--target", "1.1.1.1", "--action", "rtbh",
                             "--justification", "x", "--duration", "1h")
        t.check(rc == 2 and "never-block" in err and "Cloudflare" in err,
                "a never-block target: %d %r" % (rc, err))
        rc, _, _, err = case("an", "approve", str(cid), "--reason", "mine")
        t.check(rc == 2 and "role" in err, "an analyst approving: %d %r" % (rc, err))
        rc, _, _, err = case("ov", "approve", str(cid))
        t.check(rc == 1 and "--reason" in err, "a decision without a reason: %d %r" % (rc, err))
        rc, _, _, err = case("ov", "approve", "7; rm", "--reason", "x")
        t.check(rc == 1, "a bad id: %d %r" % (rc, err))
        rc, out, _, err = case("ov", "approve", str(cid), "--reason", "C2 confirmed")
        t.check(rc == 0 and out["case"]["state"] in ("approved", "active"),
                "approve: %d %s %s" % (rc, out, err))
        rc, out, _, err = case("ov2", "reject", str(fid), "--reason", "scanning alone is not enough")
        t.check(rc == 0 and out["case"]["state"] == "rejected", "reject: %d %s" % (rc, err))
        for _ in range(50):
            rc, out, _, err = case("ov", "show", str(cid))
            if out and out["case"]["state"] == "active":
                break
            time.sleep(0.2)
        t.check(rc == 0 and out["case"]["state"] == "active" and
                [x["decision"] for x in out["case"]["decisions"]] == ["approve", "activate"],
                "show: active: %d %s" % (rc, out))
        rc, _, text, err = case("ov", "list")
        lines = text.splitlines()
        t.check(rc == 0 and lines[0].split()[:4] == ["id", "state", "action", "target"] and
                lines[1].split()[:4] == [str(fid), "rejected", "blocklist", "198.51.100.9"] and
                lines[2].split()[:5] == [str(cid), "active", "rtbh", "198.51.100.7", "1/1"],
                "list: %d %r %r" % (rc, text, err))
        rc, _, text, err = case("ov", "list", "--state", "rejected")
        t.check(rc == 0 and len(text.splitlines()) == 2, "list --state: %d %r" % (rc, text))
        rc, out, _, err = case("an", "revoke", str(cid), "--reason", "host cleaned")
        t.check(rc == 0 and out["case"]["state"] == "revoked", "revoke: %d %s" % (rc, err))
        rc, _, _, err = case("an", "list", "--state", "sideways")
        t.check(rc == 2, "list --state sideways: %d %r" % (rc, err))
        p = subprocess.run([y, "oversight", "summary", "--year", str(time.gmtime().tm_year),
                            "--tower", url, "--token-file", os.path.join(d, "ov.token")],
                           capture_output=True, text=True, timeout=60)
        s = json.loads(p.stdout) if p.returncode == 0 else {}
        t.check(p.returncode == 0 and s["cases"]["proposed"]["total"] == 2 and
                s["cases"]["approved"]["by_action"]["rtbh"] == 1 and
                s["cases"]["rejected"]["by_action"]["blocklist"] == 1,
                "oversight summary: %d %s %s" % (p.returncode, p.stdout, p.stderr))
        p = subprocess.run([y, "oversight", "summary", "--year", "last"], capture_output=True,
                           text=True, timeout=60)
        t.check(p.returncode == 1, "oversight summary --year last: %d" % p.returncode)

        def mon(who, *args):
            p = subprocess.run([y, "monitoring", "--tower", url, "--token-file",
                                os.path.join(d, who + ".token")] + list(args),
                               capture_output=True, text=True, timeout=60)
            out = json.loads(p.stdout) if p.returncode == 0 and p.stdout.startswith("{") else None
            return p.returncode, out, p.stdout, p.stderr

        until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
        rc, out, _, err = mon("an", "propose", "--sensor", "s", "--prefix", "10.1.0.0/16",
                              "--prefix", "2001:db8:1::/48", "--vlan", "300", "--purpose",
                              "beaconing on the grid operator's uplink", "--until", until)
        a_ = out["authorization"] if out else {}
        t.check(rc == 0 and a_.get("state") == "proposed" and
                a_.get("prefixes") == ["10.1.0.0/16", "2001:db8:1::/48"] and
                a_.get("vlans") == [300], "monitoring propose: %d %s %s" % (rc, out, err))
        mid = a_.get("id", 0)
        rc, _, _, err = mon("an", "propose", "--sensor", "s", "--prefix", "10.1.0.1/16",
                            "--purpose", "x", "--until", until)
        t.check(rc == 2 and "prefixes[0]" in err and "host bits" in err,
                "monitoring propose, a prefix with host bits: %d %r" % (rc, err))
        rc, _, _, err = mon("an", "propose", "--sensor", "s", "--vlan", "5000", "--purpose", "x",
                            "--until", until)
        t.check(rc == 1 and "--vlan" in err, "monitoring propose --vlan 5000: %d %r" % (rc, err))
        rc, _, _, err = mon("ov", "approve", str(mid))
        t.check(rc == 1 and "--reason" in err, "monitoring approve without --reason: %d" % rc)
        rc, out, _, err = mon("ov", "approve", str(mid), "--reason", "proportionate")
        t.check(rc == 0 and out["authorization"]["state"] in ("approved", "active"),
                "monitoring approve: %d %s %s" % (rc, out, err))
        for _ in range(50):
            rc, out, _, err = mon("s", "active")
            if out and out["authorizations"]:
                break
            time.sleep(0.2)
        t.check(rc == 0 and [x["id"] for x in out["authorizations"]] == [mid] and
                out["sensor"] == "s", "monitoring active, as the sensor: %d %s %s" % (rc, out, err))
        rc, _, text, err = mon("ov", "list", "--sensor", "s")
        lines = text.splitlines()
        t.check(rc == 0 and lines[0].split()[:3] == ["id", "state", "sensor"] and
                lines[1].split()[:4] == [str(mid), "active", "s", "1/1"] and
                "10.1.0.0/16 2001:db8:1::/48 vlan 300" in lines[1],
                "monitoring list: %d %r %r" % (rc, text, err))
        rc, out, _, err = mon("ov", "revoke", str(mid), "--reason", "no longer needed")
        t.check(rc == 0 and out["authorization"]["state"] == "revoked",
                "monitoring revoke: %d %s" % (rc, err))
        rc, out, _, err = mon("an", "active", "--sensor", "s")
        t.check(rc == 0 and out["authorizations"] == [],
                "monitoring active after revocation: %d %s %s" % (rc, out, err))
        rc = tw.stop()
        t.check(rc == 0, "tower exit %d" % rc)
    t.finish()


main()
