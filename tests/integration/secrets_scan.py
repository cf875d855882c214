#!/usr/bin/env python3
"""Issue 18: no token, session cookie or password in any log line, error
body or metric. Every integration test that runs a tower through towerlib
writes down, in YAGURA_SECRETS_DIR, the secrets it was issued or set
(secrets-*.txt) and what the towers said (log-*.txt: each tower's log;
bodies-*.txt: every error body and /metrics answer); this runs after them
all (ctest's fixture cleanup) and looks for every secret in every one.

Usage: secrets_scan.py DIR. Exit 0 when none is found, 1 otherwise (each
finding printed: the file, the line, the secret's first characters)."""
import glob
import os
import sys


def main():
    d = sys.argv[1]
    secrets = set()
    for path in glob.glob(os.path.join(d, "secrets-*.txt")):
        with open(path, errors="replace") as f:
            secrets.update(line.strip() for line in f if len(line.strip()) >= 8)
    outputs = sorted(glob.glob(os.path.join(d, "log-*.txt")) +
                     glob.glob(os.path.join(d, "bodies-*.txt")))
    found = 0
    size = 0
    for path in outputs:
        with open(path, errors="replace") as f:
            for n, line in enumerate(f, 1):
                size += len(line)
                for s in secrets:
                    if s in line:
                        found += 1
                        print("FAIL: %s:%d holds a secret (%s...): %s"
                              % (os.path.basename(path), n, s[:8], line.strip()[:200]))
    print("secrets_scan: %d secrets looked for in %d outputs (%d bytes): %d found"
          % (len(secrets), len(outputs), size, found))
    return 1 if found else 0


sys.exit(main())
