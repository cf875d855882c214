"""Shared helpers for the integration tests: arguments, running yagura."""
import argparse
import json
import os
import subprocess
import sys

SKIP = 77


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--yagura", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--shared", required=True)
    return ap.parse_args()


def run(yagura, args, check=True):
    """Runs yagura; returns (exit code, stdout bytes, stderr text)."""
    p = subprocess.run([yagura] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, timeout=300)
    if check and p.returncode != 0:
        sys.exit("yagura %s: exit %d\n%s" % (" ".join(args), p.returncode, p.stderr.decode()))
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def records(out):
    return [json.loads(line) for line in out.decode().splitlines()]


class Checker:
    """Collects failures so one run reports all of them."""

    def __init__(self, name):
        self.name, self.passed, self.failed = name, 0, 0

    def check(self, cond, what):
        """Counts cond; returns it, so that a step can depend on it."""
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL: %s" % what)
        return cond

    def finish(self):
        print("%s: %d passed, %d failed" % (self.name, self.passed, self.failed))
        sys.exit(1 if self.failed else 0)


def shared_pcaps(shared):
    d = os.path.join(shared, "data", "pcaps")
    if not os.path.isdir(d):
        print("skipped: %s is absent (it comes with CI's ../shared)" % d)
        sys.exit(SKIP)
    return d


def nats_script(source, work):
    """scripts/nats-test.sh for a test whose scratch directory is work:
    returns (nats(*args, check=True) -> its stdout, the environment it runs
    in). Exits 77 when nats-server is not installed."""
    script = os.path.join(source, "scripts", "nats-test.sh")
    env = dict(os.environ, YAGURA_NATS_DIR=os.path.join(work, "nats"))

    def nats(*args, check=True):
        p = subprocess.run([script] + list(args), env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=120)
        if p.returncode == SKIP:
            print("skipped: %s" % p.stderr.strip())
            sys.exit(SKIP)
        if check and p.returncode != 0:
            raise SystemExit("nats-test.sh %s: exit %d: %s" % (" ".join(args), p.returncode,
                                                                 p.stderr.strip()))
        return p.stdout.strip()

    return nats, env
