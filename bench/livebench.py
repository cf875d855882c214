#!/usr/bin/env python3
"""bench/live's driver: packets per second a live reader keeps up with.

A veth pair inside a network namespace of its own; tcpreplay (pinned to
core 0, capture preloaded with -K) replays a capture onto one end at each
rate of a sweep, then as fast as it can; each reader takes the other end:

  yagura-1   yagura sensor --interface vb (AF_PACKET ring, one worker),
             detection on, records to /dev/null, pinned to core 1
  yagura-flows  the same, flows only (--no-detect --metadata strict):
             the work softflowd and nfpcapd do
  yagura-2   yagura-1 with --workers 2 (both cores: it shares them with
             tcpreplay and the kernel's veth work)
  softflowd  softflowd -i vb (libpcap), NetFlow to the discard port,
             pinned to core 1; counts from softflowctl statistics
  nfpcapd    nfpcapd -i vb -w DIR (libpcap, nfdump's live flow maker),
             pinned to core 1; counts from its exit statistics

For each reader and rate it prints the rate tcpreplay reached, what the
reader received and what the kernel dropped for it, and for each reader
the highest rate it kept up with (nothing dropped). Needs root (the
namespace). Traffic stays inside the namespace."""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

NS = "yg-bench-live-%d" % os.getpid()


def ns(*cmd, **kw):
    return ["ip", "netns", "exec", NS] + list(cmd)


def sh(*cmd, **kw):
    return subprocess.run(list(cmd), check=True, **kw)


def replay(cap, rate, loops):
    cmd = ns("taskset", "-c", "0", "tcpreplay", "-K", "-i", "va", "--loop", str(loops))
    cmd += ["--topspeed"] if rate == 0 else ["--pps", str(rate)]
    p = subprocess.run(cmd + [cap], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    m = re.search(r"Actual: (\d+) packets .* sent in ([\d.]+) seconds", p.stdout)
    r = re.search(r"Rated: .* ([\d.]+) pps", p.stdout)
    if not m or not r:
        raise RuntimeError("tcpreplay: %s" % p.stdout[-500:])
    return int(m.group(1)), float(r.group(1))


class Reader:
    def __init__(self, name, tmp, yagura):
        self.name, self.tmp, self.yagura = name, tmp, yagura

    def start(self):
        self.err = open(os.path.join(self.tmp, self.name + ".err"), "w+")
        if self.name.startswith("yagura"):
            n = self.name.split("-")[1]
            cmd = [self.yagura, "sensor", "--interface", "vb", "-o", "/dev/null"]
            pin = "0,1" if n.isdigit() and n != "1" else "1"
            if n == "flows":
                cmd += ["--no-detect", "--metadata", "strict"]
            elif n != "1":
                cmd += ["--workers", n]
            self.p = subprocess.Popen(ns("taskset", "-c", pin, *cmd), stderr=self.err,
                                      stdout=subprocess.DEVNULL)
        elif self.name == "softflowd":
            self.ctl = os.path.join(self.tmp, "sf.ctl")
            self.p = subprocess.Popen(ns("taskset", "-c", "1", "softflowd", "-i", "vb", "-n",
                                         "127.0.0.1:9", "-d", "-c", self.ctl),
                                      stdout=self.err, stderr=subprocess.STDOUT)
        else:
            self.dir = tempfile.mkdtemp(dir=self.tmp)
            self.p = subprocess.Popen(ns("taskset", "-c", "1", "nfpcapd", "-i", "vb", "-w",
                                         self.dir), stdout=self.err, stderr=subprocess.STDOUT)
        time.sleep(1.5)
        self.cpu0 = self.cpu()

    def cpu(self):
        """CPU seconds the reader used so far (user + system, all threads)."""
        try:
            with open("/proc/%d/stat" % self.p.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            return float("nan")

    def stop(self):
        """(received, dropped) as the reader and its kernel socket count them."""
        self.cpu_s = self.cpu() - self.cpu0
        if self.name == "softflowd":
            out = subprocess.run(ns("softflowctl", "-c", self.ctl, "statistics"),
                                 stdout=subprocess.PIPE, text=True).stdout
            subprocess.run(ns("softflowctl", "-c", self.ctl, "shutdown"),
                           stdout=subprocess.DEVNULL)
            self.p.wait(timeout=60)
            rx = int(re.search(r"Packets received by libpcap: (\d+)", out).group(1))
            dr = int(re.search(r"Packets dropped by libpcap: (\d+)", out).group(1))
            di = int(re.search(r"Packets dropped by interface: (\d+)", out).group(1))
            return rx, dr + di
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(timeout=120)
        self.err.seek(0)
        text = self.err.read()
        if self.name.startswith("yagura"):
            m = re.search(r"capture: (\d+) frames received, (\d+) dropped by the kernel .*?, "
                          r"(\d+) by the interface", text)
            if not m:
                raise RuntimeError("%s: %s" % (self.name, text[-800:]))
            return int(m.group(1)), int(m.group(2)) + int(m.group(3))
        m = re.search(r"Stat: received: (\d+), dropped by OS/Buffer: (\d+)", text)
        if not m:
            raise RuntimeError("nfpcapd: %s" % text[-800:])
        shutil.rmtree(self.dir, ignore_errors=True)
        return int(m.group(1)), int(m.group(2))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--yagura", required=True)
    ap.add_argument("--capture", required=True)
    ap.add_argument("--rates", default="20000,50000,100000,200000,0",
                    help="packets per second to try, 0 for tcpreplay's top speed")
    ap.add_argument("--loops", type=int, default=3)
    ap.add_argument("--readers", default="yagura-1,yagura-flows,yagura-2,softflowd,nfpcapd")
    a = ap.parse_args()
    if os.getuid() != 0:
        print("bench/live needs root: it makes a network namespace", file=sys.stderr)
        return 1
    rates = [int(x) for x in a.rates.split(",")]
    rows = []
    sh("ip", "netns", "add", NS)
    try:
        sh(*ns("ip", "link", "set", "lo", "up"))
        sh(*ns("ip", "link", "add", "va", "type", "veth", "peer", "name", "vb"))
        for dev in ("va", "vb"):
            sh(*ns("ip", "link", "set", dev, "up"))
            sh(*ns("sysctl", "-q", "-w", "net.ipv6.conf.%s.disable_ipv6=1" % dev))
        with tempfile.TemporaryDirectory() as tmp:
            for name in a.readers.split(","):
                for rate in rates:
                    rd = Reader(name, tmp, a.yagura)
                    rd.start()
                    sent, pps = replay(a.capture, rate, a.loops)
                    time.sleep(1)
                    rx, dropped = rd.stop()
                    rows.append((name, rate, sent, pps, rx, dropped, rd.cpu_s))
                    print("%-10s target %-9s reached %9.0f pps: sent %d, received %d, "
                          "dropped %d, %.2f CPU s" % (name, rate or "top", pps, sent, rx,
                                                      dropped, rd.cpu_s), flush=True)
    finally:
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    print()
    # The sender may top out before any reader drops: the CPU a reader spent
    # per packet then says how far it would go on a core of its own.
    print("%-10s %14s %22s %16s %18s" % ("reader", "kept up with", "top speed: dropped",
                                         "CPU us/packet", "packets/CPU-second"))
    ref = None
    for name in a.readers.split(","):
        ok = [r[3] for r in rows if r[0] == name and r[5] == 0]
        top = [r for r in rows if r[0] == name and r[1] == 0]
        rx = sum(r[4] for r in rows if r[0] == name)
        cpu = sum(r[6] for r in rows if r[0] == name)
        per = cpu * 1e6 / rx if rx else float("nan")
        rate = rx / cpu if cpu else float("nan")
        if ref is None:
            ref = rate
        print("%-10s %10.0f pps %22s %16.2f %12.0f (%.2fx)" % (
            name, max(ok) if ok else 0,
            "%d of %d" % (top[0][5], top[0][2]) if top else "-", per, rate,
            ref / rate if rate else float("nan")))
    print("(x: yagura-1's packets per CPU-second over the reader's)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
