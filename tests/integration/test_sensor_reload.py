"""`--config FILE` (issue 16): detector thresholds, the ICS allow-list and
intel paths from an INI file, the command line winning over it; and SIGHUP
re-reading it while packets keep flowing. analyze reads a FIFO that the
test feeds in two parts: a horizontal scan below the file's threshold, then
SIGHUP with the threshold lowered (or a broken file), then more of the
scan. The alert appears after a good reload only; a broken file at SIGHUP
is one line and the old configuration stays; at start it is one line and
exit 1 (2 when the file cannot be read)."""
import os
import signal
import struct
import subprocess
import tempfile
import threading
import time

import common
from pcapgen import *

T0 = 1800000000.0
SCANNER = "203.0.113.5"


def rec(ts, fr):
    return struct.pack("<IIII", int(ts), int((ts % 1) * 1e6), len(fr), len(fr)) + fr


def scan_part(first, n, ts):
    """SYNs from SCANNER to n hosts on port 23, each refused (RST): failed
    attempts; then a packet elsewhere 5 s later, which ends their flows
    (idle and closed timeouts of 1 s), so that they are counted now."""
    data = b""
    for i in range(first, first + n):
        dst = "10.20.0.%d" % (i + 1)
        data += rec(ts + i * 0.01, eth(ipv4(SCANNER, dst, 6, tcp(40000 + i, 23, SYN))))
        data += rec(ts + i * 0.01 + 0.001,
                    eth(ipv4(dst, SCANNER, 6, tcp(23, 40000 + i, RST | ACK))))
    data += rec(ts + 5, eth(ipv4("10.9.9.9", "10.9.9.10", 17, b"\x00\x35\x00\x35\x00\x08\x00\x00")))
    return data


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def run_two_parts(y, d, conf, between):
    """analyze --config conf on a FIFO: part one (15 hosts), between(p,
    lines) (the reload), part two (5 more hosts). Returns (exit code,
    records, stderr lines)."""
    fifo = os.path.join(d, "cap%d.fifo" % time.monotonic_ns())
    os.mkfifo(fifo)
    p = subprocess.Popen([y, "analyze", "--no-progress", "--config", conf, "--idle-timeout", "1",
                          "--closed-timeout", "1", fifo],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(iter(p.stderr.readline, b"")))
    reader.start()
    w = open(fifo, "wb")
    try:
        w.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        w.write(scan_part(0, 15, T0))
        w.flush()
        time.sleep(0.5)
        between(p, lines)
        w.write(scan_part(15, 5, T0 + 10))
    finally:
        w.close()
    out = p.stdout.read()
    p.wait(timeout=30)
    reader.join(timeout=10)
    return p.returncode, common.records(out), [l.decode(errors="replace") for l in lines]


def wait_for(lines, word):
    for _ in range(100):
        if any(word.encode() in l for l in lines):
            return True
        time.sleep(0.05)
    return False


def scan_alerts(recs):
    """The horizontal scan's alerts (scan.hosts); the sequential test,
    which has thresholds of its own, may see the scanner sooner."""
    return [r for r in recs if r["event_type"] == "alert" and r["src_ip"] == SCANNER and
            "horizontal" in r["alert"]["signature"]]


def main():
    args = common.parse_args()
    y = args.yagura
    t = common.Checker("sensor_reload")
    with tempfile.TemporaryDirectory() as d:
        conf = os.path.join(d, "sensor.ini")
        good = "[detect]\nscan.hosts = 50   # the test lowers it\n[ics]\nallow = 10.0.0.0/8\n"
        write(conf, good)

        # No SIGHUP: 20 hosts stay below 50.
        rc, recs, lines = run_two_parts(y, d, conf, lambda p, l: None)
        t.check(rc == 0 and not scan_alerts(recs), "no reload, no alert: exit %d %s" % (
            rc, scan_alerts(recs)))

        # A good reload: the new threshold counts from the next batch on.
        def good_reload(p, lines):
            write(conf, "[detect]\nscan.hosts = 10\n[ics]\nallow = 10.0.0.0/8\n")
            p.send_signal(signal.SIGHUP)
            t.check(wait_for(lines, "configuration reloaded"), "reload announced: %s" % lines)

        rc, recs, lines = run_two_parts(y, d, conf, good_reload)
        hits = scan_alerts(recs)
        t.check(rc == 0, "reload run exit %d: %s" % (rc, lines))
        t.check(len(hits) >= 1 and all(h["timestamp"] >= "2027-01-15T08:00:10" for h in hits),
                "the scan alert comes after the reload only: %s" % [
                    (h["timestamp"], h["alert"]["signature"]) for h in hits])
        said = [l for l in lines if "configuration reloaded" in l]
        t.check(len(said) == 1 and "scan.hosts 50 -> 10" in said[0],
                "one line says what changed: %s" % said)

        # A broken file at SIGHUP: one line, the old configuration stays.
        write(conf, good)

        def bad_reload(p, lines):
            write(conf, "[detect]\nscan.hosts = 1\n")
            p.send_signal(signal.SIGHUP)
            t.check(wait_for(lines, "configuration not reloaded"), "refusal said: %s" % lines)

        rc, recs, lines = run_two_parts(y, d, conf, bad_reload)
        said = [l for l in lines if "configuration" in l]
        t.check(rc == 0 and not scan_alerts(recs), "bad reload keeps 50: exit %d %s" % (
            rc, scan_alerts(recs)))
        t.check(len(said) == 1 and "sensor.ini:2" in said[0] and "scan.hosts" in said[0],
                "one line naming the file, line and what: %s" % said)

        # The command line wins over the file.
        write(conf, good)
        cap = os.path.join(d, "all.pcap")
        with open(cap, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            f.write(scan_part(0, 15, T0) + scan_part(15, 5, T0 + 10))
        rc, out, err = common.run(y, ["analyze", "-q", "--config", conf, "--detect",
                                      "scan.hosts=10", "--idle-timeout", "1",
                                      "--closed-timeout", "1", cap], check=False)
        t.check(rc == 0 and scan_alerts(common.records(out)),
                "--detect overrides the file: exit %d %s" % (rc, err))

        # At start: a broken file is one line and exit 1; a missing one, 2.
        for text, want, what in (("[detect]\nscan.hosts = many\n", 1, "sensor.ini:2"),
                                 ("[detect]\nno.such = 3\n", 1, "no.such"),
                                 ("[nope]\nx = 1\n", 1, "[nope]"),
                                 ("[ics]\nallow = 10.0.0.0/33\n", 1, "[ics] allow"),
                                 ("just words\n", 1, "sensor.ini:1")):
            write(conf, text)
            rc, out, err = common.run(y, ["analyze", "-q", "--config", conf, cap], check=False)
            t.check(rc == want and what in err and len(err.strip().splitlines()) == 1 and
                    out == b"", "bad file %r: exit %d, %r" % (text, rc, err))
        rc, out, err = common.run(y, ["analyze", "-q", "--config", os.path.join(d, "none.ini"),
                                      cap], check=False)
        t.check(rc == 2 and "none.ini" in err and len(err.strip().splitlines()) == 1,
                "missing file: exit %d, %r" % (rc, err))

        # [intel] path, comma-separated, as --intel.
        feed = os.path.join(d, "bad.txt")
        write(feed, "%s\n" % SCANNER)
        write(conf, "[intel]\npath = %s, %s\n" % (feed, feed))
        rc, out, err = common.run(y, ["analyze", "-q", "--config", conf, cap], check=False)
        hits = [r for r in common.records(out) if r["event_type"] == "alert" and
                r["alert"]["signature_id"] == 9700001]
        t.check(rc == 0 and hits, "[intel] path matches: exit %d %s" % (rc, err))
    t.finish()


main()
