"""`yagura case` against a running tower: an analyst proposes a case and
one from a ranked source, an overseer approves and another rejects, the
tower activates, the analyst revokes; list and show print what the API
holds; a never-block target is refused with the reason printed and exit
2; a decision without --reason, or a bad id, is a usage error (1)."""
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
        rc = tw.stop()
        t.check(rc == 0, "tower exit %d" % rc)
    t.finish()


main()
