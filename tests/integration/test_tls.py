"""The tower over HTTPS (issue 15): the demonstration PKI of
scripts/demo-tls.sh; a tower with [tls] cert, key and client_ca answers
with its certificate over TLS 1.2 and 1.3, refuses TLS 1.0 and 1.1, CBC
suites and plain HTTP; a sensor bound to a client certificate posts alerts
with `yagura analyze --tower https://... --ca --cert --key` and no token; a
certificate of another CA, one bound to nobody, one of a user who is not a
sensor, and one unbound again are each refused; a token still works, also
for `analyze --tower https://... --ca`. A tower whose key file others may
read, whose key is not its certificate's, or whose files are missing or
not PEM does not start, and says why in one line."""
import os
import shutil
import socket
import sqlite3
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import warnings

import common
from pcapgen import *
from towerlib import Tower, authorize


def scanners(path, n):
    """n scanners, each probing 12 hosts on one port: horizontal scans."""
    fr = []
    for s in range(n):
        src = "203.0.113.%d" % (s + 1)
        for h in range(12):
            fr.append((1000 + s * 0.01 + h * 0.0001,
                       eth(ipv4(src, "10.9.0.%d" % (h + 1), 6, tcp(40000 + h, 23, SYN)))))
    write_pcap(path, sorted(fr, key=lambda x: x[0]))


def context(ca, cert=None, key=None, lo=None, hi=None, ciphers=None):
    ctx = ssl.create_default_context(cafile=ca)
    if lo is not None:
        ctx.minimum_version = lo
    if hi is not None:
        ctx.maximum_version = hi
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    if cert is not None:
        ctx.load_cert_chain(cert, key)
    return ctx


def handshake(port, ctx):
    """(protocol, cipher, peer certificate) or the exception's text."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                return s.version(), s.cipher()[0], s.getpeercert()
    except (ssl.SSLError, OSError) as e:
        return "refused: %s" % e


def get(tw, path, ctx, token=None):
    """(status, body text) of a GET with ctx's client certificate, if any."""
    req = urllib.request.Request(tw.url(path))
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30, context=ctx) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def bind(tw, uid, fp):
    return tw.call("PUT", "/api/v1/users/%d/certificate" % uid, {"fingerprint": fp}, tw.admin)


def user(tw, name, role):
    st, u, _ = tw.call("POST", "/api/v1/users", {"name": name, "role": role}, tw.admin)
    assert st == 201, (st, u)
    return u["id"]


def refuses_to_start(y, d, store, args):
    """Runs a tower that must not start: (exit code, stderr)."""
    p = subprocess.run([y, "tower", "--listen", "127.0.0.1:0", "--store", store] + args,
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stderr.strip()


def main():
    warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0, 1.1: on purpose
    a = common.parse_args()
    t = common.Checker("tls")
    y = a.yagura
    demo = os.path.join(a.source, "scripts", "demo-tls.sh")
    with tempfile.TemporaryDirectory() as d:
        pki, other = os.path.join(d, "tls"), os.path.join(d, "other")
        for dest, names in ((pki, ["sensor", "analyst", "stranger"]), (other, ["sensor"])):
            p = subprocess.run([demo, dest] + names, capture_output=True, text=True)
            t.check(p.returncode == 0, "demo-tls.sh %s: %s" % (dest, p.stderr))
        f = lambda *n: os.path.join(pki, *n)
        t.check(all(os.stat(f(k)).st_mode & 0o777 == 0o600
                    for k in ("ca.key", "server.key", "sensor.key")), "keys are 0600")
        # Idempotent: run again, nothing changes.
        before = open(f("sensor.pem")).read()
        subprocess.run([demo, pki, "sensor"], check=True)
        t.check(open(f("sensor.pem")).read() == before, "demo-tls.sh keeps what exists")

        conf = os.path.join(d, "tower.ini")
        with open(conf, "w") as c:
            c.write("[tower]\nheader_timeout = 2s\n\n[tls]\ncert = %s\nkey = %s\n"
                    "client_ca = %s\n" % (f("server.pem"), f("server.key"), f("ca.pem")))
        p = subprocess.run([y, "tower", "--config", conf, "--check"], capture_output=True,
                           text=True)
        t.check(p.returncode == 0 and "[tls]\ncert = %s\n" % f("server.pem") in p.stdout and
                "client_ca = %s\n" % f("ca.pem") in p.stdout, "--check prints [tls]: %s"
                % p.stdout[:300])

        store = os.path.join(d, "t.db")
        trust = context(f("ca.pem"))
        tw = Tower(y, store, d, extra=["--config", conf], tls=trust)
        port = tw.port

        # 1. The certificate, TLS 1.2 and 1.3 with AEAD suites only.
        r = handshake(port, trust)
        t.check(isinstance(r, tuple) and r[0] in ("TLSv1.3", "TLSv1.2") and
                ("commonName", "localhost") in [x for rdn in r[2]["subject"] for x in rdn],
                "HTTPS with the server certificate: %s" % (r,))
        for v in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            r = handshake(port, context(f("ca.pem"), lo=v, hi=v))
            t.check(isinstance(r, tuple) and r[0] == v.name.replace("_", ".") and
                    ("GCM" in r[1] or "CHACHA20" in r[1]), "%s: %s" % (v.name, r))
        for v in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
            r = handshake(port, context(f("ca.pem"), lo=v, hi=v, ciphers="DEFAULT:@SECLEVEL=0"))
            # The server refuses it (an alert or a close), not the client.
            t.check(isinstance(r, str) and "NO_PROTOCOLS_AVAILABLE" not in r.upper(),
                    "%s is refused: %s" % (v.name, r))
            print("%s: %s" % (v.name, r))
        r = handshake(port, context(f("ca.pem"), hi=ssl.TLSVersion.TLSv1_2,
                                    ciphers="ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA256:"
                                            "AES128-GCM-SHA256"))
        t.check(isinstance(r, str), "CBC suites and RSA key transport are refused: %s" % (r,))
        st, body = get(tw, "/healthz", trust)
        t.check(st == 200 and "ok" in body, "GET /healthz over HTTPS: %s %s" % (st, body))

        # A client that connects and never finishes its handshake is cut at
        # the header deadline (2 s here), as a slow plain-HTTP client is.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sk:
            sk.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # a ClientHello's start
            t0 = time.monotonic()
            try:
                got = sk.recv(100)
            except OSError:
                got = b""
            waited = time.monotonic() - t0
        t.check(got == b"" and 1 < waited < 8, "a stalled handshake is cut after %.1f s: %r"
                % (waited, got))

        # 2. Plain HTTP to the TLS port gets no HTTP answer.
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=10) as r:
                got = "HTTP %d" % r.status
        except urllib.error.HTTPError as e:
            got = "HTTP %d" % e.code
        except Exception as e:  # a reset, a bad status line: no HTTP
            got = "no answer (%s)" % type(e).__name__
        t.check(got.startswith("no answer"), "plain HTTP to the TLS port: %s" % got)

        # 3. A sensor bound to its certificate, no token.
        sensor = user(tw, "sensor", "sensor")
        analyst = user(tw, "analyst-1", "analyst")
        fp = open(f("sensor.fingerprint")).read().strip()
        st, res, _ = bind(tw, sensor, fp.upper().replace("SHA256:", "sha256:"))
        t.check(st == 200 and res == {"user_id": sensor, "fingerprint": fp},
                "PUT certificate: %s %s" % (st, res))
        st, res, _ = bind(tw, analyst, open(f("analyst.fingerprint")).read().strip())
        t.check(st == 422, "an analyst cannot be bound to a certificate: %s %s" % (st, res))
        st, res, _ = bind(tw, analyst + 100, fp)
        t.check(st == 404, "no such user: %s" % st)
        st, res, _ = bind(tw, sensor, "sha1:abcd")
        t.check(st == 422, "a malformed fingerprint: %s" % st)
        st, res, _ = tw.call("PUT", "/api/v1/users/%d/certificate" % sensor, {"fingerprint": fp})
        t.check(st == 401, "binding needs the admin: %s" % st)

        sensor_ctx = context(f("ca.pem"), f("sensor.pem"), f("sensor.key"))
        st, body = get(tw, "/api/v1/monitoring/authorizations/active", sensor_ctx)
        t.check(st == 200 and '"sensor":"sensor"' in body,
                "the sensor by its certificate: %s %s" % (st, body))
        st, body = get(tw, "/api/v1/orgs", sensor_ctx)
        t.check(st == 403, "... with a sensor's rights only: %s" % st)

        # 4. Refused: another CA's certificate with the same name, one bound
        # to nobody, one bound (behind the tower's back) to an analyst.
        st, body = get(tw, "/api/v1/monitoring/authorizations/active",
                       context(f("ca.pem"), os.path.join(other, "sensor.pem"),
                               os.path.join(other, "sensor.key")))
        t.check(st == 401 and "certificate" in body, "another CA's certificate: %s %s"
                % (st, body))
        st, m, _ = tw.call("GET", "/metrics")
        t.check("yagura_http_client_certificates_refused_total 1\n" in m,
                "the refusal is counted: %s" % [l for l in m.splitlines() if "refused" in l])
        st, body = get(tw, "/api/v1/monitoring/authorizations/active",
                       context(f("ca.pem"), f("stranger.pem"), f("stranger.key")))
        t.check(st == 401, "a certificate bound to nobody: %s %s" % (st, body))
        with sqlite3.connect(store) as db:
            db.execute("INSERT INTO user_certificates (user_id, fingerprint, updated) "
                       "VALUES (?, ?, 0)", (analyst, open(f("analyst.fingerprint")).read().strip()))
        st, body = get(tw, "/api/v1/alerts", context(f("ca.pem"), f("analyst.pem"),
                                                      f("analyst.key")))
        t.check(st == 401, "a certificate bound to an analyst: %s %s" % (st, body))
        with sqlite3.connect(store) as db:
            db.execute("DELETE FROM user_certificates WHERE user_id = ?", (analyst,))

        # 5. analyze --tower https:// with the certificate and no token.
        aid = authorize(tw, "sensor")
        t.check(aid is not None, "the sensor is authorized")
        cap = os.path.join(d, "scan.pcap")
        scanners(cap, 20)
        env = {k: v for k, v in os.environ.items() if k != "YAGURA_TOKEN"}
        p = subprocess.run([y, "analyze", "--tower", tw.url(), "--ca", f("ca.pem"),
                            "--cert", f("sensor.pem"), "--key", f("sensor.key"),
                            "--spool", os.path.join(d, "spool"), "--post-wait", "20",
                            "-o", os.devnull, cap], capture_output=True, text=True, timeout=120,
                           env=env)
        with sqlite3.connect(store) as db:
            n, who = db.execute("SELECT COUNT(*), MIN(sensor_id) FROM alerts").fetchone()
        t.check(p.returncode == 0 and "0 left" in p.stderr and n >= 20 and who == sensor,
                "analyze over HTTPS with a client certificate: exit %d, %s alerts from %s: %s"
                % (p.returncode, n, who, p.stderr[-400:]))
        # Without --ca, the demonstration CA is not trusted: nothing sent.
        p = subprocess.run([y, "analyze", "--tower", tw.url(), "--cert", f("sensor.pem"),
                            "--key", f("sensor.key"), "--spool", os.path.join(d, "spool2"),
                            "--post-wait", "1", "-o", os.devnull, cap],
                           capture_output=True, text=True, timeout=120, env=env)
        t.check(p.returncode == 7, "without --ca the tower is not trusted: exit %d %s"
                % (p.returncode, p.stderr[-300:]))
        p = subprocess.run([y, "analyze", "--tower", tw.url(), "--cert", f("sensor.pem"),
                            "-o", os.devnull, cap], capture_output=True, text=True, env=env)
        t.check(p.returncode == 1 and "(--cert and --key)" in p.stderr,
                "--cert without --key: %s" % p.stderr)

        # 6. A token over HTTPS, and analyze --tower https:// --ca with it.
        tokfile = os.path.join(d, "token2")
        tok2 = tw.token_for("sensor-2", "sensor", tokfile)
        authorize(tw, "sensor-2")
        st, body = get(tw, "/api/v1/monitoring/authorizations/active", trust, tok2)
        t.check(st == 200 and "sensor-2" in body, "a token over HTTPS: %s" % st)
        p = subprocess.run([y, "analyze", "--tower", tw.url(), "--ca", f("ca.pem"),
                            "--token-file", tokfile, "--spool", os.path.join(d, "spool3"),
                            "--post-wait", "20", "-o", os.devnull, cap],
                           capture_output=True, text=True, timeout=120, env=env)
        with sqlite3.connect(store) as db:
            n2 = db.execute("SELECT COUNT(*) FROM alerts WHERE sensor_id <> ?",
                            (sensor,)).fetchone()[0]
        t.check(p.returncode == 0 and n2 >= 20, "analyze --ca with a token: exit %d, %d alerts"
                ": %s" % (p.returncode, n2, p.stderr[-300:]))

        # A terminal command over HTTPS: --ca with a token; without --ca the
        # tower is not trusted; --cert wants its key (--cert-key).
        antok = os.path.join(d, "analyst.token")
        with open(antok, "w") as tf:
            tf.write(tw._mon_tokens[0] + "\n")
        base = ["alerts", "list", "--tower", tw.url(), "--token-file", antok, "--json"]
        p = subprocess.run([y] + base + ["--ca", f("ca.pem")], capture_output=True, text=True,
                           timeout=60, env=env)
        t.check(p.returncode == 0 and p.stdout.count("\n") >= 20,
                "alerts list --ca over HTTPS: exit %d, %d lines: %s" %
                (p.returncode, p.stdout.count("\n"), p.stderr[-200:]))
        p = subprocess.run([y] + base, capture_output=True, text=True, timeout=60, env=env)
        t.check(p.returncode == 3, "alerts list without --ca: exit %d %s" %
                (p.returncode, p.stderr[-200:]))
        p = subprocess.run([y] + base + ["--ca", f("ca.pem"), "--cert", f("sensor.pem")],
                           capture_output=True, text=True, timeout=60, env=env)
        t.check(p.returncode == 1 and "(--cert and --cert-key)" in p.stderr,
                "--cert without --cert-key: exit %d %s" % (p.returncode, p.stderr))

        # 7. Unbound: the certificate stops working at once.
        st, res, _ = bind(tw, sensor, None)
        t.check(st == 200 and res["fingerprint"] is None, "unbind: %s %s" % (st, res))
        st, body = get(tw, "/api/v1/monitoring/authorizations/active", sensor_ctx)
        t.check(st == 401, "an unbound certificate: %s" % st)
        admintok = os.path.join(d, "admin.token")
        with open(admintok, "w") as tf:
            tf.write(tw.admin + "\n")
        p = subprocess.run([y, "admin", "user", "certificate", str(sensor), fp, "--tower",
                            tw.url(), "--ca", f("ca.pem"), "--token-file", admintok],
                           capture_output=True, text=True, timeout=60)
        t.check(p.returncode == 0 and fp in p.stdout, "bound again by yagura admin: exit %d %s"
                % (p.returncode, p.stderr))
        st, body = get(tw, "/api/v1/monitoring/authorizations/active", sensor_ctx)
        t.check(st == 200, "the certificate works again: %s" % st)
        st, res, _ = bind(tw, user(tw, "sensor-3", "sensor"), fp)
        t.check(st == 409, "one certificate, one sensor: %s %s" % (st, res))

        # The bindings are in the transparency log, and verify.
        with sqlite3.connect(store) as db:
            kinds = [r[0] for r in db.execute("SELECT entry FROM log_entries")
                     if b"kind user.certificate\n" in bytes(r[0])]
        t.check(len(kinds) == 3, "three user.certificate entries: %d" % len(kinds))
        t.check(tw.stop() == 0, "the tower stops cleanly")

        # 8. A tower that must not start, and why, in one line.
        srv, key = f("server.pem"), f("server.key")
        open_key = os.path.join(d, "open.key")
        shutil.copy(key, open_key)
        os.chmod(open_key, 0o644)
        bad_pem = os.path.join(d, "bad.pem")
        with open(bad_pem, "w") as b:
            b.write("not a certificate\n")
        for args, want in (
                (["--tls-cert", srv, "--tls-key", open_key], "may be read by group or others"),
                (["--tls-cert", srv, "--tls-key", os.path.join(d, "nokey")], "no such file"),
                (["--tls-cert", bad_pem, "--tls-key", key], "not PEM"),
                (["--tls-cert", srv, "--tls-key", f("sensor.key")], "not the one of the"),
                (["--tls-cert", srv], "without its key"),
                (["--tls-cert", srv, "--tls-key", key, "--tls-client-ca", bad_pem], "not PEM")):
            rc, err = refuses_to_start(y, d, os.path.join(d, "x.db"), args)
            t.check(rc != 0 and want in err and len(err.splitlines()) == 1 and
                    "listening" not in err, "%s: exit %d: %s" % (" ".join(args[-1:]), rc, err))
        # priorities: a string GnuTLS refuses stops the tower; one it takes
        # is what is negotiated (TLS 1.3 only here).
        for prio, name in (("NORMAL:+NO-SUCH-THING", "bad"), ("NORMAL:-VERS-ALL:+VERS-TLS1.3",
                                                              "tls13")):
            ini = os.path.join(d, name + ".ini")
            with open(ini, "w") as c:
                c.write("[tls]\ncert = %s\nkey = %s\npriorities = %s\n" % (srv, key, prio))
            if name == "bad":
                rc, err = refuses_to_start(y, d, os.path.join(d, "x.db"), ["--config", ini])
                t.check(rc != 0 and "priorities" in err and "NO-SUCH-THING" in err,
                        "bad priorities: exit %d: %s" % (rc, err))
                continue
            tw13 = Tower(y, os.path.join(d, "t13.db"), d, extra=["--config", ini], tls=trust)
            r12 = handshake(tw13.port, context(f("ca.pem"), hi=ssl.TLSVersion.TLSv1_2))
            r13 = handshake(tw13.port, trust)
            t.check(isinstance(r12, str) and isinstance(r13, tuple) and r13[0] == "TLSv1.3",
                    "priorities TLS 1.3 only: %s, %s" % (r12, r13[:2]))
            t.check(tw13.stop() == 0, "the TLS 1.3 tower stops cleanly")
        # The key's name is in the message.
        rc, err = refuses_to_start(y, d, os.path.join(d, "x.db"),
                                   ["--tls-cert", srv, "--tls-key", open_key])
        t.check(open_key in err and "chmod 600" in err, "names the key: %s" % err)
    t.finish()


if __name__ == "__main__":
    main()
