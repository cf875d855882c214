"""`yagura asset` and `yagura alerts` against a running tower (SQLite):
an operator registers assets with their addresses and a bad address is
one line naming it; the alerts a sensor posted are listed as a table or
JSON lines, filtered; every list shows one page and says on stderr how to
get the next, and --all gives each row exactly once; nothing stored
reaches the terminal as a raw control character."""
import json
import os
import sqlite3
import subprocess
import tempfile
import types

import common
from towerlib import Tower

CONTROL = ("\x1b", "\x07", "\r", "\x7f", "\x9b")


def alert(aid, src, dst, sid=9100001, ts="2026-11-23T00:00:00.000000+0000", sig=None, **kw):
    a = {"alert_id": aid, "timestamp": ts, "event_type": "alert", "src_ip": src, "dest_ip": dst,
         "proto": "TCP", "alert": {"signature_id": sid, "signature": sig or "YAGURA %d" % sid,
                                   "severity": 2}}
    a.update(kw)
    return a


def main():
    a = common.parse_args()
    t = common.Checker("tower_cli")
    y = a.yagura
    with tempfile.TemporaryDirectory() as d:
        db = os.path.join(d, "t.db")
        tw = Tower(y, db, d)
        A = tw.admin
        tower = "http://127.0.0.1:%d" % tw.port

        def user(name, role, **kw):
            st, u, _ = tw.call("POST", "/api/v1/users", dict(name=name, role=role, **kw), A)
            st, tk, _ = tw.call("POST", "/api/v1/tokens", {"user_id": u["id"]}, A)
            path = os.path.join(d, name + ".token")
            with open(path, "w") as f:
                f.write(tk["token"] + "\n")
            return path, tk["token"], u["id"]

        st, org, _ = tw.call("POST", "/api/v1/orgs", {"name": "Kansai Rail", "sector": "railways"}, A)
        st, org2, _ = tw.call("POST", "/api/v1/orgs", {"name": "Kobe Water", "sector": "water"}, A)
        op, _, _ = user("op", "operator", org_id=org["id"])
        op2, _, _ = user("op2", "operator", org_id=org2["id"])
        analyst, analyst_token, _ = user("analyst", "analyst")
        _, sensor, sensor_id = user("sensor", "sensor")
        _, sensor2, sensor2_id = user("sensor2", "sensor")

        def run(token_file, *args):
            env = dict(os.environ, YAGURA_TOWER=tower)
            env.pop("YAGURA_TOKEN", None)
            p = subprocess.run([y, args[0], "--token-file", token_file] + list(args[1:]),
                               capture_output=True, env=env)
            # Decoded without newline translation, so that a raw '\r' shows.
            return types.SimpleNamespace(returncode=p.returncode, stdout=p.stdout.decode("utf-8"),
                                         stderr=p.stderr.decode("utf-8"))

        def lines(p):
            return [ln for ln in p.stdout.splitlines() if ln]

        # Assets: added with their addresses, listed with them.
        p = run(op, "asset", "add", "SCADA HMI", "--role", "control", "--location", "Osaka depot",
                "--address", "203.0.113.0/28", "--address", "2001:db8::/64")
        a1 = json.loads(p.stdout) if p.returncode == 0 else {}
        t.check(p.returncode == 0 and a1.get("addresses") == ["203.0.113.0/28", "2001:db8::/64"],
                "asset add with addresses: %d %r %r" % (p.returncode, p.stdout, p.stderr))
        p = run(op, "asset", "add", "historian", "--version", "4.2", "--address", "203.0.113.5")
        a1host = json.loads(p.stdout) if p.returncode == 0 else {}
        t.check(p.returncode == 0, "asset add: %r" % p.stderr)
        p = run(op, "asset", "list")
        rows = {ln.split()[0]: ln for ln in lines(p)[1:]}
        hmi = rows.get(str(a1.get("id")), "")
        t.check(p.returncode == 0 and lines(p)[0].split()[:3] == ["id", "org", "product"] and
                len(rows) == 2 and "SCADA HMI" in hmi and "Osaka depot" in hmi and
                "control" in hmi and hmi.endswith("2001:db8::/64,203.0.113.0/28") and
                "4.2" in rows.get(str(a1host.get("id")), "") and p.stderr == "",
                "asset list shows the assets with their addresses: %r %r" % (p.stdout, p.stderr))
        # A bad address: one line naming it, nothing registered.
        for bad in ("999.1.1.1", "10.0.0.1/24"):
            p = run(op, "asset", "add", "PLC", "--address", "192.0.2.1", "--address", bad)
            t.check(p.returncode == 2 and len(p.stderr.splitlines()) == 1 and
                    "--address '%s'" % bad in p.stderr and p.stdout == "",
                    "bad address %s: one line naming it: %d %r" % (bad, p.returncode, p.stderr))
        p = run(op, "asset", "list")
        t.check(len(lines(p)) == 3, "a refused asset is not registered: %r" % p.stdout)
        p = run(op, "asset", "add", "PLC", "--address")
        t.check(p.returncode == 1 and "--address" in p.stderr, "--address without a value")
        p = run(analyst, "asset", "add", "PLC")
        t.check(p.returncode == 2 and "403" in p.stderr, "only an operator adds assets: %r" % p.stderr)

        # Alerts a sensor posted, as a table and as JSON lines, filtered.
        evil = "YAGURA \u001b[31m red\u009b2J\x07\x7f"
        batch = [alert("a-1", "198.51.100.7", "203.0.113.9"),                # the HMI's /28
                 alert("a-2", "198.51.100.8", "2001:db8::42", sid=9100002,  # the HMI's /64
                       ts="2026-11-23T10:00:00.000000+0000", src_port=40000, dest_port=502),
                 alert("a-3", "198.51.100.9", "198.18.0.1", sig=evil,        # nobody's
                       ts="2026-11-24T00:00:00.000000+0000")]
        st, res, _ = tw.call("POST", "/api/v1/alerts", {"alerts": batch}, sensor)
        t.check(st == 200 and res["accepted"] == 3, "alerts posted: %s %s" % (st, res))
        st, res, _ = tw.call("POST", "/api/v1/alerts", {"alerts": [
            alert("s2-1", "198.51.100.10", "203.0.113.5", sid=9100003,
                  ts="2026-11-25T00:00:00.000000+0000")]}, sensor2)

        def ids(*args, token=analyst):
            p = run(token, "alerts", "list", "--json", *args)
            try:
                return p, [json.loads(ln)["alert_id"] for ln in lines(p)]
            except ValueError:
                return p, None

        p, got = ids()
        t.check(p.returncode == 0 and got == ["s2-1", "a-3", "a-2", "a-1"] and p.stderr == "",
                "alerts list --json: every alert, newest first, one a line: %r %r" % (got, p.stderr))
        for args, want in ((["--src", "198.51.100.8"], ["a-2"]),
                           (["--dest", "2001:db8::42"], ["a-2"]),
                           (["--signature", "9100001"], ["a-3", "a-1"]),
                           # 09:00Z to 00:00Z: a '+' that arrived as a space would be a 400
                           (["--since", "2026-11-23T18:00:00+09:00",
                             "--until", "2026-11-24T09:00:00+09:00"], ["a-2"]),
                           (["--asset", str(a1["id"])], ["a-2", "a-1"]),
                           (["--asset", str(a1host["id"])], ["s2-1"]),
                           (["--sensor", str(sensor2_id)], ["s2-1"]),
                           (["--sensor", str(sensor_id), "--src", "198.51.100.7"], ["a-1"])):
            p, got = ids(*args)
            t.check(p.returncode == 0 and got == want,
                    "alerts list %s: %r, wanted %r (%s)" % (" ".join(args), got, want, p.stderr))
        p, got = ids(token=op)
        t.check(p.returncode == 0 and got == ["s2-1", "a-2", "a-1"],
                "an operator lists the alerts against its assets: %r" % got)
        p, got = ids(token=op2)
        t.check(p.returncode == 0 and got == [], "another operator lists none: %r" % got)
        p = run(analyst, "alerts", "list")
        table = lines(p)
        row = [ln for ln in table if "2001:db8::42" in ln]
        t.check(p.returncode == 0 and len(table) == 5 and "source → destination" in table[0] and
                "signature" in table[0] and len(row) == 1 and
                row[0].startswith("2026-11-23T10:00:00Z ") and
                "198.51.100.8:40000 → [2001:db8::42]:502" in row[0] and
                row[0].split()[5:8] == ["2", str(a1["id"]), "9100002"] and
                row[0].endswith("YAGURA 9100002"),
                "alerts list table: time, source → destination, severity, asset, signature: %r"
                % table)
        t.check(any("198.51.100.7 → 203.0.113.9" in ln for ln in table),
                "an alert without ports shows the addresses alone: %r" % table)
        for args, what in ((["--since", "yesterday"], "--since"), (["--src", "999.1.1.1"], "--src"),
                           (["--signature", "scan"], "--signature"), (["--limit", "0"], "--limit"),
                           (["--before", "-1"], "--before"), (["--sorce", "1.2.3.4"], "--sorce")):
            p = run(analyst, "alerts", "list", *args)
            t.check(p.returncode == 1 and len(p.stderr.splitlines()) == 1 and what in p.stderr,
                    "alerts list %s: one line naming it, exit 1: %d %r" % (args, p.returncode,
                                                                          p.stderr))

        # Control characters stored in an alert never reach the terminal raw:
        # the table shows '?', JSON escapes them and keeps the value.
        p = run(analyst, "alerts", "list", "--signature", "9100001")
        t.check(p.returncode == 0 and not any(c in p.stdout for c in CONTROL) and
                "YAGURA ?[31m red?2J??" in p.stdout,
                "the table shows no control characters: %r" % p.stdout)
        p = run(analyst, "alerts", "list", "--json", "--signature", "9100001")
        out = lines(p)
        t.check(p.returncode == 0 and not any(c in p.stdout for c in CONTROL) and
                json.loads(out[0])["signature"] == evil and
                json.loads(out[0])["record"]["alert"]["signature"] == evil,
                "JSON lines escape control characters and keep the value: %r" % p.stdout[:300])
        # A product stored before products were checked, likewise.
        con = sqlite3.connect(db, timeout=10)
        con.execute("UPDATE assets SET product = ? WHERE id = ?", ("HMI\x1b[2J\rX\u009b", a1["id"]))
        con.commit()
        con.close()
        p = run(analyst, "asset", "list")
        t.check(p.returncode == 0 and not any(c in p.stdout for c in CONTROL) and
                "HMI?[2J?X?" in p.stdout, "asset list shows no control characters: %r" % p.stdout)

        # Paging: one page and a line on stderr naming the cursor; the
        # cursor gives the next page; --all gives every row exactly once.
        more = [alert("p-%d" % i, "198.51.100.%d" % (20 + i), "198.18.0.%d" % i, sid=9100004,
                      ts="2026-11-26T00:00:%02d.000000+0000" % i) for i in range(7)]
        st, res, _ = tw.call("POST", "/api/v1/alerts", {"alerts": more}, sensor)
        st, every, _ = tw.call("GET", "/api/v1/alerts?limit=1000", token=analyst_token)
        want = [x["alert_id"] for x in every["alerts"]]
        idof = {x["alert_id"]: x["id"] for x in every["alerts"]}
        p, got = ids("--limit", "3")
        t.check(p.returncode == 0 and got == want[:3] and len(p.stderr.splitlines()) == 1 and
                "--before %d" % idof[want[2]] in p.stderr and "--all" in p.stderr,
                "alerts list --limit 3: a page, and the next page's cursor: %r %r" % (got, p.stderr))
        p2, got2 = ids("--limit", "3", "--before", str(idof[want[2]]))
        t.check(p2.returncode == 0 and got2 == want[3:6] and "--before %d" % idof[want[5]] in p2.stderr,
                "alerts list --before: the next page: %r %r" % (got2, p2.stderr))
        for extra in (["--limit", "3"], ["--limit", "1"], []):
            p, got = ids("--all", *extra)
            t.check(p.returncode == 0 and got == want and p.stderr == "",
                    "alerts list --all %s: every alert once: %r %r" % (extra, got, p.stderr))
        p, got = ids("--all", "--limit", "2", "--signature", "9100004")
        t.check(got == [x for x in want if x.startswith("p-")], "--all with a filter: %r" % got)
        p = run(analyst, "alerts", "list", "--limit", "4")
        t.check(p.returncode == 0 and len(lines(p)) == 5 and "--before %d" % idof[want[3]] in p.stderr,
                "the table pages too: %r" % p.stderr)
        for i in range(3):
            run(op, "asset", "add", "PLC %d" % i, "--address", "192.0.2.%d" % (i + 1))
        st, every, _ = tw.call("GET", "/api/v1/assets?limit=1000", token=analyst_token)
        want = [x["id"] for x in every["assets"]]
        p = run(analyst, "asset", "list", "--limit", "2")
        t.check(p.returncode == 0 and [int(ln.split()[0]) for ln in lines(p)[1:]] == want[:2] and
                "--after %d" % want[1] in p.stderr and len(p.stderr.splitlines()) == 1,
                "asset list --limit 2: a page and the next page's cursor: %r %r" % (p.stdout, p.stderr))
        p = run(analyst, "asset", "list", "--limit", "2", "--after", str(want[1]))
        t.check([int(ln.split()[0]) for ln in lines(p)[1:]] == want[2:4],
                "asset list --after: the next page: %r" % p.stdout)
        p = run(analyst, "asset", "list", "--limit", "2", "--all")
        t.check(p.returncode == 0 and [int(ln.split()[0]) for ln in lines(p)[1:]] == want and
                p.stderr == "" and len(want) == 5, "asset list --all: every asset once: %r" % p.stdout)

        # Without a tower, or a token.
        tw.stop()
        p = run(analyst, "alerts", "list")
        t.check(p.returncode == 3 and "cannot reach" in p.stderr, "tower down: %d" % p.returncode)
        p = subprocess.run([y, "asset", "list"], capture_output=True, text=True,
                           env={k: v for k, v in os.environ.items() if k != "YAGURA_TOKEN"})
        t.check(p.returncode == 1 and "token" in p.stderr, "no token: %d %r" % (p.returncode, p.stderr))
    t.finish()


main()
