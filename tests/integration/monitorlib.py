"""Shared by the monitoring-authorization tests (issue 13): a capture fed
to `yagura analyze --tower` through a pipe, a part at a time, and a stub of
the tower's side of the contract for running the sensor without it."""
import fcntl
import json
import os
import re
import struct
import subprocess
import termios
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pcapgen import *

ACTIVE = "/api/v1/monitoring/authorizations/active"


def pcap_header(linktype=LINK_ETHERNET):
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)


def pcap_records(frames):
    out = b""
    for ts, data in frames:
        sec = int(ts)
        out += struct.pack("<IIII", sec, int(round((ts - sec) * 1e6)), len(data), len(data))
        out += data
    return out


ARP = eth(b"\x00\x01\x08\x00\x06\x04\x00\x01" + b"\0" * 20, 0x0806)


def scan(src, t, n=40, port=23, net="198.51.100."):
    """src probing n hosts on one port: a horizontal scan."""
    return [(t + h * 0.001, eth(ipv4(src, "%s%d" % (net, h + 1), 6, tcp(40000 + h, port, SYN))))
            for h in range(n)]


class Sensor:
    """yagura analyze --tower URL ... - , fed through stdin; stderr is read
    by a thread so that tests can wait for a line."""

    def __init__(self, yagura, url, tokfile, workdir, poll=1, extra=(), post_wait=20,
                 flag="--tower"):
        self.out = os.path.join(workdir, "eve.jsonl")
        self.proc = subprocess.Popen(
            [yagura, "analyze", flag, url, "--token-file", tokfile, "--authorization-poll",
             str(poll), "--spool", os.path.join(workdir, "spool"), "--post-wait", str(post_wait),
             "-o", self.out] + list(extra) + ["-"],
            stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=False)
        self.lines, self.cv = [], threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.proc.stdin.write(pcap_header())
        self.proc.stdin.flush()

    def _read(self):
        for raw in self.proc.stderr:
            with self.cv:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self.cv.notify_all()
        with self.cv:
            self.lines.append(None)  # EOF
            self.cv.notify_all()

    def wait_line(self, pattern, after=0, timeout=60):
        """The index of the first stderr line from index `after` on that
        matches pattern; None if stderr ends or the deadline passes (a
        guard against hanging, not a timed assertion)."""
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        with self.cv:
            while True:
                for i in range(after, len(self.lines)):
                    if self.lines[i] is None:
                        return None
                    if rx.search(self.lines[i]):
                        return i
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cv.wait(left)

    def feed(self, frames):
        self.proc.stdin.write(pcap_records(frames))
        self.proc.stdin.flush()

    def feed_file(self, path):
        """The records of a classic pcap file (its header skipped: the
        sensor has had one)."""
        with open(path, "rb") as f:
            self.proc.stdin.write(f.read()[24:])
        self.proc.stdin.flush()

    def _drained(self, timeout=60):
        end = time.monotonic() + timeout
        buf = bytearray(4)
        while time.monotonic() < end and self.proc.poll() is None:
            fcntl.ioctl(self.proc.stdin.fileno(), termios.FIONREAD, buf)
            if struct.unpack("i", bytes(buf))[0] == 0:
                return True
            time.sleep(0.01)
        return False

    def feed_analysed(self, frames):
        """Feeds frames and returns once the sensor has analysed them: it
        reads the pipe again only when every complete record it read before
        went through the pipeline, so once a barrier (one ARP frame: not
        IP, the same with or without authorizations) written after them
        leaves the pipe, they are done. Returns the frames fed (the
        barrier's among them)."""
        self.feed(frames)
        ok = self._drained()
        barrier = [(frames[-1][0] if frames else 0, ARP)]
        self.feed(barrier)
        return ok and self._drained()

    def finish(self):
        """Closes stdin, waits; returns (exit code, stderr text, EVE records)."""
        self.proc.stdin.close()
        rc = self.proc.wait(timeout=120)
        self.reader.join(timeout=30)
        with open(self.out) as f:
            recs = [json.loads(l) for l in f if l.strip()]
        return rc, "\n".join(l for l in self.lines if l is not None), recs


def unauthorized(stderr):
    m = re.search(r"monitoring: (\d+) unauthorized", stderr)
    return int(m.group(1)) if m else None


class StubTower:
    """The tower's side of the contract and nothing more: the active list
    (settable; a status or raw body to answer instead), and alerts taken."""

    def __init__(self, token, sensor="sensor-1"):
        self.token, self.sensor = token, sensor
        self.auths, self.fail, self.raw, self.alerts, self.gets = [], None, None, [], 0
        self.lock = threading.Lock()
        stub = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def answer(self, status, obj):
                body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def authorized(self):
                if self.headers.get("Authorization") != "Bearer " + stub.token:
                    self.answer(401, {"error": "unauthorized", "message": "bad token"})
                    return False
                return True

            def do_GET(self):
                if self.path != ACTIVE:
                    return self.answer(404, {"error": "not_found", "message": "no route"})
                if not self.authorized():
                    return
                with stub.lock:
                    stub.gets += 1
                    fail, raw, auths = stub.fail, stub.raw, list(stub.auths)
                if fail:
                    return self.answer(fail, {"error": "unavailable", "message": "stub says no"})
                if raw is not None:
                    return self.answer(200, raw)
                self.answer(200, {"sensor": stub.sensor,
                                  "now": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                  "authorizations": auths})

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                if self.path != "/api/v1/alerts":
                    return self.answer(404, {"error": "not_found", "message": "no route"})
                if not self.authorized():
                    return
                with stub.lock:
                    stub.alerts.extend(json.loads(body).get("alerts", []))
                self.answer(200, {"accepted": len(json.loads(body).get("alerts", []))})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def set(self, auths=None, fail=None, raw=None):
        with self.lock:
            if auths is not None:
                self.auths = auths
            self.fail, self.raw = fail, raw

    def alert_ips(self):
        with self.lock:
            return {a.get("src_ip") for a in self.alerts} | {a.get("dest_ip") for a in self.alerts}

    def stop(self):
        self.httpd.shutdown()


def auth(aid, prefixes=(), vlans=(), until="2099-01-01T00:00:00Z", frm="2000-01-01T00:00:00Z"):
    return {"id": aid, "sensor": "sensor-1", "prefixes": list(prefixes), "vlans": list(vlans),
            "purpose": "test", "from": frm, "until": until, "state": "active"}
