#!/usr/bin/env python3
"""Who may publish what on the alert stream (issue 17): a nats-server with
users and permissions (scripts/nats-test.sh with YAGURA_NATS_CONF_EXTRA),
a tower that owns the stream, and sensors that only publish.

  * the tower, as user `tower` with the permissions of
    contrib/nats/nats-server.conf (the JetStream API, acks, inboxes),
    creates the stream with the limits of its [stream] (max_age,
    duplicate_window) and consumes it;
  * sensor s1, whose user may publish on yagura.alerts.electricity.s1 and
    nowhere else, has every alert stored under s1;
  * the same credentials claiming sensor s2 publish nothing: the server
    refuses the subject, the run ends with exit 5 and the alerts stay in
    its spool; nothing is stored under s2, though the tower knows s2;
  * a wrong password: exit 5, one line naming the failure, alerts spooled;
  * a sensor allowed to manage streams, with limits of its own in its
    configuration, leaves the tower's stream as the tower set it;
  * a user without its password file is refused at start, with one line,
    by the sensor and by the tower;
  * servers that take TLS clients with a certificate of the office's CA
    only (scripts/demo-tls.sh): the tower and a sensor with ca, cert and
    key get through and the alerts are stored; a sensor without a
    certificate cannot connect (exit 5, alerts spooled).

Exit 0, 1 (each failure printed), 77 without nats-server."""
import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import Checker  # noqa: E402
from towerlib import Tower, metric, wait_until  # noqa: E402

USERS = """
authorization {
  users: [
    {user: tower, password: "tower-secret-1",
     permissions: {publish: {allow: ["$JS.API.>", "$JS.ACK.>", "_INBOX.>"]},
                   subscribe: {allow: ["_INBOX.>", "yagura.alerts.>"]}}}
    {user: s1, password: "s1-secret-2",
     permissions: {publish: {allow: ["yagura.alerts.electricity.s1"]},
                   subscribe: {allow: ["_INBOX.>"]}}}
    {user: lab, password: "lab-secret-3"}
  ]
}
"""
DAY_NS = 86400 * 10**9


def stored(store, sensor=None):
    with sqlite3.connect(store) as db:
        if sensor is None:
            return [r[0] for r in db.execute("SELECT alert_id FROM alerts")]
        return [r[0] for r in db.execute("SELECT a.alert_id FROM alerts a JOIN users u ON "
                                         "u.id = a.sensor_id WHERE u.name = ?", (sensor,))]

def eve_ids(path):
    with open(path) as f:
        return [json.loads(ln)["alert_id"] for ln in f if '"event_type":"alert"' in ln]


def stream_config(work):
    """The stream's configuration as the server holds it (monitoring port)."""
    with open(os.path.join(work, "nats", "n1", "mport")) as f:
        mport = int(f.read())
    with urllib.request.urlopen("http://127.0.0.1:%d/jsz?streams=true&config=true" % mport,
                                timeout=10) as r:
        jsz = json.load(r)
    for acc in jsz.get("account_details", []):
        for s in acc.get("stream_detail", []):
            if s.get("name") == "YAGURA_ALERTS":
                return s.get("config", {})
    return None

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--yagura", required=True)
    ap.add_argument("--genpcap", required=True)
    ap.add_argument("--source", required=True)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="yagura-stream-auth-")
    extra = os.path.join(work, "users.conf")
    with open(extra, "w") as f:
        f.write(USERS)
    os.environ["YAGURA_NATS_CONF_EXTRA"] = extra
    nats, _ = common.nats_script(a.source, work)
    t = Checker("stream_auth")
    tw = None
    try:
        urls = nats("start").splitlines()[-1]
        run(a, t, work, urls)
        nats("stop")
        tls(a, t, work, nats)
    finally:
        nats("stop", check=False)
        shutil.rmtree(work, ignore_errors=True)
    t.finish()


def tls(a, t, work, nats):
    """The servers take TLS clients with a certificate of the office's CA
    (scripts/demo-tls.sh) and nothing else: the tower and a sensor with
    ca, cert and key get through; a sensor without a certificate does not."""
    pki = os.path.join(work, "pki")
    subprocess.run([os.path.join(a.source, "scripts", "demo-tls.sh"), pki, "tower", "s1"],
                   check=True, capture_output=True)
    extra = os.environ["YAGURA_NATS_CONF_EXTRA"]
    with open(extra, "w") as f:
        f.write('tls {\n  cert_file: "%s/server.pem"\n  key_file: "%s/server.key"\n'
                '  ca_file: "%s/ca.pem"\n  verify: true\n}\n' % (pki, pki, pki))
    nats("start")
    urls = nats("url").replace("nats://127.0.0.1", "tls://localhost")
    store = os.path.join(work, "tower-tls.db")
    ini = os.path.join(work, "tower-tls.ini")
    with open(ini, "w") as f:
        f.write("[stream]\nenable = yes\nurls = %s\nca = %s/ca.pem\ncert = %s/tower.pem\n"
                "key = %s/tower.key\n" % (urls, pki, pki, pki))
    tw = Tower(a.yagura, store, work, extra=["--config", ini])
    try:
        st, u, _ = tw.call("POST", "/api/v1/users", {"name": "s1", "role": "sensor"}, tw.admin)
        t.check(wait_until(lambda: metric(tw, "yagura_stream_connected") == 1, 60),
                "TLS: the tower with its client certificate bound to the stream")
        cap = os.path.join(work, "planted.pcap")

        def sense(tag, conf, wait):
            sini = os.path.join(work, "sensor-%s.ini" % tag)
            with open(sini, "w") as f:
                f.write("[stream]\n" + conf)
            out = os.path.join(work, "eve-%s.json" % tag)
            r = subprocess.run([a.yagura, "analyze", "--no-progress", "-q", "-o", out,
                                "--config", sini, "--stream", urls, "--stream-sector",
                                "electricity", "--stream-sensor", "s1", "--spool",
                                os.path.join(work, "spool-" + tag), "--post-wait", wait, cap],
                               capture_output=True, text=True, timeout=300)
            return r, eve_ids(out)

        r, ids = sense("tls", "ca = %s/ca.pem\ncert = %s/s1.pem\nkey = %s/s1.key\n"
                       % (pki, pki, pki), "20")
        t.check(r.returncode == 0, "TLS: s1 with its certificate: exit %d %s"
                % (r.returncode, r.stderr[-300:]))
        t.check(wait_until(lambda: sorted(stored(store, "s1")) == sorted(ids), 60) and ids,
                "TLS: s1's %d alerts stored: %d" % (len(ids), len(stored(store, "s1"))))
        r, _ = sense("nocert", "ca = %s/ca.pem\n" % pki, "3")
        t.check(r.returncode == 5 and "cannot connect" in r.stderr,
                "TLS: a sensor without a certificate: exit %d %r"
                % (r.returncode, r.stderr.strip()[-300:]))
    finally:
        tw.stop()


def secret(work, name, text):
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write(text + "\n")
    os.chmod(path, 0o600)
    return path


def run(a, t, work, urls):
    cap = os.path.join(work, "planted.pcap")
    subprocess.run([a.genpcap, "-a", "-n", "20000", "-f", "1000", "-t",
                    os.path.join(work, "truth.json"), cap], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = os.path.join(work, "tower.db")
    ini = os.path.join(work, "tower.ini")
    with open(ini, "w") as f:
        f.write("[stream]\nenable = yes\nurls = %s\nuser = tower\npassword_file = %s\n"
                "max_age = 7d\nduplicate_window = 5m\n"
                % (urls, secret(work, "tower.pw", "tower-secret-1")))
    tw = Tower(a.yagura, store, work, extra=["--config", ini])
    try:
        for name in ("s1", "s2"):
            st, u, _ = tw.call("POST", "/api/v1/users", {"name": name, "role": "sensor"},
                               tw.admin)
            t.check(st in (200, 201), "sensor user %s: %s %s" % (name, st, u))
        t.check(wait_until(lambda: metric(tw, "yagura_stream_connected") == 1, 60),
                "the tower, as user tower, bound to the stream")
        cfg = stream_config(work)
        t.check(cfg is not None and cfg.get("max_age") == 7 * DAY_NS and
                cfg.get("duplicate_window") == 300 * 10**9,
                "the tower made the stream with its limits: %s" % cfg)
        sensors(a, t, work, urls, cap, store)
        cfg = stream_config(work)
        t.check(cfg is not None and cfg.get("max_age") == 7 * DAY_NS,
                "a sensor with limits of its own left the tower's: max_age %s"
                % (cfg or {}).get("max_age"))
    finally:
        tw.stop()

    # A user without a password file: refused at start, one line.
    bad = os.path.join(work, "bad.ini")
    with open(bad, "w") as f:
        f.write("[stream]\nurl = %s\nuser = s1\n" % urls)
    r = subprocess.run([a.yagura, "analyze", "--no-progress", "-q", "-o", os.devnull,
                        "--config", bad, "--stream-sector", "electricity", "--stream-sensor",
                        "s1", cap], capture_output=True, text=True, timeout=60)
    t.check(r.returncode == 1 and "password_file" in r.stderr and
            len(r.stderr.strip().splitlines()) == 1,
            "sensor: user without password_file: exit %d %r" % (r.returncode, r.stderr))
    with open(bad, "w") as f:
        f.write("[stream]\nenable = yes\nurls = %s\nuser = tower\n" % urls)
    r = subprocess.run([a.yagura, "tower", "--listen", "127.0.0.1:0", "--store", store,
                        "--config", bad], capture_output=True, text=True, timeout=60)
    t.check(r.returncode != 0 and "password_file" in r.stderr,
            "tower: user without password_file: exit %d %r" % (r.returncode, r.stderr[-300:]))


def sensors(a, t, work, urls, cap, store):
    def sense(tag, user, pw, sensor, extra_conf="", wait="20"):
        sini = os.path.join(work, "sensor-%s.ini" % tag)
        with open(sini, "w") as f:
            f.write("[stream]\nuser = %s\npassword_file = %s\n%s"
                    % (user, secret(work, tag + ".pw", pw), extra_conf))
        out = os.path.join(work, "eve-%s.json" % tag)
        spool = os.path.join(work, "spool-" + tag)
        r = subprocess.run([a.yagura, "analyze", "--no-progress", "-q", "-o", out,
                            "--config", sini, "--stream", urls, "--stream-sector", "electricity",
                            "--stream-sensor", sensor, "--spool", spool, "--post-wait", wait,
                            cap], capture_output=True, text=True, timeout=300)
        return r, eve_ids(out), spool

    # s1 as itself: every alert stored under s1.
    r, ids, _ = sense("s1", "s1", "s1-secret-2", "s1", "manage = no\n")
    t.check(r.returncode == 0, "s1 publishing as s1: exit %d %s" % (r.returncode,
                                                                    r.stderr[-300:]))
    ok = wait_until(lambda: len(stored(store, "s1")) >= len(ids), 60)
    got = stored(store, "s1")
    t.check(ok and len(ids) > 10 and sorted(got) == sorted(ids),
            "s1's %d alerts stored under s1: %d" % (len(ids), len(got)))

    # s1's credentials claiming s2: the server refuses the subject.
    before = len(stored(store))
    r, ids2, spool = sense("s1-as-s2", "s1", "s1-secret-2", "s2", "manage = no\n", wait="4")
    spooled = sum(1 for _, _, files in os.walk(spool) for f in files if f.endswith(".jsonl"))
    t.check(r.returncode == 5 and len(ids2) > 10,
            "s1 claiming s2: exit %d (5: alerts left in the spool) %s"
            % (r.returncode, r.stderr[-300:]))
    time.sleep(2)
    t.check(stored(store, "s2") == [] and len(stored(store)) == before,
            "nothing stored under s2, nothing more at all: %d" % (len(stored(store)) - before))
    t.check(spooled > 0, "s1-as-s2's alerts wait in its spool: %d segments" % spooled)

    # A wrong password: no connection; one line says so.
    r, _, spool = sense("wrong", "s1", "not-the-password", "s1", "manage = no\n", wait="3")
    t.check(r.returncode == 5 and "cannot connect" in r.stderr and
            "uthorization" in r.stderr,
            "a wrong password: exit %d, %r" % (r.returncode, r.stderr.strip()[-300:]))

    # A sensor that may manage streams, with limits of its own, publishing:
    # it creates no stream (one exists) and changes none.
    r, ids3, _ = sense("lab", "lab", "lab-secret-3", "s1", "max_age = 1h\nreplicas = 1\n")
    t.check(r.returncode == 0, "lab publishing as s1: exit %d %s" % (r.returncode,
                                                                     r.stderr[-300:]))
    t.check(wait_until(lambda: len(stored(store, "s1")) >= len(ids) + len(ids3), 60),
            "lab's alerts stored too")


main()
