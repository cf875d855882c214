"""The tower's configuration file: --check prints it back normalized (a
golden file), bad files are one line naming file, line and key, and the
settings take effect (sectors, deadlines)."""
import os
import subprocess
import tempfile

import common
from towerlib import Tower


def main():
    a = common.parse_args()
    t = common.Checker("tower_config")
    y = a.yagura
    data = os.path.join(a.source, "tests", "data", "tower")
    p = subprocess.run([y, "tower", "--config", os.path.join(data, "example.ini"), "--check"],
                       capture_output=True, text=True)
    with open(os.path.join(data, "example.check")) as f:
        want = f.read()
    t.check(p.returncode == 0 and p.stdout == want, "--check differs from example.check:\n%s" % p.stdout)
    p = subprocess.run([y, "tower", "--config", os.path.join(data, "example.ini"), "--threads", "3",
                        "--check"], capture_output=True, text=True)
    t.check("threads = 3" in p.stdout, "options override the file")
    with tempfile.TemporaryDirectory() as d:
        for text, want_err in (("[tower]\nthreds = 2\n", ":2: unknown key 'threds'"),
                               ("[tower]\nthreads = lots\n", ":2: threads = 'lots'"),
                               ("[deadlines]\nprompt = soon\n", ":2: prompt = 'soon' is not a duration"),
                               ("[tower]\nstore_timeout = 0\n", ":2: store_timeout = '0' is not a duration"),
                               ("[tower]\nstore_timeout = 2d\n", ":2: store_timeout = '2d' is not a duration"),
                               ("[tower]\nstore_timeout = 30x\n", ":2: store_timeout = '30x' is not a duration"),
                               ("[tower]\nstore_timeout = 99999999999999999999\n",
                                ":2: store_timeout = '99999999999999999999' is not a duration"),
                               ("[tower]\nstore_cache_mib = 0\n", ":2: store_cache_mib = '0' is not a number"),
                               ("[tower]\nstore_cache_mib = 5000\n", ":2: store_cache_mib = '5000' is not a number"),
                               ("[tower]\nstore_cache_mib = 8M\n", ":2: store_cache_mib = '8M' is not a number"),
                               ("[deadlines]\nprompt = 3d\ndetailed = 1d\n", "detailed comes before prompt"),
                               ("[sectors]\nlist = Power Grid\n", ":2: list:"),
                               ("[log]\nchecksum = 1\n", ":2: unknown key 'checksum' in [log]"),
                               ("[log]\ncheckpoint_interval = often\n", ":2: checkpoint_interval = 'often'"),
                               ("[log]\norigin =\n", ":2: origin must not be empty"),
                               ("[tls]\ncertificate = x\n", ":2: unknown key 'certificate' in [tls]"),
                               ("[tls]\ncert = a.pem\n", "[tls] cert without key"),
                               ("[tls]\nclient_ca = ca.pem\n", "[tls] client_ca without cert"),
                               ("[elsewhere]\nx = 1\n", ":2: unknown section [elsewhere]"),
                               ("[monitoring]\nmax_duration = forever\n", ":2: max_duration = "
                                "'forever' is not a duration"),
                               ("[partners]\nisac = ftp://x/collections/1/ /t 5m\n",
                                ":2: isac = URL TOKEN_FILE"),
                               ("[partners]\nisac = http://x/collections/1/\n",
                                ":2: isac = URL TOKEN_FILE"),
                               ("[partners]\nIS AC = http://x/c/1/ /t\n", "is not a name"),
                               ("[partners]\nisac = http://x/c/1/ /t soon\n",
                                ":2: isac: 'soon' is not an interval")):
            path = os.path.join(d, "bad.ini")
            with open(path, "w") as f:
                f.write(text)
            p = subprocess.run([y, "tower", "--config", path, "--check"], capture_output=True, text=True)
            t.check(p.returncode == 1 and want_err in p.stderr and len(p.stderr.splitlines()) == 1,
                    "%r: exit %d %r" % (text, p.returncode, p.stderr))
        # Witnesses: cosignature keys only, none twice, printed back normalized.
        wk = [subprocess.run([y, "audit", "witness-key", os.path.join(d, "w%d.key" % i), "--name",
                              "w.example/%d" % i], capture_output=True, text=True).stdout.strip()
              for i in range(2)]
        logkey = "yagura.local/log+99004b2e+AbNToher/T1Ib+4nYKXHayTqM8ul2LKFoXBv+pgiTOIb"
        for text, want_err in (("[log]\nwitnesses = %s\n" % logkey, ":2: witnesses: '%s' is not a "
                                "witness's verifier key" % logkey),
                               ("[log]\nwitnesses = %s,%s\n" % (wk[0], wk[0]),
                                ":2: witnesses: two witnesses are called w.example/0+"),
                               ("[log]\nwitnesses = ,\n", ":2: witnesses: no witness given")):
            path = os.path.join(d, "bad.ini")
            with open(path, "w") as f:
                f.write(text)
            p = subprocess.run([y, "tower", "--config", path, "--check"], capture_output=True, text=True)
            t.check(p.returncode == 1 and want_err in p.stderr and len(p.stderr.splitlines()) == 1,
                    "%r: exit %d %r" % (text, p.returncode, p.stderr))
        with open(path, "w") as f:
            f.write("[log]\nwitnesses =%s ,\t%s\n" % (wk[0], wk[1]))
        p = subprocess.run([y, "tower", "--config", path, "--check"], capture_output=True, text=True)
        t.check(p.returncode == 0 and "\nwitnesses = %s, %s\n" % (wk[0], wk[1]) in p.stdout,
                "witnesses printed back: %d %s %s" % (p.returncode, p.stdout, p.stderr))
        p = subprocess.run([y, "tower", "--config", os.path.join(d, "missing.ini")],
                           capture_output=True, text=True)
        t.check(p.returncode == 1 and "missing.ini" in p.stderr, "missing file")
        # Sectors and deadlines take effect.
        cfg = os.path.join(d, "t.ini")
        with open(cfg, "w") as f:
            f.write("[sectors]\nlist = space_weather, electricity\n\n[deadlines]\nprompt = 2h\n"
                    "detailed = 12h\nfinal = 7d\n")
        tw = Tower(y, os.path.join(d, "t.db"), d, extra=["--config", cfg])
        st, org, _ = tw.call("POST", "/api/v1/orgs", {"name": "NICT", "sector": "space_weather"},
                             tw.admin)
        t.check(st == 201, "configured sector accepted: %s" % st)
        st, _, _ = tw.call("POST", "/api/v1/orgs", {"name": "Water Co", "sector": "water"}, tw.admin)
        t.check(st == 422, "sector not in the configured list refused: %s" % st)
        st, u, _ = tw.call("POST", "/api/v1/users", {"name": "op", "role": "operator",
                                                      "org_id": org["id"]}, tw.admin)
        st, tk, _ = tw.call("POST", "/api/v1/tokens", {"user_id": u["id"]}, tw.admin)
        st, r, _ = tw.call("POST", "/api/v1/reports", {
            "category": "other", "summary": "x", "severity": "low",
            "detected_at": "2026-11-22T00:00:00Z"}, tk["token"])
        t.check(st == 201 and r["next_due"] == "2026-11-22T12:00:00.000000Z",
                "detailed report due 12 h after detection: %s" % r)
        tw.stop()
        private(t, y, d, os.path.join(d, "t.db"))
    t.finish()


def private(t, y, d, db):
    """Secrets stay private: the SQLite store the tower made is 0600; a
    store, log key or NATS password file others can read stops the tower
    (and the sensor) at start, with one line saying what to chmod."""
    mode = os.stat(db).st_mode & 0o777
    t.check(mode == 0o600, "the store admin init made is 0600: %04o" % mode)

    def start(extra):
        return subprocess.run([y, "tower", "--listen", "127.0.0.1:0", "--store", db] + extra,
                              capture_output=True, text=True, timeout=30)

    os.chmod(db, 0o644)
    p = start([])
    t.check(p.returncode == 2 and "chmod o-rwx %s" % db in p.stderr and
            len(p.stderr.strip().splitlines()) == 1,
            "a world-readable store stops the tower: exit %d %r" % (p.returncode, p.stderr))
    os.chmod(db, 0o600)
    key = db + ".log-key"
    os.chmod(key, 0o640)
    p = start([])
    t.check(p.returncode == 2 and "chmod 600 %s" % key in p.stderr,
            "a log key others can read stops the tower: exit %d %r" % (p.returncode, p.stderr))
    os.chmod(key, 0o600)
    pw = os.path.join(d, "nats.password")
    with open(pw, "w") as f:
        f.write("secret\n")
    os.chmod(pw, 0o644)
    ini = os.path.join(d, "nats.ini")
    with open(ini, "w") as f:
        f.write("[stream]\nenable = yes\nurls = nats://127.0.0.1:4222\nuser = tower\n"
                "password_file = %s\n" % pw)
    p = subprocess.run([y, "tower", "--config", ini, "--check"], capture_output=True, text=True)
    t.check(p.returncode == 1 and "chmod 600 %s" % pw in p.stderr,
            "a NATS password file others can read stops the tower: exit %d %r"
            % (p.returncode, p.stderr))
    sini = os.path.join(d, "sensor.ini")
    with open(sini, "w") as f:
        f.write("[stream]\nurl = nats://127.0.0.1:4222\nsector = water\nsensor = s1\n"
                "user = s1\npassword_file = %s\n" % pw)
    p = subprocess.run([y, "analyze", "--config", sini, "-o", os.devnull, "/dev/null"],
                       capture_output=True, text=True)
    t.check(p.returncode == 1 and "chmod 600 %s" % pw in p.stderr,
            "and the sensor: exit %d %r" % (p.returncode, p.stderr))


main()
