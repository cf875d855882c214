"""yagura analyze --post: alerts reach the tower through a spool on disk,
and none is lost or stored twice while the tower is down, restarting or
killed. --post is --tower (issue 13): the sensor first needs a monitoring
authorization from the tower, so the tower goes down only once the sensor
has it; the test is skipped while the tower has no authorizations."""
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

import common
from monitorlib import Sensor
from pcapgen import *
from towerlib import Tower, authorize, monitoring_or_skip


def scanners(path, n, base=0):
    """n scanners, each probing 12 hosts on one port: n horizontal scan
    alerts (and as many from the first-contact test, see dry())."""
    fr = []
    for s in range(n):
        src = "203.0.%d.%d" % ((base + s) // 250, (base + s) % 250 + 1)
        for h in range(12):
            fr.append((1000 + s * 0.01 + h * 0.0001,
                       eth(ipv4(src, "10.9.0.%d" % (h + 1), 6, tcp(40000 + h, 23, SYN)))))
    write_pcap(path, sorted(fr, key=lambda x: x[0]))


def dry(y, cap):
    """The alerts a capture gives without a tower."""
    out = subprocess.run([y, "analyze", "-q", cap], capture_output=True, text=True).stdout
    return sum(1 for line in out.splitlines() if '"event_type":"alert"' in line)


def total_alerts(tw):
    """The alerts the tower stored. Not the sum over /sources: an alert is
    credited to each attacker it names, and a flood from forged addresses
    names none."""
    with sqlite3.connect(tw.store) as db:
        return db.execute("SELECT COUNT(*) FROM alerts").fetchone()[0]


def analyze(yagura, cap, url, tokfile, spool, wait):
    return subprocess.run([yagura, "analyze", "--post", url, "--token-file", tokfile,
                           "--spool", spool, "--post-wait", str(wait), "-o", os.devnull, cap],
                          capture_output=True, text=True, timeout=120)


def main():
    a = common.parse_args()
    t = common.Checker("post")
    y = a.yagura
    with tempfile.TemporaryDirectory() as d:
        tw = Tower(y, os.path.join(d, "t.db"), d)
        tokfile = os.path.join(d, "token")
        sensor_tok = tw.token_for("sensor", "sensor", tokfile)
        url = "http://127.0.0.1:%d" % tw.port
        spool = os.path.join(d, "spool")
        monitoring_or_skip(tw, sensor_tok)
        authorize(tw, "sensor", sensor_token=sensor_tok)

        # 1. Tower up: every alert arrives.
        cap = os.path.join(d, "scan40.pcap")
        scanners(cap, 40)
        n1 = dry(y, cap)
        p = analyze(y, cap, url, tokfile, spool, 20)
        t.check(n1 >= 40 and p.returncode == 0 and
                "%d alerts spooled, %d sent" % (n1, n1) in p.stderr and
                "0 left" in p.stderr, "tower up: %s" % p.stderr[-300:])
        t.check(total_alerts(tw) == n1, "tower has %d alerts" % n1)

        # 2. Tower down (once the sensor has its authorization): the alerts
        # wait in the spool; the next run sends them.
        cap2 = os.path.join(d, "scan25.pcap")
        scanners(cap2, 25, base=100)
        n2 = dry(y, cap2)
        s = Sensor(y, url, tokfile, d, post_wait=1, flag="--post")
        t.check(s.wait_line(r"^analyze: monitoring: 1 authorization active") is not None,
                "authorized: %s" % s.lines)
        tw.stop()
        s.feed_file(cap2)
        rc, err, _ = s.finish()
        # Not delivered is not success: exit 5, one line saying how many wait
        # and why, so that a scheduled job learns of it.
        t.check(n2 >= 25 and rc == 5 and "%d left" % n2 in err and
                "%d alerts wait in" % n2 in err and "could not be reached" in err,
                "tower down: alerts left in the spool, exit %d: %s" % (rc, err[-300:]))
        tw.start()
        empty = os.path.join(d, "empty.pcap")
        write_pcap(empty, [])
        p = analyze(y, empty, url, tokfile, spool, 20)
        t.check(p.returncode == 0 and "0 left" in p.stderr, "next run drains: %s" % p.stderr[-300:])
        t.check(total_alerts(tw) == n1 + n2, "tower has %d alerts after the drain: %d" %
                (n1 + n2, total_alerts(tw)))

        # 3. Tower killed and restarted while the sensor sends: all arrive, once.
        cap3 = os.path.join(d, "scan600.pcap")
        scanners(cap3, 600, base=300)

        def chaos():
            # Down before the sensor starts, back, killed again at once
            # (possibly mid-batch), back.
            tw.kill()
            time.sleep(0.6)
            tw.start()
            time.sleep(0.01)
            tw.kill()
            time.sleep(0.6)
            tw.start()
        # How many alerts the capture gives (600 scans, and SYN floods on the
        # hosts they all probed).
        want = n1 + n2 + dry(y, cap3)
        s = Sensor(y, url, tokfile, d, post_wait=60, flag="--post")
        t.check(s.wait_line(r"^analyze: monitoring: 1 authorization active") is not None,
                "authorized: %s" % s.lines)
        th = threading.Thread(target=chaos)
        th.start()
        time.sleep(0.05)
        s.feed_file(cap3)
        th.join()
        rc, err, _ = s.finish()
        n = total_alerts(tw)
        t.check(rc == 0 and "0 left" in err, "through kills: %s" % err[-300:])
        t.check(" 0 retries" not in err, "the sensor met the tower down: %s" %
                [l for l in err.splitlines() if "post:" in l])
        t.check(want >= n1 + n2 + 600 and n == want,
                "every alert stored exactly once through kills: %d of %d" % (n, want))
        leftover = [f for f in os.listdir(spool) if f.endswith(".jsonl")]
        t.check(leftover == [], "spool emptied: %s" % leftover)

        # A spool segment the tower can never take (a damaged line) is set
        # aside instead of blocking the alerts after it.
        with open(os.path.join(spool, "alerts-1-1.jsonl"), "w") as f:
            f.write('{"timestamp": "2026-11-22T00:00:00.000000+0000", "alert": {}}\n{broken\n')
        cap4 = os.path.join(d, "scan3.pcap")
        scanners(cap4, 3, base=2000)
        n4 = dry(y, cap4)
        before = total_alerts(tw)
        p = analyze(y, cap4, url, tokfile, spool, 20)
        t.check(p.returncode == 0 and "set aside" in p.stderr and
                os.path.exists(os.path.join(spool, "alerts-1-1.jsonl.rejected")),
                "damaged segment set aside: %s" % p.stderr[-400:])
        t.check(n4 >= 3 and total_alerts(tw) == before + n4,
                "alerts after it still delivered")

        # A token the tower refuses, and a server that is no tower: no
        # authorization, so nothing is read: exit 7, the reason said.
        bad_tok = os.path.join(d, "badtoken")
        with open(bad_tok, "w") as f:
            f.write("yg_not_a_real_token\n")
        spool2 = os.path.join(d, "spool2")
        p = analyze(y, cap4, url, bad_tok, spool2, 2)
        t.check(p.returncode == 7 and "refused the token (HTTP 401" in p.stderr and
                url in p.stderr and not [f for f in os.listdir(spool2) if f.endswith(".jsonl")
                                         and os.path.getsize(os.path.join(spool2, f))],
                "refused token: exit %d: %s" % (p.returncode, p.stderr[-300:]))
        web = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               cwd=d, env=dict(os.environ, PYTHONUNBUFFERED="1"))
        try:
            line = web.stdout.readline()  # "Serving HTTP on 127.0.0.1 port N ..."
            wport = int(line.split(" port ")[1].split()[0])
            p = analyze(y, cap4, "http://127.0.0.1:%d" % wport, tokfile,
                        os.path.join(d, "spool3"), 2)
            t.check(p.returncode == 7 and "is it a tower" in p.stderr,
                    "not a tower: exit %d: %s" % (p.returncode, p.stderr[-300:]))
        finally:
            web.kill()
            web.wait()

        # Bad use.
        p = subprocess.run([y, "analyze", "--post", "ftp://x", "--token-file", tokfile, cap],
                           capture_output=True, text=True)
        t.check(p.returncode == 3 and "ftp://x" in p.stderr, "bad URL: %d %s" % (p.returncode, p.stderr))
        env = dict(os.environ)
        env.pop("YAGURA_TOKEN", None)
        p = subprocess.run([y, "analyze", "--post", url, cap], capture_output=True, text=True,
                           env=env)
        t.check(p.returncode == 1 and "token" in p.stderr, "no token: %d" % p.returncode)
        tw.stop()
    t.finish()


main()
