"""A sensor whose clock is hours off (issue 18): libfaketime (Debian's
faketime) moves the sensor's clock three hours ahead, then three hours
behind, while the tower's stays right. An authorization the tower holds
active for the next hour is in force for the sensor either way, because
the sensor times authorizations by the tower's clock (the "now" of its
answer), and it says once how far off its own clock is. Before, a sensor
three hours ahead took the authorization for ended, and one three hours
behind for not yet begun: every packet was dropped.

Skipped where faketime is not installed (scripts/setup.sh installs it)."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import common
from pcapgen import SYN, eth, ipv4, tcp, write_pcap
from towerlib import Tower, authorize, rfc3339


def main():
    a = common.parse_args()
    t = common.Checker("clock_skew")
    if shutil.which("faketime") is None:
        print("skipped: faketime is not installed (scripts/setup.sh)")
        sys.exit(common.SKIP)
    with tempfile.TemporaryDirectory() as d:
        cap = os.path.join(d, "c.pcap")
        write_pcap(cap, [(1000 + i * 0.01, eth(ipv4("203.0.113.%d" % (i + 1), "10.9.0.1", 6,
                                                       tcp(40000 + i, 22, SYN))))
                         for i in range(20)])
        tw = Tower(a.yagura, os.path.join(d, "t.db"), d)
        tokfile = os.path.join(d, "token")
        sensor = tw.token_for("sensor", "sensor", tokfile)
        aid = authorize(tw, "sensor", until=rfc3339(time.time() + 3600), sensor_token=sensor)
        for shift, word in (("+3h", "ahead of"), ("-3h", "behind")):
            out = os.path.join(d, "eve%s.json" % shift)
            env = dict(os.environ, FAKETIME_DONT_FAKE_MONOTONIC="1")
            # libfaketime is preloaded: an AddressSanitizer build must be told
            # that its runtime need not come first.
            env["ASAN_OPTIONS"] = ":".join(x for x in (os.environ.get("ASAN_OPTIONS"),
                                                       "verify_asan_link_order=0") if x)
            p = subprocess.run(["faketime", "-f", shift, a.yagura, "analyze", "--tower",
                                "http://127.0.0.1:%d" % tw.port, "--token-file", tokfile,
                                "--spool", os.path.join(d, "spool"), "--post-wait", "10",
                                "-o", out, cap], capture_output=True, text=True, timeout=120,
                               env=env)
            flows = []
            if os.path.exists(out):
                with open(out) as f:
                    flows = [json.loads(x) for x in f if '"event_type":"flow"' in x]
            t.check(p.returncode == 0, "clock %s: exit %d %s" % (shift, p.returncode,
                                                                p.stderr[-300:]))
            t.check("monitoring: 1 authorization active (id %d)" % aid in p.stderr,
                    "clock %s: the authorization is in force: %s" % (shift, p.stderr[-400:]))
            t.check(len(flows) == 20, "clock %s: the 20 flows analysed: %d" % (shift, len(flows)))
            m = re.search(r"clock is (\d+) s (ahead of|behind) the tower's", p.stderr)
            t.check(m is not None and abs(int(m.group(1)) - 10800) <= 5 and m.group(2) == word,
                    "clock %s: the sensor says its clock is 3 h %s the tower's: %s"
                    % (shift, word, [ln for ln in p.stderr.splitlines() if "clock" in ln]))
        tw.stop()
    t.finish()


main()
