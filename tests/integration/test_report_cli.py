"""`yagura report` at a terminal: file, update, close, list and show an
incident report against a running tower; refusals print each bad field."""
import json
import os
import subprocess
import tempfile

import common
from towerlib import Tower


def main():
    a = common.parse_args()
    t = common.Checker("report_cli")
    y = a.yagura
    with tempfile.TemporaryDirectory() as d:
        tw = Tower(y, os.path.join(d, "t.db"), d)
        A = tw.admin
        st, org, _ = tw.call("POST", "/api/v1/orgs", {"name": "Kansai Rail", "sector": "railways"}, A)
        st, u, _ = tw.call("POST", "/api/v1/users", {"name": "op", "role": "operator",
                                                      "org_id": org["id"]}, A)
        st, tk, _ = tw.call("POST", "/api/v1/tokens", {"user_id": u["id"]}, A)
        env = dict(os.environ, YAGURA_TOWER="http://127.0.0.1:%d" % tw.port, YAGURA_TOKEN=tk["token"])

        def rep(*args, stdin=None):
            return subprocess.run([y, "report"] + list(args), capture_output=True, text=True,
                                  env=env, input=stdin)

        prompt = os.path.join(d, "prompt.json")
        with open(prompt, "w") as f:
            json.dump({"category": "ransomware", "summary": "ticketing servers encrypted",
                       "detected_at": "2026-11-22T06:00:00+09:00", "severity": "critical",
                       "category_details": {"family": "LockBit", "encrypted_systems": 12}}, f)
        p = rep("file", prompt, "--idempotency-key", "inc-1")
        t.check(p.returncode == 0, "file: %d %s" % (p.returncode, p.stderr))
        rid = json.loads(p.stdout)["id"]
        p = rep("file", prompt, "--idempotency-key", "inc-1")
        t.check(p.returncode == 0 and json.loads(p.stdout)["id"] == rid, "retry files once")
        bad = os.path.join(d, "bad.json")
        with open(bad, "w") as f:
            json.dump({"category": "ransomware", "severity": "apocalyptic"}, f)
        p = rep("file", bad)
        t.check(p.returncode == 2 and "severity:" in p.stderr and "summary: is required" in p.stderr,
                "refusal names the fields: %d %r" % (p.returncode, p.stderr))
        with open(os.path.join(d, "broken.json"), "w") as f:
            f.write("{ not json")
        p = rep("file", os.path.join(d, "broken.json"))
        t.check(p.returncode == 2 and "broken.json" in p.stderr, "broken file: %r" % p.stderr)
        detailed = os.path.join(d, "detailed.json")
        with open(detailed, "w") as f:
            json.dump({"category": "ransomware", "summary": "ticketing servers encrypted",
                       "detected_at": "2026-11-22T06:00:00+09:00", "severity": "critical",
                       "affected_computers": [{"description": "ticket gate controllers"}],
                       "technical_details": {"attack_vector": "VPN appliance",
                                             "indicators": {"addresses": ["198.51.100.7"]}}}, f)
        p = rep("update", str(rid), "detailed", detailed)
        t.check(p.returncode == 0 and json.loads(p.stdout)["version"] == 2, "update: %r" % p.stderr)
        p = rep("list")
        t.check(p.returncode == 0 and "Kansai Rail" in p.stdout and "detailed" in p.stdout,
                "list: %r" % p.stdout)
        p = rep("show", str(rid))
        shown = json.loads(p.stdout) if p.returncode == 0 else {}
        t.check(len(shown.get("versions", [])) == 2, "show: %r" % p.stdout[:200])
        p = rep("close", str(rid))
        t.check(p.returncode == 2 and "final" in p.stderr, "close before final refused: %r" % p.stderr)
        p = rep("show", "99999")
        t.check(p.returncode == 2, "unknown report: %d" % p.returncode)
        tw.stop()
        p = rep("list")
        t.check(p.returncode == 3 and "cannot reach" in p.stderr, "tower down: %d" % p.returncode)
        p = subprocess.run([y, "report", "list"], capture_output=True, text=True,
                           env={k: v for k, v in env.items() if k != "YAGURA_TOKEN"})
        t.check(p.returncode == 1 and "token" in p.stderr, "no token: %d" % p.returncode)
    t.finish()


main()
