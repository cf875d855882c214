"""The terminal commands against a running tower: `yagura admin` sets up
an organisation, an operator and its token; `yagura report` files,
updates, closes, lists and shows an incident report; refusals print each
bad field."""
import json
import os
import sqlite3
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
        aenv = dict(os.environ, YAGURA_TOWER="http://127.0.0.1:%d" % tw.port, YAGURA_TOKEN=A)

        def admin(*args):
            p = subprocess.run([y, "admin"] + list(args), capture_output=True, text=True, env=aenv)
            return p.returncode, (json.loads(p.stdout) if p.returncode == 0 and p.stdout else None), p.stderr

        rc, org, err = admin("org", "add", "Kansai Rail", "railways")
        t.check(rc == 0 and org["sector"] == "railways", "admin org add: %d %s" % (rc, err))
        for evil in ("Kansai\x1b[2JRail", "Line\nforged", "Bell\x07"):
            rc, _, err = admin("org", "add", evil, "railways")
            t.check(rc == 2 and "control" in err, "org name %r refused: %d %r" % (evil, rc, err))
            rc, _, err = admin("user", "add", evil, "analyst")
            t.check(rc == 2 and "control" in err, "user name %r refused: %d %r" % (evil, rc, err))
        rc, _, err = admin("org", "add", "Nowhere", "space")
        t.check(rc == 2 and "sector" in err, "admin org add with a bad sector: %d %r" % (rc, err))
        rc, u, err = admin("user", "add", "op", "operator", "--org", str(org["id"]))
        t.check(rc == 0 and u["role"] == "operator", "admin user add: %d %s" % (rc, err))
        rc, reg, err = admin("user", "add", "mlit", "regulator", "--sectors", "railways,ports")
        t.check(rc == 0, "admin user add regulator: %d %s" % (rc, err))
        rc, tk, err = admin("token", "add", str(u["id"]), "--days", "30")
        t.check(rc == 0 and tk["token"].startswith("ygt_"), "admin token add: %d %s" % (rc, err))
        rc, tk2, err = admin("token", "add", str(reg["id"]))
        rc, _, err = admin("token", "revoke", str(tk2["id"]))
        t.check(rc == 0, "admin token revoke: %d %s" % (rc, err))
        rc, lst, err = admin("org", "list")
        t.check(rc == 0 and [o["name"] for o in lst["orgs"]] == ["Kansai Rail"], "admin org list")
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
        # A stage with a quote used to be pasted into the body as JSON text;
        # an id with a slash into the path.
        p = rep("update", str(rid), 'detailed","stage":"final', detailed)
        t.check(p.returncode == 2 and "stage" in p.stderr, "odd stage refused by the tower: %d %r" %
                (p.returncode, p.stderr))
        for bad_id in ("1/../../orgs", "x"):
            p = rep("update", bad_id, "detailed", detailed)
            t.check(p.returncode == 1 and "not a report id" in p.stderr, "id %r: %r" % (bad_id, p.stderr))
            p = rep("show", bad_id)
            t.check(p.returncode == 1 and "not a report id" in p.stderr, "show %r: %r" % (bad_id, p.stderr))
        p = rep("update", str(rid), "detailed", detailed)
        t.check(p.returncode == 0 and json.loads(p.stdout)["version"] == 2, "update: %r" % p.stderr)
        p = rep("list")
        t.check(p.returncode == 0 and "Kansai Rail" in p.stdout and "detailed" in p.stdout,
                "list: %r" % p.stdout)
        # A name stored before names were checked never reaches the
        # terminal raw.
        db = sqlite3.connect(os.path.join(d, "t.db"), timeout=10)
        db.execute("UPDATE orgs SET name = ? WHERE id = ?", ("Kansai\x1b[2J\rRail", org["id"]))
        db.commit()
        db.close()
        p = rep("list")
        t.check(p.returncode == 0 and "\x1b" not in p.stdout and "\r" not in p.stdout and
                "Kansai?[2J?Rail" in p.stdout, "list shows no control bytes: %r" % p.stdout)
        # A page at a time: the tower's page used to end the list silently.
        for i in range(2):
            t.check(rep("file", prompt).returncode == 0, "file another report")

        def ids(p):
            return [int(ln.split()[0]) for ln in p.stdout.splitlines()[1:]]

        p = rep("list")
        every = ids(p)
        t.check(p.returncode == 0 and len(every) == 3 and every == sorted(every, reverse=True) and
                p.stderr == "", "list: every report, newest first, nothing on stderr: %r" % p.stdout)
        p = rep("list", "--limit", "2")
        t.check(p.returncode == 0 and ids(p) == every[:2] and len(p.stderr.splitlines()) == 1 and
                "--before %d" % every[1] in p.stderr and "--all" in p.stderr,
                "list --limit 2: a page and the next page's cursor: %r %r" % (p.stdout, p.stderr))
        p = rep("list", "--limit", "2", "--before", str(every[1]))
        t.check(p.returncode == 0 and ids(p) == every[2:] and p.stderr == "",
                "list --before: the last page: %r %r" % (p.stdout, p.stderr))
        p = rep("list", "--all", "--limit", "1")
        t.check(p.returncode == 0 and ids(p) == every and p.stderr == "",
                "list --all: every report once: %r %r" % (p.stdout, p.stderr))
        late = [int(ln.split()[0]) for ln in rep("list").stdout.splitlines()[1:]
                if ln.split()[-1] == "yes"]
        p = rep("list", "--overdue", "--limit", "1", "--all")
        t.check(p.returncode == 0 and ids(p) == late and late,
                "list --overdue --all: the overdue ones: %r, wanted %r" % (p.stdout, late))
        p = rep("show", str(rid), "--limit", "2")
        t.check(p.returncode == 1 and "list" in p.stderr, "--limit is for list: %r" % p.stderr)
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
