"""Running a yagura tower for tests: start on a free loopback port, call
its API, stop it."""
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

# Issue 18: where the suite writes down the secrets it issued and what the
# towers said (logs, error bodies, metrics), for secrets_scan.py to look
# for the first in the second after every test ran. Unset: nothing kept.
SECRETS_DIR = os.environ.get("YAGURA_SECRETS_DIR")


def _keep(kind, text):
    """Appends text (one line) to this process's file of kind."""
    if not SECRETS_DIR or not text:
        return
    os.makedirs(SECRETS_DIR, exist_ok=True)
    with open(os.path.join(SECRETS_DIR, "%s-%d.txt" % (kind, os.getpid())), "a") as f:
        f.write(text.replace("\n", " ") + "\n")


def keep_secret(text):
    if isinstance(text, str) and len(text) >= 8:
        _keep("secrets", text)


class Tower:
    # Plain HTTP unless __init__ is given tls (subclasses may skip __init__).
    tls = None
    scheme = "http"

    def __init__(self, yagura, store, workdir, threads=4, extra=(), init_extra=(), tls=None):
        """tls: an ssl.SSLContext that trusts the tower's certificate, when
        extra makes it serve HTTPS; calls then go over https://."""
        self.yagura, self.store, self.threads, self.extra = yagura, store, threads, list(extra)
        self.tls = tls
        self.scheme = "https" if tls is not None else "http"
        out = subprocess.run([yagura, "admin", "init", "--store", store] + list(init_extra),
                             capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit("admin init: %s" % out.stderr)
        self.admin = out.stdout.strip()
        keep_secret(self.admin)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.logpath = os.path.join(workdir, "tower.log")
        self.log = None
        self.start()

    def start(self):
        if self.log is None or self.log.closed:
            self.log = open(self.logpath, "a")
        self.proc = subprocess.Popen([self.yagura, "tower", "--listen",
                                      "127.0.0.1:%d" % self.port, "--store", self.store,
                                      "--threads", str(self.threads)] + self.extra,
                                     stderr=self.log, stdout=self.log)
        for _ in range(200):
            try:
                self.call("GET", "/healthz")
                return
            except OSError:
                time.sleep(0.05)
        sys.exit("tower did not start")

    def kill(self):
        self.proc.kill()
        self.proc.wait(timeout=30)
        self._keep_log()

    def _keep_log(self):
        """A copy of the tower's log so far, for secrets_scan.py."""
        if SECRETS_DIR and os.path.exists(self.logpath):
            os.makedirs(SECRETS_DIR, exist_ok=True)
            with open(self.logpath, "rb") as f:
                data = f.read()
            with open(os.path.join(SECRETS_DIR, "log-%d-%d.txt" % (os.getpid(), id(self))),
                      "wb") as f:
                f.write(data)

    def url(self, path=""):
        return "%s://127.0.0.1:%d%s" % (self.scheme, self.port, path)

    def call(self, method, path, body=None, token=None, headers=None):
        data = None if body is None else (body if isinstance(body, bytes)
                                          else json.dumps(body).encode())
        req = urllib.request.Request(self.url(path), data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        if SECRETS_DIR and method == "PUT" and path.endswith("/password") and \
                isinstance(body, dict):
            keep_secret(body.get("password"))
        try:
            with urllib.request.urlopen(req, timeout=30, context=self.tls) as r:
                raw = r.read()
                ctype = r.headers.get_content_type()
                ans = (json.loads(raw) if raw and ctype == "application/json" else
                       raw if ctype == "application/octet-stream" else raw.decode())
                if SECRETS_DIR:
                    self._keep_answer(method, path, r.headers, ans)
                return r.status, ans, r.headers
        except urllib.error.HTTPError as e:
            raw = e.read()
            _keep("bodies", raw.decode(errors="replace"))  # an error's body
            try:
                return e.code, json.loads(raw), e.headers
            except ValueError:
                return e.code, raw.decode(), e.headers

    def _keep_answer(self, method, path, headers, ans):
        """The secrets an answer issues (tokens, session cookies), and the
        metrics, which must hold none."""
        if method == "POST" and path == "/api/v1/tokens" and isinstance(ans, dict):
            keep_secret(ans.get("token"))
        for c in headers.get_all("Set-Cookie") or []:
            name, _, rest = c.partition("=")
            keep_secret(rest.split(";")[0])
        if path == "/metrics" and isinstance(ans, str):
            _keep("bodies", ans)

    def raw(self, method, path, token=None):
        """The body of a 200 answer as bytes, or None for any other status."""
        req = urllib.request.Request(self.url(path), method=method)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=30, context=self.tls) as r:
                return r.read() if r.status == 200 else None
        except urllib.error.HTTPError:
            return None

    def token_for(self, name, role, tokfile=None):
        """Creates a user with role and a token for it (as the admin);
        returns the token, written to tokfile too when given."""
        st, u, _ = self.call("POST", "/api/v1/users", {"name": name, "role": role}, self.admin)
        st, tk, _ = self.call("POST", "/api/v1/tokens", {"user_id": u["id"]}, self.admin)
        if tokfile is not None:
            with open(tokfile, "w") as f:
                f.write(tk["token"] + "\n")
        return tk["token"]

    def cast(self):
        """An organisation and a token each for its operator and for a
        sensor, an analyst and an auditor of the office, as the admin:
        {"operator": ..., "sensor": ..., "analyst": ..., "auditor": ...}."""
        st, org, _ = self.call("POST", "/api/v1/orgs", {"name": "Grid", "sector": "electricity"},
                               self.admin)
        st, u, _ = self.call("POST", "/api/v1/users", {"name": "op", "role": "operator",
                                                        "org_id": org["id"]}, self.admin)
        st, tk, _ = self.call("POST", "/api/v1/tokens", {"user_id": u["id"]}, self.admin)
        out = {"operator": tk["token"]}
        for role in ("sensor", "analyst", "auditor"):
            out[role] = self.token_for(role, role)
        return out

    def stop(self):
        self.proc.terminate()
        rc = self.proc.wait(timeout=30)
        self.log.close()
        self._keep_log()
        return rc


class Peer(Tower):
    """Another tower on a store that a first one initialised: no admin init;
    admin is the first one's admin token."""

    def __init__(self, yagura, store, workdir, admin, threads=4, extra=(), name="tower2"):
        self.yagura, self.store, self.threads, self.extra = yagura, store, threads, list(extra)
        self.admin = admin
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.logpath = os.path.join(workdir, name + ".log")
        self.log = None
        self.start()


def pg_url(yagura):
    """The PostgreSQL the ctest fixture started (or YAGURA_TEST_PG_URL)."""
    pg = os.environ.get("YAGURA_TEST_PG_URL")
    urlfile = os.path.join(os.path.dirname(yagura), "pg-url")
    if not pg and os.path.exists(urlfile):
        pg = open(urlfile).read().strip()
    return pg or None


def fresh_pg_db(pg, name):
    """Creates database name on the server of URL pg; returns its URL."""
    base, _, _ = pg.rpartition("/")
    subprocess.run(["psql", pg, "-q", "-c", "DROP DATABASE IF EXISTS %s" % name], check=True)
    subprocess.run(["psql", pg, "-q", "-c", "CREATE DATABASE %s" % name], check=True)
    return base + "/" + name


def both_stores(t, yagura, workdir, pg_name):
    """The stores a tower test runs on: SQLite in workdir, and a fresh
    database pg_name on the PostgreSQL the ctest fixture started (a failed
    check, not a skip, when there is none)."""
    stores = [("sqlite", os.path.join(workdir, "tower.db"))]
    pg = pg_url(yagura)
    if pg:
        stores.append(("postgres", fresh_pg_db(pg, pg_name)))
    else:
        t.check(False, "no PostgreSQL: the pg fixture (scripts/pg-test.sh) must run first")
    return stores


def store_rows(store, q):
    """The rows of query q on the store (SQLite path or PostgreSQL URL),
    each a tuple of strings; for checks against the tables themselves."""
    if store.startswith("postgres"):
        p = subprocess.run(["psql", store, "-At", "-F", "|", "-v", "ON_ERROR_STOP=1", "-c", q],
                           capture_output=True, text=True, check=True)
        return [tuple(line.split("|")) for line in p.stdout.splitlines() if line]
    import sqlite3
    with sqlite3.connect(store, timeout=30) as db:
        return [tuple(str(v) for v in r) for r in db.execute(q)]


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def authorize(tw, sensor, prefixes=("0.0.0.0/0", "::/0"), vlans=(), until=None,
              sensor_token=None, purpose="integration test"):
    """Has an analyst propose a monitoring authorization for sensor (the
    sensor's user name) and an overseer approve it (a second one if the
    tower asks for more), as issue 13 requires before `analyze --tower` or
    `--post` analyses anything. With sensor_token, returns only once the
    tower lists it active for that sensor. Returns its id, or None when this
    tower has no monitoring authorizations (404)."""
    if not hasattr(tw, "_mon_tokens"):
        tw._mon_tokens = (tw.token_for("mon-analyst", "analyst"),
                          tw.token_for("mon-overseer", "overseer"),
                          tw.token_for("mon-overseer2", "overseer"))
    analyst, ov1, ov2 = tw._mon_tokens
    body = {"sensor": sensor, "prefixes": list(prefixes), "vlans": list(vlans),
            "purpose": purpose, "until": until or rfc3339(time.time() + 86400)}
    st, res, _ = tw.call("POST", "/api/v1/monitoring/authorizations", body, analyst)
    if st == 404:
        return None
    if st != 201:
        sys.exit("proposing a monitoring authorization: HTTP %d %s" % (st, res))
    aid = res["authorization"]["id"]
    for ov in (ov1, ov2):
        st, res, _ = tw.call("POST", "/api/v1/monitoring/authorizations/%d/approve" % aid,
                             {"reason": "approved for the test"}, ov)
        if st != 200:
            sys.exit("approving monitoring authorization %d: HTTP %d %s" % (aid, st, res))
        if res["authorization"]["state"] != "proposed":
            break
    if sensor_token:
        wait_active(tw, sensor_token, aid)
    return aid


def wait_active(tw, sensor_token, aid, active=True, timeout=60):
    """Waits until the tower lists (or, active False, no longer lists)
    authorization aid for the sensor whose token is given."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        st, res, _ = tw.call("GET", "/api/v1/monitoring/authorizations/active",
                             token=sensor_token)
        ids = [x.get("id") for x in res.get("authorizations", [])] if st == 200 else []
        if (aid in ids) == active:
            return
        time.sleep(0.1)
    sys.exit("authorization %d not %s after %ds" % (aid, "active" if active else "gone", timeout))


def monitoring_or_skip(tw, token=None):
    """Exits 77 (skipped) when the tower has no monitoring authorizations
    yet: the sensor needs them for --tower and --post (issue 13)."""
    st, _, _ = tw.call("GET", "/api/v1/monitoring/authorizations/active", token=token)
    if st == 404:
        print("skipped: this tower has no monitoring authorizations "
              "(GET /api/v1/monitoring/authorizations/active answers 404)")
        tw.stop()
        sys.exit(77)


def wait_until(pred, timeout, step=0.2):
    """True once pred() holds, False if timeout seconds pass first."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def metric(tw, name, labels=None):
    """The value of a series on tw's /metrics (labels: its label text, such
    as 'job="log"'), or None."""
    body = tw.raw("GET", "/metrics")
    want = name if labels is None else "%s{%s}" % (name, labels)
    for line in (body or b"").decode().splitlines():
        if line.startswith(want + " "):
            return float(line.split()[1])
    return None


class Workers:
    """Threads running work(arg) for each of args until stop(); the lock
    and the halt event are theirs to share."""

    def __init__(self, work, args, daemon=False):
        self.lock = threading.Lock()
        self.halt = threading.Event()
        self.threads = [threading.Thread(target=work, args=(a,), daemon=daemon) for a in args]

    def start(self):
        for th in self.threads:
            th.start()
        return self

    def stop(self):
        self.halt.set()
        for th in self.threads:
            th.join()


class Load(Workers):
    """Clients writing to tw until stop(): reports as the operator (op), alert
    batches of `batch` as the sensor. What got a 2xx is remembered: each
    report's key ("wN-I", its summary before any padding) in acked_reports,
    each alert id in acked_alerts; every status is counted in statuses (0:
    no answer), and oks counts the 2xx. pad adds that many characters to
    each summary (to fill a disk sooner)."""

    def __init__(self, tw, op, sensor, writers=4, batch=20, pad=0):
        self.tw, self.op, self.sensor = tw, op, sensor
        self.batch, self.pad = batch, pad
        self.acked_reports, self.acked_alerts, self.statuses = set(), set(), {}
        self.oks = 0
        Workers.__init__(self, self._writer, range(writers))

    def _writer(self, n):
        rnd = random.Random(n)
        i = 0
        while not self.halt.is_set():
            i += 1
            try:
                if rnd.random() < 0.5:
                    key = "w%d-%d" % (n, i)
                    summary = key + (" " + "x" * self.pad if self.pad else "")
                    st, _, _ = self.tw.call("POST", "/api/v1/reports", {
                        "category": "malware", "summary": summary, "severity": "medium",
                        "detected_at": "2026-11-22T00:00:00Z"}, self.op)
                    done = (self.acked_reports, [key])
                else:
                    ids = ["w%d-%d-%d" % (n, i, k) for k in range(self.batch)]
                    recs = [{"alert_id": x, "timestamp": "2026-11-22T00:00:00.000000+0000",
                             "src_ip": "203.0.113.%d" % n, "dest_ip": "10.0.0.1",
                             "alert": {"signature_id": 9100001, "severity": 2}} for x in ids]
                    st, _, _ = self.tw.call("POST", "/api/v1/alerts", {"alerts": recs},
                                            self.sensor)
                    done = (self.acked_alerts, ids)
            except OSError:
                st, done = 0, None  # the tower is down: try again
            with self.lock:
                self.statuses[st] = self.statuses.get(st, 0) + 1
                if 200 <= st < 300:
                    done[0].update(done[1])
                    self.oks += 1
            if not 200 <= st < 300:
                time.sleep(0.02)


def log_covers(tw, auditor, n_entries, timeout=30):
    """Asks tw for a checkpoint until one covers n_entries entries (the
    sequencer may still wait on an id gap for a second); returns the size
    of the last one, -1 when none was served."""
    size, deadline = -1, time.time() + timeout
    while size != n_entries and time.time() < deadline:
        st, note, _ = tw.call("POST", "/api/v1/log/checkpoint", b"", auditor)
        size = int(note.split("\n")[1]) if st == 200 else -1
        if size != n_entries:
            time.sleep(0.2)
    return size


def log_verified(t, tw, auditor, n_entries, yagura, store):
    """The end of every fault test: a checkpoint covers all n_entries of
    the log, and `yagura audit verify --store` finds every row the
    entries name as they name it (checks on t, a common.Checker)."""
    size = log_covers(tw, auditor, n_entries)
    t.check(size == n_entries, "the log's checkpoint covers %d of %d entries" % (size, n_entries))
    st, vkey, _ = tw.call("GET", "/log/key")
    p = subprocess.run([yagura, "audit", "verify", "--store", store, "--key", vkey.strip()],
                       capture_output=True, text=True, timeout=300)
    t.check(p.returncode == 0, "audit verify --store: %s %s" % (p.stdout[-300:], p.stderr[-300:]))
