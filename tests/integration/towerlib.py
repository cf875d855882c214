"""Running a yagura tower for tests: start on a free loopback port, call
its API, stop it."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request


class Tower:
    def __init__(self, yagura, store, workdir, threads=4, extra=(), init_extra=()):
        self.yagura, self.store, self.threads, self.extra = yagura, store, threads, list(extra)
        out = subprocess.run([yagura, "admin", "init", "--store", store] + list(init_extra),
                             capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit("admin init: %s" % out.stderr)
        self.admin = out.stdout.strip()
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

    def call(self, method, path, body=None, token=None, headers=None):
        data = None if body is None else (body if isinstance(body, bytes)
                                          else json.dumps(body).encode())
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), data=data,
                                     method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raw = r.read()
                ctype = r.headers.get_content_type()
                return r.status, (json.loads(raw) if raw and ctype == "application/json" else
                                  raw if ctype == "application/octet-stream" else raw.decode()), r.headers
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw), e.headers
            except ValueError:
                return e.code, raw.decode(), e.headers

    def raw(self, method, path, token=None):
        """The body of a 200 answer as bytes, or None for any other status."""
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), method=method)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
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

    def stop(self):
        self.proc.terminate()
        rc = self.proc.wait(timeout=30)
        self.log.close()
        return rc


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
